// Face alignment: cuts every face of one image to the embedder's square input in one batched warp.
//
// Three aligners, selectable by name:
//  - "landmarks68" (default): rotation + uniform scale + translation fitted (least squares) from the
//    41 inner points (nose, eyes, mouth) of the 68-point landmark net to dlib's mean face, i.e. the
//    chip dlib's recognition net was trained on, fitted the way dlib fits it (many points, not 5).
//  - "similarity": the same warp fitted from the detector's 5 landmarks to FACE_CHIP_TEMPLATE.
//  - "box": the unrotated square crop @vladmandic/face-api feeds that net (its landmarks.align()
//    rect with useDlibAlignment, padded to a square and resized), rebuilt from the 5 landmarks.
//
// Measured on LFW View 1 (threshold from pairsDevTrain, accuracy on pairsDevTest), MTCNN faces:
// landmarks68 98.95 / 98.80 % (DevTrain / DevTest), similarity 98.82 / 98.20 %; fitting all 51
// points of dlib's rule (eyebrows too) 99.00 / 98.70 %, dlib's own 5 (eye corners, nose base)
// 99.00 / 98.70 %. The eyebrows are left out because they move with expression and hide under
// hair and glasses; on the roster's group photos (bbt1's bearded leonard) the inner fit is also
// the one whose margins separate players from the stranger. Earlier, with face-api's SSD:
// similarity 97.9 %, box 97.6 % on upright faces; with every image rolled by ±10° / ±20° similarity
// keeps 97.5 % / 97.3 % while box drops to 95.2 % / 87.9 %: box exists to reproduce face-api.
//
// Coordinates: landmarks and template are in pixels with pixel centres at integers (the
// convention of dlib, OpenCV and tf.image.transform / cropAndResize). A detector that puts
// centres at +0.5 shifts the chip by half a pixel, which the embedder does not notice.
import { tf, type Tensor2D, type Tensor3D, type Tensor4D } from './tf.ts';
import type { Aligner, DetectedFace, Landmarks5, Point } from './types.ts';

export type AlignerName = 'landmarks68' | 'similarity' | 'box';
/** The same names, as the config and CLI call them. */
export type AlignmentName = AlignerName;
export const ALIGNER_NAMES: readonly AlignerName[] = ['landmarks68', 'similarity', 'box'];

// ---------------------------------------------------------------------------------------------
// The template

/**
 * dlib's mean face shape (dlib/image_transforms/interpolation.h, get_face_chip_details: "Average
 * positions of face points 17-67" of the iBUG 68-point scheme), in a unit frame where the outer
 * eyebrow ends are at x≈0 and x≈1. Entry k is point 17 + k: eyebrows 17–26, nose 27–35, eyes
 * 36–47, mouth 48–67.
 */
const DLIB_MEAN_FACE_X = [
  0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004, 0.490127, 0.490127, 0.490127,
  0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647,
  0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159,
  0.556721, 0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127, 0.42689,
];
const DLIB_MEAN_FACE_Y = [
  0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352, 0.307009,
  0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077,
  0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233,
  0.864805, 0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746, 0.784792, 0.824182, 0.831803, 0.824182,
];
/** First 68-scheme index of the table above. */
const DLIB_MEAN_FACE_FIRST = 17;

/** Point i (iBUG 68 numbering, 17…67) of dlib's mean face, unit frame. */
function dlibMeanPoint(i: number): Point {
  const k = i - DLIB_MEAN_FACE_FIRST;
  if (!(k >= 0 && k < DLIB_MEAN_FACE_X.length)) throw new RangeError(`dlib's mean face has points 17–67, not ${i}`);
  return [DLIB_MEAN_FACE_X[k]!, DLIB_MEAN_FACE_Y[k]!];
}

function meanOf(points: readonly Point[]): Point {
  return [points.reduce((s, p) => s + p[0], 0) / points.length, points.reduce((s, p) => s + p[1], 0) / points.length];
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, k) => from + k);

/**
 * Our 5 landmarks on dlib's mean face: eye centres as the mean of each eye's 6 contour points
 * (36–41 and 42–47), nose tip 30, mouth corners 48 and 54. "Left" is the left of the image (the
 * subject's right eye).
 */
export const DLIB_MEAN_FACE_5: Readonly<Landmarks5> = [
  meanOf(range(36, 41).map(dlibMeanPoint)),
  meanOf(range(42, 47).map(dlibMeanPoint)),
  dlibMeanPoint(30),
  dlibMeanPoint(48),
  dlibMeanPoint(54),
];

