// One image in, faces with landmarks and embeddings out. Loads the backend and models once and
// is reused for every image (the CLI, the enrolment path and, later, each vision worker).
import type { Logger } from '../shared/log.ts';
import { silentLogger } from '../shared/log.ts';
import type { VisionConfig } from '../config/schema.ts';
import type { FaceResult } from '../shared/protocol.ts';
import { selectBackend, type BackendInfo } from './backend.ts';
import { createDetector, type DetectorName } from './detectors/index.ts';
import { createAligner } from './align.ts';
import { createFaceRecognitionEmbedder } from './embedders/faceRecognitionNet.ts';
import { fitImage, imageToTensor, padImage } from './image.ts';
import { detectLandmarks68, disposeLandmark68Net, loadLandmark68Net, type Landmark68Params } from './landmarks68.ts';
import { tf, type Tensor3D, type Tensor4D } from './tf.ts';
import type { Aligner, DetectedFace, Detector, Embedder, RgbImage } from './types.ts';
import type { EmbeddingSetup } from './setup.ts';

export interface AnalyseOptions {
  detector?: DetectorName;
  /** Compute 128-D embeddings (default true). */
  embeddings?: boolean;
  /** Retry on a padded copy when nothing is found (default: config.padRetryFraction > 0). */
  padRetry?: boolean;
}

export class VisionEngine {
  private readonly detectors = new Map<DetectorName, Promise<Detector>>();
  private landmarkNet: Promise<Landmark68Params> | null = null;

  private constructor(
    readonly config: VisionConfig,
    readonly backend: BackendInfo,
    readonly embedder: Embedder,
    readonly aligner: Aligner,
    private readonly log: Logger,
  ) {}

  static async create(config: VisionConfig, log: Logger = silentLogger): Promise<VisionEngine> {
    const backend = await selectBackend(config.backend);
    if (backend.warning) log.warn(backend.warning);
    log.info({ backend: backend.name, device: backend.device, fallbacks: backend.fallbacks }, `TensorFlow.js backend: ${backend.name} on ${backend.device}`);
    const embedder = await createFaceRecognitionEmbedder();
    return new VisionEngine(config, backend, embedder, createAligner(config.alignment), log);
  }

  /** What the embeddings of analyse() and embedFaces() are made with (the roster records it). */
  get setup(): EmbeddingSetup {
    return { embedder: this.embedder.name, detector: this.config.detector, alignment: this.config.alignment };
  }

  /** The named detector, loaded on first use and kept. */
  detector(name: DetectorName = this.config.detector): Promise<Detector> {
    let d = this.detectors.get(name);
    if (!d) {
      d = createDetector(name, this.config, () => this.landmarks68Net());
      this.detectors.set(name, d);
      this.log.debug({ detector: name }, 'detector loaded');
    }
    return d;
  }

  /**
   * Detects faces, retrying on a padded copy for tight crops, and returns them with the tensor their
   * coordinates refer to and its image. Neither that image nor the padded copy has more than
   * config.maxTensorPixels: a bigger one is shrunk first, in sharp, so no tensor ever holds it. For
   * coordinates in the input image: (p - offset) / scale. The caller disposes the tensor; on a throw
   * nothing is left to dispose.
   */
  async detectWithRetry(
    image: RgbImage,
    detector: Detector,
    padRetry: boolean,
  ): Promise<{ tensor: Tensor3D; faces: DetectedFace[]; offset: number; scale: number; image: RgbImage }> {
    const limit = this.config.maxTensorPixels;
    const fitted = await fitImage(image, limit);
    const first = await detectOn(fitted.image, detector);
    if (first.faces.length > 0 || !padRetry || this.config.padRetryFraction <= 0) return { ...first, offset: 0, scale: fitted.scale, image: fitted.image };
    first.tensor.dispose();
    const padded = await padImage(fitted.image, this.config.padRetryFraction, limit);
    const second = await detectOn(padded.image, detector);
    return { ...second, offset: padded.offset, scale: fitted.scale * padded.scale, image: padded.image };
  }

  /**
   * The faces with landmarks68 filled in where the aligner fits them: one batched pass of the
   * 68-point net over the faces that lack them, on this image (so an augmented or rescaled copy
   * gets its own points). Other aligners get the faces back as they are.
   */
  async withLandmarks68(image: Tensor3D, faces: DetectedFace[], aligner: Aligner = this.aligner): Promise<DetectedFace[]> {
    if (!aligner.usesLandmarks68) return faces;
    const missing = faces.flatMap((f, i) => (f.landmarks68 ? [] : [i]));
    if (missing.length === 0) return faces;
    const points = await detectLandmarks68(await this.landmarks68Net(), image, missing.map((i) => faces[i]!.box));
    const out = faces.slice();
    missing.forEach((i, k) => (out[i] = { ...faces[i]!, landmarks68: points[k]! }));
    return out;
  }

  /** The 68-point net, loaded on first use; one copy for the landmarks68 aligner and the SSD detector. */
  private landmarks68Net(): Promise<Landmark68Params> {
    this.landmarkNet ??= loadLandmark68Net();
    return this.landmarkNet;
  }

