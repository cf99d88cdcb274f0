// What a vision worker does with a frame, free of any messaging so it can run in-process too:
// detect (on a downscaled copy for big frames), score quality, embed from the full-resolution
// frame, and keep a few frames for a later `embed` chosen by the tracker.
import type { VisionEngine } from '../engine.ts';
import { imageToTensor } from '../image.ts';
import { faceQuality, laplacianVariance, sharpnessFromLaplacianVariance } from '../quality.ts';
import type { Tensor3D } from '../tf.ts';
import type { DetectedFace, RgbImage } from '../types.ts';
import { detectionInput, mapFaceBack } from './downscale.ts';
import { EMBEDDING_SIZE, type PoolFace, type WorkerTimings } from './messages.ts';

export type DetectorName = 'mtcnn' | 'ssd';

export interface AnalyseInput {
  frameId: number;
  image: RgbImage;
  detector: DetectorName;
  detectMaxSide: number;
  embed: 'all' | 'none';
  keep: boolean;
}

export interface AnalyseOutput {
  faces: PoolFace[];
  detectSize: [width: number, height: number];
  /** Indices into faces of the embedding rows. */
  embedded: number[];
  /** embedded.length × 128, row-major. */
  embeddings: Float32Array;
  kept: boolean;
  timings: WorkerTimings;
}

export interface EmbedOutput {
  embedded: number[];
  embeddings: Float32Array;
  timings: WorkerTimings;
}

export interface EmbedPartOutput {
  embedded: number[];
  embeddings: Float32Array;
}

/** A request this analyser refuses (the worker answers it as bad-request or evicted, and lives on). */
export class AnalyseError extends Error {
  constructor(
    readonly code: 'bad-request' | 'evicted',
    message: string,
  ) {
    super(message);
    this.name = 'AnalyseError';
  }
}

interface KeptFrame {
  tensor: Tensor3D;
  faces: DetectedFace[];
}

const now = () => performance.now();

/** Frames kept beyond keepFrames before this side evicts on its own (the pool's releases may be in flight). */
const KEEP_SLACK = 2;

export class FrameAnalyser {
  /** Kept frames, oldest first (Map keeps insertion order). */
  private readonly kept = new Map<number, KeptFrame>();

  constructor(
    private readonly engine: VisionEngine,
    private readonly keepFrames: number,
  ) {}

  get keptFrames(): number {
    return this.kept.size;
  }

  /** `midJob` runs between detection and embedding (the test hook that kills a worker mid-frame). */
  async analyse(req: AnalyseInput, midJob?: () => Promise<void> | void): Promise<AnalyseOutput> {
    const t0 = now();
    const detector = await this.engine.detector(req.detector);
    const full = imageToTensor(req.image);
    let keepTensor = false;
    try {
      const t1 = now();
      const { input, scaleX, scaleY } = detectionInput(full, req.detectMaxSide);
      const detectSize: [number, number] = [input.shape[1], input.shape[0]];
      let found: DetectedFace[];
      try {
        found = await detector.detect(input);
      } finally {
        if (input !== full) input.dispose();
      }
      const detected = found.map((f) => mapFaceBack(f, scaleX, scaleY));
      const faces = detected.map((f) => toPoolFace(f, req.image));
      const t2 = now();
      await midJob?.();
      const embedded = req.embed === 'all' ? detected.map((_, i) => i) : [];
      const embeddings = await this.embedRows(full, detected, embedded);
      const t3 = now();
      if (req.keep && this.keepFrames > 0) {
        this.remember(req.frameId, { tensor: full, faces: detected });
        keepTensor = true;
      }
      return {
        faces,
        detectSize,
        embedded,
        embeddings,
        kept: keepTensor,
        timings: { tensorMs: t1 - t0, detectMs: t2 - t1, embedMs: t3 - t2, totalMs: t3 - t0 },
      };
    } finally {
      if (!keepTensor) full.dispose();
    }
  }

