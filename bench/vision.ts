// npm run bench:vision — detection ms per 640×360 and 1920×1080 frame for each detector,
// alignment ms per face for each aligner (landmarks68 includes its 68-point net), and
// embedding ms per face at batch 1 vs batch 16, on the wasm backend (or --backend X). Variants
// are interleaved round by round so machine noise hits them alike; medians are printed.
import sharp from 'sharp';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { VisionEngine } from '../src/vision/engine.ts';
import { imageToTensor } from '../src/vision/image.ts';
import { packageDir } from '../src/vision/weights.ts';
import { tf } from '../src/vision/tf.ts';
import { table } from '../src/cli/output.ts';
import { ALIGNER_NAMES, createAligner } from '../src/vision/align.ts';
import type { RgbImage } from '../src/vision/types.ts';
import type { BackendChoice } from '../src/vision/backend.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const ROUNDS = Number(arg('rounds', '5'));
const backend = arg('backend', 'wasm') as BackendChoice;

async function frame(src: string, width: number, height: number): Promise<RgbImage> {
  // Letterbox-free: cover-crop the photo to the broadcast aspect, as a video frame would be.
  const { data, info } = await sharp(src).resize(width, height, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const config = loadConfig({ overrides: { vision: { backend } } });
const engine = await VisionEngine.create(config.vision);
const photo = join(packageDir('@vladmandic/face-api'), 'demo', 'sample1.jpg');
const frames = { '640×360': await frame(photo, 640, 360), '1920×1080': await frame(photo, 1920, 1080) };
console.log(`backend: ${engine.backend.name} (${engine.backend.device}); ${ROUNDS} rounds, median ms; source ${photo}`);

// Detection: every detector on every frame size, interleaved.
const detRows: (string | number)[][] = [];
const detTimes = new Map<string, number[]>();
const detFaces = new Map<string, number>();
for (const d of ['mtcnn', 'ssd'] as const) {
  const det = await engine.detector(d);
  for (const img of Object.values(frames)) {
    const t = imageToTensor(img);
    await det.detect(t); // warm-up: kernels and buffers for this shape
    t.dispose();
  }
}
{
  // The 68-point net of the landmarks68 aligner is loaded on first use: before the count below.
  const t = imageToTensor(frames['640×360']);
  (await engine.align(t, await (await engine.detector('mtcnn')).detect(t))).dispose();
  t.dispose();
}
const memBefore = tf.memory().numTensors;
for (let r = 0; r < ROUNDS; r++) {
  for (const d of ['mtcnn', 'ssd'] as const) {
    const det = await engine.detector(d);
    for (const [size, img] of Object.entries(frames)) {
      const key = `${d} ${size}`;
      const t = imageToTensor(img);
      let n = 0;
      const ms = await time(async () => (n = (await det.detect(t)).length));
      t.dispose();
      detTimes.set(key, [...(detTimes.get(key) ?? []), ms]);
      detFaces.set(key, n);
    }
  }
}
for (const [key, ts] of detTimes) detRows.push([...key.split(' '), median(ts).toFixed(1), detFaces.get(key)!]);
console.log('\nDetection (image tensor in, faces with 5 landmarks out)');
console.log(table(['detector', 'frame', 'ms/frame', 'faces'], detRows));

// Alignment: all faces of the 1920×1080 frame (as MTCNN finds them) to 150×150 chips, per aligner.
{
  const t = imageToTensor(frames['1920×1080']);
  const found = await (await engine.detector('mtcnn')).detect(t);
  const aligners = ALIGNER_NAMES.map((name) => createAligner(name));
  const run = async (a: (typeof aligners)[number]) => (await engine.align(t, found, a)).dispose();
  for (const a of aligners) await run(a); // warm-up
  const times = new Map<string, number[]>(aligners.map((a) => [a.name, []]));
  for (let r = 0; r < ROUNDS; r++) for (const a of aligners) times.get(a.name)!.push(await time(() => run(a)));
  t.dispose();
  console.log(`\nAlignment (${found.length} MTCNN faces of the 1920×1080 frame → 150×150 chips, one batch)`);
  console.log(
    table(
      ['aligner', 'ms/face', 'ms/frame'],
      aligners.map((a) => [a.name, (median(times.get(a.name)!) / Math.max(1, found.length)).toFixed(2), median(times.get(a.name)!).toFixed(1)]),
    ),
  );
}

// Embedding: the same 16 aligned faces as 16 calls of batch 1 and as one call of batch 16.
const faces = tf.tidy(() => tf.randomUniform([16, engine.embedder.inputSize, engine.embedder.inputSize, 3], 0, 255) as tf.Tensor4D);
const singles = Array.from({ length: 16 }, (_, i) => tf.slice(faces, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D);
await engine.embedder.embed(faces);
await engine.embedder.embed(singles[0]!);
const b1: number[] = [];
const b16: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  b1.push(await time(async () => { for (const s of singles) await engine.embedder.embed(s); }));
  b16.push(await time(() => engine.embedder.embed(faces)));
}
console.log('\nEmbedding (aligned 150×150 faces → 128-D)');
console.log(
  table(
    ['batch', 'ms/face', 'ms/call'],
    [
      [1, (median(b1) / 16).toFixed(1), (median(b1) / 16).toFixed(1)],
      [16, (median(b16) / 16).toFixed(1), median(b16).toFixed(1)],
    ],
  ),
);
tf.dispose([faces, ...singles]);
console.log(`\nbatch 16 is ${(median(b1) / median(b16)).toFixed(2)}× cheaper per face than batch 1`);
console.log(`tensors after the timed runs: ${tf.memory().numTensors} (before: ${memBefore})`);
await engine.dispose();