/** The 68-scheme points the landmarks68 aligner fits: nose 27–35, eyes 36–47, mouth 48–67 (no eyebrows, no jaw). */
export const INNER_POINTS_68: readonly number[] = range(27, 67);

/** The padding dlib's face recognition model was trained with: get_face_chip_details(shape, 150, 0.25). */
export const DLIB_CHIP_PADDING = 0.25;

/**
 * Where the 5 points of the mean face fall in a size×size chip cut the way dlib cuts it.
 * get_face_chip_details maps a mean-face point m to chip coordinate T = (padding + m)/(1 + 2·padding)·size.
 * extract_image_chip then lays pixels 0 … size−1 over centered_drect(centre, size·s, size·s), whose
 * corners are (size·s − 1)/2 from the centre (s: image pixels per chip unit), so T lands on pixel
 * (size−1)/2 + (T − size/2)·s·(size−1)/(size·s − 1). At s = 1 that is exactly T − 0.5; for the
 * scales dlib extracts at (it downsamples through a pyramid first) the factor stays within 0.7 %
 * of 1, a fifth of a pixel at the chip's edge, so we take T − 0.5.
 */
export function faceChipTemplate(size: number, padding = DLIB_CHIP_PADDING): Landmarks5 {
  return DLIB_MEAN_FACE_5.map((p) => toChipPixel(p, size, padding)) as Landmarks5;
}

function toChipPixel([x, y]: Point, size: number, padding: number): Point {
  const toPixel = (m: number): number => ((padding + m) / (1 + 2 * padding)) * size - 0.5;
  return [toPixel(x), toPixel(y)];
}

/** INNER_POINTS_68 of dlib's mean face in a size×size chip (same mapping as faceChipTemplate). */
export function innerChipTemplate(size: number, padding = DLIB_CHIP_PADDING): Point[] {
  return INNER_POINTS_68.map((i) => toChipPixel(dlibMeanPoint(i), size, padding));
}

/**
 * The 5-point template in the 150×150 input of the dlib/face-api recognition net (pixels), from
 * faceChipTemplate(150): [47.05, 46.10], [99.98, 46.10], [73.51, 76.06], [49.91, 102.52], [97.11, 102.52].
 *
 * Cross-check: face-api's own SSD + 68-point landmarks on the 4,978 LFW View 1 faces it finds,
 * each fitted to this chip with dlib's 33-point rule, put our 5 points on average at
 * [46.94, 45.20], [99.62, 45.50], [73.58, 77.45], [51.12, 103.48], [96.25, 104.06]: within 1.6 px
 * of the template (face-api's landmarker puts the eyes a little higher, the nose tip and mouth
 * corners a little lower and the corners a little inwards compared with dlib's annotation).
 * Aligning to those averages instead changed nothing on LFW (same DevTest accuracy).
 */
export const FACE_CHIP_TEMPLATE: Readonly<Landmarks5> = Object.freeze(faceChipTemplate(150));

// ---------------------------------------------------------------------------------------------
// Similarity transforms

/** x' = a·x − b·y + tx, y' = b·x + a·y + ty: rotation by atan2(b, a), scale hypot(a, b). */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

export function invertSimilarity({ a, b, tx, ty }: Similarity): Similarity {
  const d = a * a + b * b;
  const ia = a / d;
  const ib = -b / d;
  return { a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty) };
}

/**
 * The least-squares similarity taking src onto dst (Umeyama 1991, 2-D case, no reflection).
 * With centred points written as complex numbers, the optimum is z = Σ conj(s)·d / Σ|s|², which is
 * Umeyama's closed form for 2-D.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  if (src.length !== dst.length || src.length < 2) throw new Error('estimateSimilarity needs ≥ 2 point pairs');
  const [sx, sy] = meanOf(src);
  const [dx, dy] = meanOf(dst);
  let re = 0;
  let im = 0;
  let norm = 0;
  src.forEach(([x0, y0], i) => {
    const [x, y, u, v] = [x0 - sx, y0 - sy, dst[i][0] - dx, dst[i][1] - dy];
    re += x * u + y * v;
    im += x * v - y * u;
    norm += x * x + y * y;
  });
  if (!(norm > 0)) throw new Error('estimateSimilarity: source points coincide');
  const a = re / norm;
  const b = im / norm;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

// ---------------------------------------------------------------------------------------------
// Batched sampling helpers

/** [y1, x1, y2, x2] normalised the way tf.image.cropAndResize reads boxes (pixel = v·(side − 1)). */
function normalisedBox(x0: number, y0: number, x1: number, y1: number, width: number, height: number): number[] {
  const w = Math.max(width - 1, 1);
  const h = Math.max(height - 1, 1);
  return [y0 / h, x0 / w, y1 / h, x1 / w];
}

