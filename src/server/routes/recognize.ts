// POST /api/recognize (who is in this picture) and POST /api/verify (are these two faces the same
// person). Both read the image(s) fully and hand the bytes to the request pool, whose workers
// decode them with the pixel limits and find the faces; only naming them happens here.
import { Router, type Request } from 'express';
import type { AppContext } from '../context.ts';
import { HttpError, invalidRequest } from '../errors.ts';
import { isMultipart, readImages, readMultipart, type UploadedFile } from '../upload.ts';
import { recognizeQuerySchema, type RecognizeResponse, type VerifyResponse } from '../apiSchemas.ts';
import type { FaceResult } from '../../shared/protocol.ts';

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The one file sent in form field `field`; 400 naming the field when it is missing. */
function pick(files: UploadedFile[], field: string, usage: string): UploadedFile {
  const f = files.find((x) => x.field === field);
  if (!f) throw new HttpError(400, 'MISSING_FILE', `multipart field '${field}' is missing: ${usage}`, { fields: [field] });
  return f;
}

async function recognize(ctx: AppContext, req: Request): Promise<RecognizeResponse> {
  const q = recognizeQuerySchema.safeParse(req.query);
  if (!q.success) throw invalidRequest('query', q.error);
  const wantEmbeddings = q.data.embeddings === 'true' || q.data.embeddings === '1';
  const started = performance.now();
  const files = await readImages(req, { maxBytes: ctx.config.server.maxUploadBytes, maxFiles: 4 });
  const file = isMultipart(req) ? pick(files, 'image', 'send the picture as -F image=@photo.jpg') : files[0]!;
  const recognizer = ctx.recognizer;
  const detector = q.data.detector ?? ctx.config.vision.detector;
  const pool = await ctx.requestPool();
  const source = file.field ? `image '${file.name}'` : 'request body';
  const image = await pool.analyseImage(file.bytes, { source, detector, embeddings: Boolean(recognizer) || wantEmbeddings });
  const faces = image.faces;
  for (const f of faces) {
    if (recognizer && f.embedding) {
      const { identity, decision } = recognizer.decide(f.embedding);
      Object.assign(f, { identity, decision });
    }
    if (!wantEmbeddings) delete f.embedding;
  }
  const out: RecognizeResponse = {
    width: image.width,
    height: image.height,
    backend: image.backend,
    detector,
    ms: round(performance.now() - started, 1),
    faces,
  };
  if (!recognizer) out.warning = 'no roster model trained yet, so faces are not named: enrol photos, then POST /api/train';
  else if (recognizer.isStale()) out.warning = 'the roster changed since the model was trained; POST /api/train to include the changes';
  return out;
}

function largest(faces: FaceResult[]): FaceResult | undefined {
  return [...faces].sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
}

const VERIFY_USAGE = 'send two pictures as multipart/form-data fields a and b (-F a=@one.jpg -F b=@two.jpg)';

async function verify(ctx: AppContext, req: Request): Promise<VerifyResponse> {
  if (!isMultipart(req)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `${VERIFY_USAGE}`);
  const started = performance.now();
  const files = await readMultipart(req, { maxBytes: ctx.config.server.maxUploadBytes, maxFiles: 4 });
  const a = pick(files, 'a', VERIFY_USAGE);
  const b = pick(files, 'b', VERIFY_USAGE);
  const pool = await ctx.requestPool();
  // One after the other: the second is part of a request already taken, so a full queue cannot refuse it half-way.
  const imageA = await pool.analyseImage(a.bytes, { source: `image a ('${a.name}')` });
  const imageB = await pool.analyseImage(b.bytes, { source: `image b ('${b.name}')`, admitted: true });
  const found = { a: imageA.faces, b: imageB.faces };
  const faceA = largest(found.a);
  const faceB = largest(found.b);
  for (const [key, face, file] of [['a', faceA, a], ['b', faceB, b]] as const) {
    if (!face?.embedding) {
      throw new HttpError(422, 'NO_FACE', `no face found in image ${key} ('${file.name}'); use a photo where the face is at least 40 px wide and looks at the camera`, { image: key });
    }
  }
  const ea = faceA!.embedding!;
  const eb = faceB!.embedding!;
  const distance = Math.sqrt(ea.reduce((s, v, i) => s + (v - eb[i]!) ** 2, 0));
  const threshold = ctx.config.recognition.verifyThreshold;
  const summary = (f: FaceResult, n: number) => ({ box: f.box, score: f.score, faces: n });
  return {
    same: distance < threshold,
    distance: round(distance, 4),
    threshold,
    a: summary(faceA!, found.a.length),
    b: summary(faceB!, found.b.length),
    ms: round(performance.now() - started, 1),
  };
}

export function recognitionRouter(ctx: AppContext): Router {
  const r = Router();
  r.post('/recognize', async (req, res) => {
    res.json(await recognize(ctx, req));
  });
  r.post('/verify', async (req, res) => {
    res.json(await verify(ctx, req));
  });
  return r;
}