  /** Embeds the chosen faces of a kept frame, batched; `release` drops the frame afterwards. */
  async embed(frameId: number, indices: number[], release: boolean): Promise<EmbedOutput> {
    const t0 = now();
    const frame = this.kept.get(frameId);
    if (!frame) throw new AnalyseError('evicted', `frame ${frameId} is not kept here (never kept, or released)`);
    try {
      const bad = indices.filter((i) => i >= frame.faces.length);
      if (bad.length) throw new AnalyseError('bad-request', `frame ${frameId} has ${frame.faces.length} faces; no face ${bad.join(', ')}`);
      const embeddings = await this.embedRows(frame.tensor, frame.faces, indices);
      const t1 = now();
      return { embedded: indices, embeddings, timings: { tensorMs: 0, detectMs: 0, embedMs: t1 - t0, totalMs: t1 - t0 } };
    } finally {
      if (release) this.release(frameId);
    }
  }

  /**
   * Several embed requests in one go: the chosen faces of every kept frame named (frames of
   * different streams) are embedded together in shared forward passes. A part whose frame is gone
   * or whose indices are wrong fails alone; frames marked `release` are dropped afterwards.
   */
  async embedBatch(parts: { frameId: number; indices: number[]; release: boolean }[]): Promise<{ results: (EmbedPartOutput | AnalyseError)[]; timings: WorkerTimings }> {
    const t0 = now();
    try {
      const results: (EmbedPartOutput | AnalyseError)[] = parts.map(({ frameId, indices }) => {
        const frame = this.kept.get(frameId);
        if (!frame) return new AnalyseError('evicted', `frame ${frameId} is not kept here (never kept, or released)`);
        const bad = indices.filter((i) => i >= frame.faces.length);
        if (bad.length) return new AnalyseError('bad-request', `frame ${frameId} has ${frame.faces.length} faces; no face ${bad.join(', ')}`);
        return { embedded: indices, embeddings: new Float32Array(indices.length * EMBEDDING_SIZE) };
      });
      const live = parts.flatMap((p, k) => (results[k] instanceof AnalyseError ? [] : [{ k, frame: this.kept.get(p.frameId)!, indices: p.indices }]));
      const rows = await this.engine.embedFacesAcross(live.map(({ frame, indices }) => ({ image: frame.tensor, faces: indices.map((i) => frame.faces[i]!) })));
      live.forEach(({ k }, g) => rows[g]!.forEach((row, r) => (results[k] as EmbedPartOutput).embeddings.set(row, r * EMBEDDING_SIZE)));
      const t1 = now();
      return { results, timings: { tensorMs: 0, detectMs: 0, embedMs: t1 - t0, totalMs: t1 - t0 } };
    } finally {
      for (const p of parts) if (p.release) this.release(p.frameId);
    }
  }

  release(frameId: number): void {
    const frame = this.kept.get(frameId);
    if (!frame) return;
    frame.tensor.dispose();
    this.kept.delete(frameId);
  }

  dispose(): void {
    for (const id of [...this.kept.keys()]) this.release(id);
  }

  private remember(frameId: number, frame: KeptFrame): void {
    this.kept.set(frameId, frame);
    // The pool decides which frames go (it sends `release`), so it always knows what is kept here.
    // This cap only bounds memory should a pool forget: oldest first out.
    while (this.kept.size > this.keepFrames + KEEP_SLACK) this.release(this.kept.keys().next().value as number);
  }

  /** One batched align + embed over the chosen faces, packed as rows of one transferable buffer. */
  private async embedRows(image: Tensor3D, faces: DetectedFace[], indices: number[]): Promise<Float32Array> {
    const out = new Float32Array(indices.length * EMBEDDING_SIZE);
    if (indices.length === 0) return out;
    const rows = await this.engine.embedFaces(image, indices.map((i) => faces[i]!));
    rows.forEach((row, k) => out.set(row, k * EMBEDDING_SIZE));
    return out;
  }
}

function toPoolFace(face: DetectedFace, image: RgbImage): PoolFace {
  // Sharpness from the full-resolution pixels: the downscaled copy would hide motion blur.
  const sharpness = sharpnessFromLaplacianVariance(laplacianVariance(image, face.box));
  return { box: face.box, score: face.score, landmarks: face.landmarks, quality: faceQuality(face, sharpness) };
}