function asBatch(image: Tensor3D): Tensor4D {
  if (image.rank !== 3 || image.shape[2] !== 3) throw new Error(`align expects an image [h, w, 3], got [${image.shape.join(', ')}]`);
  return tf.expandDims(image, 0) as Tensor4D;
}

// ---------------------------------------------------------------------------------------------
// The similarity aligner

/** Largest intermediate crop side, in chip pixels per side: 2·size·√2 (a chip rotated 45° at 2× scale). */
const MAX_CROP_FACTOR = 2 * Math.SQRT2;

/** Per face: the chip→image transform and the whole-pixel image square its chip is read from. */
interface FacePlan {
  chipToImage: Similarity;
  originX: number;
  originY: number;
  /** Image pixels the crop must cover from its origin, per axis (the larger). */
  span: number;
}

/**
 * Finds the image square, starting on a whole pixel, that holds the chip's footprint plus one pixel
 * for bilinear support. The chip → image similarity is fitted from the template to the landmarks
 * (dlib fits this direction too, and it is the output→input mapping tf.image.transform takes).
 */
function planFace(chipToImage: Similarity, size: number): FacePlan {
  const corners: Point[] = [[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]];
  const mapped = corners.map((c) => applySimilarity(chipToImage, c));
  const xs = mapped.map((p) => p[0]);
  const ys = mapped.map((p) => p[1]);
  const originX = Math.floor(Math.min(...xs)) - 1;
  const originY = Math.floor(Math.min(...ys)) - 1;
  const span = Math.ceil(Math.max(Math.max(...xs) + 1 - originX, Math.max(...ys) + 1 - originY));
  return { chipToImage, originX, originY, span };
}

/**
 * Two steps, both batched over all faces:
 *  1. one cropAndResize cuts each face's footprint out of the (untiled) image into a C×C crop.
 *     The crop's samples sit exactly on image pixels (step 1 px, whole-pixel origin), so this is a
 *     plain copy and the chip is resampled only once, by step 2. Only a face wider than the cap
 *     (over 2× the chip's scale) is sampled with a larger step, i.e. resampled twice.
 *  2. one tf.image.transform with per-face matrices applies rotation and scale.
 * Memory is n·C²·3 floats with C ≤ 2·√2·size, whatever the frame size; a face's pixels do not
 * depend on the other faces in the batch.
 */
function warpSimilarity(image: Tensor3D, chipToImage: Similarity[], size: number): Tensor4D {
  const plans = chipToImage.map((t) => planFace(t, size));
  const cap = Math.ceil(MAX_CROP_FACTOR * size);
  const cropSide = Math.min(cap, Math.max(...plans.map((p) => p.span))) + 1;
  const [height, width] = image.shape;
  const steps = plans.map((p) => Math.max(1, p.span / (cropSide - 1)));
  const boxes = plans.map((p, i) =>
    normalisedBox(p.originX, p.originY, p.originX + (cropSide - 1) * steps[i], p.originY + (cropSide - 1) * steps[i], width, height),
  );
  // Chip pixel (u, v) → crop pixel ((x − originX)/step, (y − originY)/step) with (x, y) its image point.
  const matrices = plans.map(({ chipToImage: { a, b, tx, ty }, originX, originY }, i) => {
    const s = steps[i];
    return [a / s, -b / s, (tx - originX) / s, b / s, a / s, (ty - originY) / s, 0, 0];
  });
  return tf.tidy(() => {
    const crops = tf.image.cropAndResize(asBatch(image), boxes, plans.map(() => 0), [cropSide, cropSide], 'bilinear', 0);
    const transforms = tf.tensor2d(matrices, [plans.length, 8]) as Tensor2D;
    return tf.image.transform(crops, transforms, 'bilinear', 'constant', 0, [size, size]);
  });
}

/** The 5-point fit: the detector's landmarks onto FACE_CHIP_TEMPLATE. */
function alignSimilarity(image: Tensor3D, faces: DetectedFace[], size: number): Tensor4D {
  const template = size === 150 ? (FACE_CHIP_TEMPLATE as Landmarks5) : faceChipTemplate(size);
  return warpSimilarity(image, faces.map((f) => estimateSimilarity(template, f.landmarks)), size);
}