  /** The embedder's input for faces of one image: float32 [n, size, size, 3]. The caller disposes it. */
  async align(image: Tensor3D, faces: DetectedFace[], aligner: Aligner = this.aligner): Promise<Tensor4D> {
    return aligner.align(image, await this.withLandmarks68(image, faces, aligner), this.embedder.inputSize);
  }

  /** Aligns and embeds faces of one image tensor, in batches of config.embedBatchSize. */
  async embedFaces(image: Tensor3D, faces: DetectedFace[], aligner: Aligner = this.aligner): Promise<Float32Array[]> {
    return (await this.embedFacesAcross([{ image, faces }], aligner))[0]!;
  }

  /**
   * Aligns and embeds the faces of several images (frames of different streams) together: the
   * chips of all images go through the net in shared batches of config.embedBatchSize, which on a
   * GPU costs about one forward pass instead of one per image. Rows come back per image.
   */
  async embedFacesAcross(groups: { image: Tensor3D; faces: DetectedFace[] }[], aligner: Aligner = this.aligner): Promise<Float32Array[][]> {
    const nonEmpty = groups.filter((g) => g.faces.length > 0);
    if (nonEmpty.length === 0) return groups.map(() => []);
    const chips: Tensor4D[] = [];
    const rows: Float32Array[] = [];
    try {
      for (const g of nonEmpty) chips.push(await this.align(g.image, g.faces, aligner));
      const all = chips.length === 1 ? chips[0]! : (tf.concat(chips) as Tensor4D);
      try {
        const n = all.shape[0];
        const size = this.config.embedBatchSize;
        for (let i = 0; i < n; i += size) {
          // One batch (the usual case on the hot path) needs no copy.
          const chunk = n <= size ? all : (tf.slice(all, [i, 0, 0, 0], [Math.min(size, n - i), -1, -1, -1]) as Tensor4D);
          try {
            rows.push(...(await this.embedAligned(chunk)));
          } finally {
            if (chunk !== all) chunk.dispose();
          }
        }
      } finally {
        if (all !== chips[0]) all.dispose();
      }
    } finally {
      tf.dispose(chips);
    }
    let next = 0;
    return groups.map((g) => rows.slice(next, (next += g.faces.length)));
  }

  /**
   * Embeds aligned faces ([n, size, size, 3]) in one forward pass (the caller disposes `aligned`).
   * With vision.flipAverage the mirrored faces go through in the same batch and each embedding is
   * the normalised mean of a face and its mirror image, which evens out pose and lighting
   * asymmetries.
   */
  async embedAligned(aligned: Tensor4D): Promise<Float32Array[]> {
    if (!this.config.flipAverage) return this.embedder.embed(aligned);
    const n = aligned.shape[0];
    const both = tf.tidy(() => tf.concat([aligned, tf.reverse(aligned, 2)]) as Tensor4D);
    try {
      const rows = await this.embedder.embed(both);
      return rows.slice(0, n).map((e, i) => {
        const m = rows[n + i]!;
        const avg = new Float32Array(e.length);
        let norm = 0;
        for (let k = 0; k < e.length; k++) {
          avg[k] = e[k]! + m[k]!;
          norm += avg[k]! * avg[k]!;
        }
        norm = Math.sqrt(norm) || 1;
        for (let k = 0; k < avg.length; k++) avg[k] = avg[k]! / norm;
        return avg;
      });
    } finally {
      both.dispose();
    }
  }

  /** Detects (and by default embeds) every face of one decoded image. */
  async analyse(image: RgbImage, opts: AnalyseOptions = {}): Promise<FaceResult[]> {
    const detector = await this.detector(opts.detector);
    const { tensor, faces, offset, scale } = await this.detectWithRetry(image, detector, opts.padRetry ?? true);
    try {
      const embeddings = opts.embeddings === false || faces.length === 0 ? [] : await this.embedFaces(tensor, faces);
      // Back to the input image's pixels: the detector saw a shrunk and/or padded copy.
      const back = (v: number) => (v - offset) / scale;
      return faces.map((f, i) => {
        const shift = ([x, y]: [number, number]): [number, number] => [back(x), back(y)];
        const result: FaceResult = {
          box: [back(f.box[0]), back(f.box[1]), f.box[2] / scale, f.box[3] / scale],
          score: f.score,
          landmarks: f.landmarks.map(shift) as FaceResult['landmarks'],
        };
        if (embeddings[i]) result.embedding = Array.from(embeddings[i]!);
        return result;
      });
    } finally {
      tensor.dispose();
    }
  }

  memory(): { numTensors: number; numBytes: number } {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  }

  async dispose(): Promise<void> {
    for (const d of this.detectors.values()) (await d).dispose();
    this.detectors.clear();
    const landmarkNet = await this.landmarkNet?.catch(() => null); // a failed load has nothing to free
    if (landmarkNet) disposeLandmark68Net(landmarkNet);
    this.landmarkNet = null;
    this.embedder.dispose();
  }
}

/** One detection pass on a fresh tensor; the tensor is disposed when the detector throws. */
async function detectOn(image: RgbImage, detector: Detector): Promise<{ tensor: Tensor3D; faces: DetectedFace[] }> {
  const tensor = imageToTensor(image);
  try {
    return { tensor, faces: await detector.detect(tensor) };
  } catch (err) {
    tensor.dispose();
    throw err;
  }
}
