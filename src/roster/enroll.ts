// Enrolment: photo → one face → its embedding plus the embeddings of augmented views (flips, crops,
// affine, colour, broadcast degradations), stored for the player in one transaction. A photo with
// several faces gives its clearly largest one (faceChoice.ts); one with no face, or with no clear
// choice (faces of comparable size, the largest cut by the edge), is reported and never used.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { VisionEngine } from '../vision/engine.ts';
import { decodeImage, imageToTensor, ImageInputError } from '../vision/image.ts';
import { faceQuality, laplacianVariance, sharpnessFromLaplacianVariance } from '../vision/quality.ts';
import { tf, type Tensor4D } from '../vision/tf.ts';
import type { DetectedFace, Point, RgbImage } from '../vision/types.ts';
import { augment, mapPoint, type Affine2x3 } from './augment.ts';
import type { Roster } from './roster.ts';
import type { FaceInput } from './schema.ts';
import { chooseEnrolFace, describeFace, type FaceChoice, type FaceSummary } from './faceChoice.ts';
import { embeddingSetupKey, type EmbeddingSetup } from '../vision/setup.ts';

export interface EnrolOptions {
  /** Store augmented views too (default true). */
  augment: boolean;
  /** Augmented views per photo. */
  views: number;
  /** Who is enrolling, for the audit log. */
  actor: string;
}

export type EnrolStatus = 'enrolled' | 'unchanged' | 'no-face' | 'several-faces' | 'unreadable';

export interface EnrolReport {
  file: string;
  status: EnrolStatus;
  /** Rows written (original + views); 0 unless enrolled. */
  added: number;
  /** One line for a person: what happened and, for a failure, what to do. */
  message: string;
  /** The face enrolled (box in the photo's pixels); set when a face was taken. */
  face?: FaceSummary;
  /** Other faces in the photo that were not used, largest first. */
  ignored?: FaceSummary[];
  /** Every face found, largest first, when the photo was refused for showing several. */
  faces?: FaceSummary[];
}

/** Embeddings of one photo's face: the original crop first, then each augmented view. */
export interface PhotoEmbeddings {
  sha256: string;
  face: DetectedFace;
  /** The decoded image the face coordinates refer to (padded for tight crops). */
  image: RgbImage;
  views: { augmentation: string; embedding: Float32Array; quality: number }[];
}

/** A photo to enrol: its bytes and a name for reports (file path or upload name). */
export interface PhotoInput {
  name: string;
  bytes: Uint8Array;
  /** Set when the file could not be read; embedPhoto reports it. */
  readError?: string;
}