/** innerChipTemplate(150), for the recognition net's input (computed once). */
const INNER_CHIP_TEMPLATE: readonly Point[] = Object.freeze(innerChipTemplate(150));

/**
 * Chip pixels (RMS over the 5 points) by which the detector's 5 landmarks may miss the template
 * under the 68-point fit before that fit is distrusted. The 68-point net draws a whole face inside
 * whatever box it is given, also when the box holds half a face or a pendant; the detector's own
 * points then land far away. Measured (150 px chip): ≤ 10.3 on the 45 real faces of the group and
 * demo photos, LFW median 6.0 / p90 10.5; 138 and 158 on the two stray finds of the demo photos
 * (half a forehead, a pendant). A fifth of the chip sits well between.
 */
export const MAX_FIT_DISAGREEMENT = 0.2;

/** RMS distance (chip pixels) between the 5 landmarks carried into the chip by `chipToImage` and the 5-point template. */
export function fitDisagreement(chipToImage: Similarity, landmarks: Landmarks5, template: Landmarks5): number {
  const toChip = invertSimilarity(chipToImage);
  const sq = landmarks.reduce((s, p, k) => {
    const [u, v] = applySimilarity(toChip, p);
    return s + (u - template[k]![0]) ** 2 + (v - template[k]![1]) ** 2;
  }, 0);
  return Math.sqrt(sq / landmarks.length);
}

/**
 * The 68-point fit: INNER_POINTS_68 of each face's landmarks68 onto dlib's mean face. 41 points
 * average out the jitter of any one of them (a smile moves the mouth corners, a beard the chin),
 * where a 5-point fit follows it. A face without landmarks68, or whose 68 points disagree with the
 * detector's 5 (MAX_FIT_DISAGREEMENT), gets the 5-point fit.
 */
function alignLandmarks68(image: Tensor3D, faces: DetectedFace[], size: number): Tensor4D {
  const inner = size === 150 ? INNER_CHIP_TEMPLATE : innerChipTemplate(size);
  const five = size === 150 ? (FACE_CHIP_TEMPLATE as Landmarks5) : faceChipTemplate(size);
  const fits = faces.map((f) => {
    const fivePoint = estimateSimilarity(five, f.landmarks);
    if (!f.landmarks68) return fivePoint;
    const fit68 = estimateSimilarity(inner, INNER_POINTS_68.map((i) => f.landmarks68![i]!));
    return fitDisagreement(fit68, f.landmarks, five) <= MAX_FIT_DISAGREEMENT * size ? fit68 : fivePoint;
  });
  return warpSimilarity(image, fits, size);
}

// ---------------------------------------------------------------------------------------------
// The box aligner

/** face-api's alignDlib constants (src/classes/FaceLandmarks.ts): box side and where the reference centre sits in it. */
const FACEAPI_REL_X = 0.5;
const FACEAPI_REL_Y = 0.43;
const FACEAPI_REL_SCALE = 0.45;

/**
 * face-api's mouth reference point is the mean of all 20 mouth points of its 68; we only have the
 * corners. The mean lies a little below the corners' midpoint (the lower lip holds more points
 * than the upper): MOUTH_CENTRE_DROP × |eye midpoint → corner midpoint|, along that direction.
 * Measured with face-api's own SSD + 68-point landmarks on the 4,978 LFW View 1 faces it found:
 * mean 0.0230 (sd 0.037). dlib's mean face gives 0.0425 for the same quantity. With it, our box
 * from 5 points matches face-api's own 68-point rect on those faces (sides ≈ 67 px) to a mean
 * absolute 0.9 px in x, 0.4 px in y and 1.6 px in side, without bias.
 */
export const MOUTH_CENTRE_DROP = 0.023;

/** face-api's three alignment reference points (eye centres, mouth centre) from our 5 landmarks. */
function faceApiReferencePoints([le, re, , ml, mr]: Landmarks5): [Point, Point, Point] {
  const eyeMid: Point = [(le[0] + re[0]) / 2, (le[1] + re[1]) / 2];
  const mouthMid: Point = [(ml[0] + mr[0]) / 2, (ml[1] + mr[1]) / 2];
  const mouth: Point = [
    mouthMid[0] + MOUTH_CENTRE_DROP * (mouthMid[0] - eyeMid[0]),
    mouthMid[1] + MOUTH_CENTRE_DROP * (mouthMid[1] - eyeMid[1]),
  ];
  return [le, re, mouth];
}

