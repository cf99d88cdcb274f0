// `facecast verify <a> <b>` (1:1: same person or not) and `facecast identify <image...>` (1:K
// against the roster; needs a trained model).
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import type { FaceResult } from '../shared/protocol.ts';
import { euclidean } from '../eval/lfw.ts';
import { VisionEngine } from '../vision/engine.ts';
import { decodeImage } from '../vision/image.ts';
import { openRecognizer } from './context.ts';
import { fmt, printJson } from './output.ts';
import { runRecognize } from './recognize.ts';

/** The largest face of an image: the subject of a portrait or ID photo. */
export function largestFace(faces: FaceResult[]): FaceResult | undefined {
  return [...faces].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3])[0];
}

export interface VerifyResult {
  a: string;
  b: string;
  same: boolean;
  distance: number;
  threshold: number;
}

export async function runVerify(a: string, b: string, opts: { json?: boolean }, config: Config, log: Logger): Promise<number> {
  const engine = await VisionEngine.create(config.vision, log);
  try {
    const embeddings: number[][] = [];
    for (const file of [a, b]) {
      const face = largestFace(await engine.analyse(await decodeImage(file, { maxPixels: config.vision.maxImagePixels })));
      if (!face?.embedding) {
        process.stderr.write(`error: ${file}: no face found; use a photo where the face is clearly visible\n`);
        return 1;
      }
      embeddings.push(face.embedding);
    }
    const distance = euclidean(embeddings[0]!, embeddings[1]!);
    const threshold = config.recognition.verifyThreshold;
    const result: VerifyResult = { a, b, same: distance < threshold, distance, threshold };
    if (opts.json) printJson(result);
    else process.stdout.write(`${result.same ? 'same person' : 'different people'}: distance ${fmt(distance, 3)} ${result.same ? '<' : '≥'} threshold ${fmt(threshold, 3)}\n`);
    return 0;
  } finally {
    await engine.dispose();
  }
}

export async function runIdentify(files: string[], opts: { json?: boolean }, config: Config, log: Logger): Promise<number> {
  if (!openRecognizer(config, log)) {
    process.stderr.write(`facecast: no trained roster model in ${config.dataDir}; enrol players and run \`facecast train\` first\n`);
    return 2;
  }
  return runRecognize(files, { json: opts.json }, config, log);
}