/** Reads photo files; a file that cannot be read is kept with its error and reported, not thrown. */
export async function readPhotos(files: string[]): Promise<PhotoInput[]> {
  return Promise.all(
    files.map(async (name): Promise<PhotoInput> => {
      try {
        return { name, bytes: await readFile(name) };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return { name, bytes: new Uint8Array(), readError: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})` };
      }
    }),
  );
}

export type PhotoOutcome =
  | { ok: true; photo: PhotoEmbeddings; taken: FaceSummary; ignored: FaceSummary[] }
  | { ok: false; status: Exclude<EnrolStatus, 'enrolled' | 'unchanged'>; message: string; faces?: FaceSummary[] };

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The refusal of a photo whose faces left no clear choice, saying what to do. */
function refusal(file: string, choice: Extract<FaceChoice, { kind: 'comparable' | 'edge' }>): PhotoOutcome {
  const sizes = choice.faces.map(describeFace).join(', ');
  const message =
    choice.kind === 'comparable'
      ? `${choice.faces.length} faces of comparable size found (${sizes}); crop the photo to the one player, or choose a photo where the player is clearly the main face`
      : `${choice.faces.length} faces found (${sizes}) and the largest is cut by the photo's edge; choose a photo where the player's whole face is in frame, or crop the photo to the one player`;
  return { ok: false, status: 'several-faces', message: `${file}: ${message}`, faces: choice.faces };
}

/** "; took the largest face (…), ignored 1 smaller face (…)" for a photo with others in it. */
function choiceNote(taken: FaceSummary, ignored: FaceSummary[]): string {
  if (ignored.length === 0) return '';
  return `; took the largest face (${describeFace(taken)}), ignored ${plural(ignored.length, 'smaller face', 'smaller faces')} (${ignored.map(describeFace).join(', ')})`;
}

/** Moves a face through an augmentation (augment.ts puts pixel centres at +0.5, the detectors at 0). */
function transformFace(face: DetectedFace, t: Affine2x3): DetectedFace {
  const map = ([x, y]: Point): Point => {
    const [u, v] = mapPoint(t, [x + 0.5, y + 0.5]);
    return [u - 0.5, v - 0.5];
  };
  const corners = [
    map([face.box[0], face.box[1]]),
    map([face.box[0] + face.box[2], face.box[1]]),
    map([face.box[0], face.box[1] + face.box[3]]),
    map([face.box[0] + face.box[2], face.box[1] + face.box[3]]),
  ];
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  const landmarks = face.landmarks.map(map) as DetectedFace['landmarks'];
  // landmarks68 are not carried over (a flip would also renumber them): the engine finds them on the view.
  // A flip swaps left and right: keep the contract "left eye = smaller x".
  if (landmarks[0][0] > landmarks[1][0]) [landmarks[0], landmarks[1], landmarks[3], landmarks[4]] = [landmarks[1], landmarks[0], landmarks[4], landmarks[3]];
  return { box: [x, y, Math.max(...xs) - x, Math.max(...ys) - y], score: face.score, landmarks };
}

/** A stable seed per photo, so re-enrolling the same photo gives the same views (and is a no-op). */
function seedOf(sha256: string): number {
  return Number.parseInt(sha256.slice(0, 8), 16);
}

/** Aligns one face per image and embeds them all in batches. */
async function embedViews(engine: VisionEngine, items: { image: RgbImage; face: DetectedFace }[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < items.length; i += engine.config.embedBatchSize) {
    const chips: Tensor4D[] = [];
    try {
      for (const { image, face } of items.slice(i, i + engine.config.embedBatchSize)) {
        const t = imageToTensor(image);
        try {
          chips.push(await engine.align(t, [face]));
        } finally {
          t.dispose();
        }
      }
      const batch = tf.concat(chips) as Tensor4D;
      try {
        out.push(...(await engine.embedAligned(batch)));
      } finally {
        batch.dispose();
      }
    } finally {
      tf.dispose(chips);
    }
  }
  return out;
}

/** Decodes, detects, chooses the face to enrol (faceChoice.ts), and embeds it with its augmented views. */
export async function embedPhoto(engine: VisionEngine, photo: PhotoInput, opts: Pick<EnrolOptions, 'augment' | 'views'>): Promise<PhotoOutcome> {
  const { name: file, bytes } = photo;
  if (photo.readError) return { ok: false, status: 'unreadable', message: `${file}: ${photo.readError}` };
  let decoded: RgbImage;
  try {
    decoded = await decodeImage(bytes, { source: file, maxPixels: engine.config.maxImagePixels });
  } catch (err) {
    const message = err instanceof ImageInputError ? err.message : `${file}: cannot read (${(err as Error).message})`;
    return { ok: false, status: 'unreadable', message };
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const detector = await engine.detector();
  const { tensor, faces, image, offset } = await engine.detectWithRetry(decoded, detector, true);
  tensor.dispose();
  const choice = chooseEnrolFace(faces, { left: offset, top: offset, width: decoded.width, height: decoded.height });
  if (choice.kind === 'none') {
    return { ok: false, status: 'no-face', message: `${file}: no face found; use a photo where the face is at least 40 px wide and looks at the camera` };
  }
  if (choice.kind !== 'taken') return refusal(file, choice);
  const face = faces[choice.index]!;
  const quality = (img: RgbImage, f: DetectedFace) => faceQuality(f, sharpnessFromLaplacianVariance(laplacianVariance(img, f.box)));
  const items = [{ augmentation: '', image, face }];
  if (opts.augment) {
    for (const v of await augment(image, { seed: seedOf(sha256), views: opts.views, faceBox: face.box })) {
      items.push({ augmentation: v.name, image: v.image, face: transformFace(face, v.transform) });
    }
  }
  const embeddings = await embedViews(engine, items);
  return {
    ok: true,
    taken: choice.taken,
    ignored: choice.ignored,
    photo: {
      sha256,
      face,
      image,
      views: items.map((it, i) => ({ augmentation: it.augmentation, embedding: embeddings[i]!, quality: quality(it.image, it.face) })),
    },
  };
}

/** The roster rows of one embedded photo: the original crop and each view. */
export function faceRows(photo: PhotoEmbeddings, file: string, embeddedWith: string): FaceInput[] {
  return photo.views.map((v) => ({
    sourceSha256: photo.sha256,
    embedding: v.embedding,
    quality: v.quality,
    augmentation: v.augmentation,
    sourceFile: file,
    embeddedWith,
  }));
}

/** A small JPEG of the face (with some margin) for the roster and dashboard. */
export async function faceThumbnail(image: RgbImage, face: DetectedFace, side = 160): Promise<Buffer> {
  const [x, y, w, h] = face.box;
  const s = Math.max(w, h) * 1.6;
  const left = Math.max(0, Math.round(x + w / 2 - s / 2));
  const top = Math.max(0, Math.round(y + h / 2 - s / 2));
  const width = Math.min(image.width - left, Math.round(s));
  const height = Math.min(image.height - top, Math.round(s));
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width, height })
    .resize(side, side, { fit: 'cover' })
    .jpeg({ quality: 85 })
    .toBuffer();
}

/**
 * The vision side of enrolPhotos: the setup it embeds with and embedPhoto's outcome for one photo.
 * A VisionEngine does it in-process; the server hands in one that runs embedPhoto in a vision worker.
 */
export interface PhotoEmbedder {
  readonly setup: EmbeddingSetup;
  embedPhoto(photo: PhotoInput, opts: Pick<EnrolOptions, 'augment' | 'views'>): Promise<PhotoOutcome>;
}

/**
 * Enrols photos for one player; each photo is reported. Faces of one photo are written in one
 * transaction; the player's thumbnail is set from the first good photo when it has none.
 */
export async function enrolPhotos(
  vision: VisionEngine | PhotoEmbedder,
  roster: Roster,
  playerId: string,
  photos: PhotoInput[],
  opts: EnrolOptions,
  onProgress?: (report: EnrolReport) => void,
): Promise<EnrolReport[]> {
  const player = roster.getPlayer(playerId);
  if (!player) throw new Error(`no player '${playerId}'; add it first with \`facecast roster add\` or \`facecast roster import\``);
  const reports: EnrolReport[] = [];
  let hasPhoto = player.hasPhoto;
  const embedder: PhotoEmbedder = 'embedPhoto' in vision ? vision : { setup: vision.setup, embedPhoto: (p, o) => embedPhoto(vision, p, o) };
  const embeddedWith = embeddingSetupKey(embedder.setup);
  for (const photoInput of photos) {
    const file = photoInput.name;
    const outcome = await embedder.embedPhoto(photoInput, opts);
    let report: EnrolReport;
    if (!outcome.ok) {
      report = { file, status: outcome.status, added: 0, message: outcome.message, ...(outcome.faces ? { faces: outcome.faces } : {}) };
    } else {
      const { photo, taken, ignored } = outcome;
      const note = choiceNote(taken, ignored);
      const rows = faceRows(photo, file, embeddedWith);
      // The photo is kept with its faces (also when they were already there), so a later change of
      // detector or alignment can re-embed it without the original file (src/roster/reembed.ts).
      const res = roster.addFaces(playerId, rows, opts.actor, { bytes: photoInput.bytes, name: file });
      if (!hasPhoto) {
        roster.updatePlayer(playerId, { photo: await faceThumbnail(photo.image, photo.face) }, opts.actor);
        hasPhoto = true;
      }
      const what = res.reembedded > 0 ? `re-embedded with ${embeddedWith}` : 'enrolled';
      const chosen = { face: taken, ignored };
      report =
        res.added > 0
          ? { file, status: 'enrolled', added: res.added, message: `${file}: ${what} (${res.added} embeddings: 1 photo + ${res.added - 1} augmented views)${note}`, ...chosen }
          : { file, status: 'unchanged', added: 0, message: `${file}: already enrolled, nothing to add${note}`, ...chosen };
    }
    reports.push(report);
    onProgress?.(report);
  }
  return reports;
}