/**
 * The crop face-api would feed its recognition net, as [x, y, side] of a square in image pixels:
 *  - landmarks.align(null, { useDlibAlignment: true }): side = ⌊mean eye–mouth distance / 0.45⌋,
 *    top-left at ⌊max(0, centre − (0.5, 0.43)·side)⌋ with centre the mean of the 3 reference points;
 *  - extractFaceTensors clips that box to the image; toBatchTensor pads it to a square, centred.
 * face-api pads with zeros; we read the image where the padded square still lies inside it and
 * zeros only outside, which differs only for faces cut by the image border.
 */
export function faceApiCropSquare(landmarks: Landmarks5, width: number, height: number): [x: number, y: number, side: number] {
  const [le, re, mouth] = faceApiReferencePoints(landmarks);
  const eyeToMouth = (Math.hypot(mouth[0] - le[0], mouth[1] - le[1]) + Math.hypot(mouth[0] - re[0], mouth[1] - re[1])) / 2;
  const side = Math.floor(eyeToMouth / FACEAPI_REL_SCALE);
  const cx = (le[0] + re[0] + mouth[0]) / 3;
  const cy = (le[1] + re[1] + mouth[1]) / 3;
  const x = Math.floor(Math.max(0, cx - FACEAPI_REL_X * side));
  const y = Math.floor(Math.max(0, cy - FACEAPI_REL_Y * side));
  // Box.clipAtImageBorders, then padToSquare(centred): the short side grows, the larger half after.
  const w = Math.max(1, Math.floor(Math.min(side, width - x)));
  const h = Math.max(1, Math.floor(Math.min(side, height - y)));
  const sq = Math.max(w, h);
  const before = Math.abs(w - h) - Math.round(Math.abs(w - h) / 2);
  return w < h ? [x - before, y, sq] : [x, y - before, sq];
}

/**
 * One cropAndResize for all faces. face-api resizes with resizeBilinear(alignCorners=false,
 * halfPixelCenters=false), i.e. output pixel i reads source x + i·side/size; the box's far edge is
 * put at x + (size − 1)·side/size so cropAndResize samples those very points.
 */
function alignBox(image: Tensor3D, faces: DetectedFace[], size: number): Tensor4D {
  const [height, width] = image.shape;
  const boxes = faces.map((f) => {
    const [x, y, side] = faceApiCropSquare(f.landmarks, width, height);
    const last = ((size - 1) * side) / size;
    return normalisedBox(x, y, x + last, y + last, width, height);
  });
  return tf.tidy(() => tf.image.cropAndResize(asBatch(image), boxes, faces.map(() => 0), [size, size], 'bilinear', 0));
}

// ---------------------------------------------------------------------------------------------

/** NaN landmarks would silently turn into a garbage crop; say so instead. */
function checkLandmarks(faces: DetectedFace[]): void {
  const finite = (p: Point) => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  for (const { landmarks, landmarks68 } of faces) {
    if (landmarks.length !== 5 || !landmarks.every(finite)) {
      throw new Error(`align: a face needs 5 finite landmarks, got ${JSON.stringify(landmarks)}`);
    }
    if (landmarks68 && (landmarks68.length !== 68 || !landmarks68.every(finite))) {
      throw new Error(`align: landmarks68 must be 68 finite points, got ${landmarks68.length}`);
    }
  }
}

function makeAligner(name: AlignerName, warp: (image: Tensor3D, faces: DetectedFace[], size: number) => Tensor4D, usesLandmarks68 = false): Aligner {
  return {
    name,
    usesLandmarks68,
    align(image: Tensor3D, faces: DetectedFace[], size: number): Tensor4D {
      if (!Number.isInteger(size) || size < 2) throw new Error(`align: size must be an integer ≥ 2, got ${size}`);
      if (faces.length === 0) return tf.zeros([0, size, size, 3], 'float32') as Tensor4D;
      checkLandmarks(faces);
      return warp(image, faces, size);
    },
  };
}

/** The aligner of that name; see the top of this file for what each does. */
export function createAligner(name: AlignerName): Aligner {
  switch (name) {
    case 'landmarks68':
      return makeAligner(name, alignLandmarks68, true);
    case 'similarity':
      return makeAligner(name, alignSimilarity);
    case 'box':
      return makeAligner(name, alignBox);
    default:
      throw new Error(`unknown aligner "${String(name)}": use one of ${ALIGNER_NAMES.join(', ')}`);
  }
}
