// The baseline of the live-pipeline bench: recognition as @vladmandic/face-api's users write it.
// Per frame, on one thread: detectAllFaces (SSD MobileNetV1, default options) → 68 landmarks →
// descriptor for every face → nearest neighbour in a labelled gallery (FaceMatcher, 0.6). Frames come
// from facecast's own ffmpeg source (file policy: nothing dropped) at the configured fps, so both
// systems see the same pixels.
//
// Run by bench/pipeline.ts in a child process of its own (so its RSS is its own), or alone:
//   npx tsx bench/baseline.ts --video clip.mp4 --gallery dir [--fps 5]
// Sends (or prints) one RunResult (bench/lib.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import sharp from 'sharp';
import { loadConfig } from '../src/config/load.ts';
import { FfmpegFrameSource, type Frame } from '../src/ingest/index.ts';
import { cpuSeconds, FACEAPI_DIR, galleryPeople, latencySummary, mainThreadCpuSeconds, mb, report, round, RssSampler, type RunResult } from './lib.ts';

const { values: opts } = parseArgs({
  options: {
    video: { type: 'string' },
    gallery: { type: 'string' },
    fps: { type: 'string' },
    /** Stop after this many analysed frames (0 = the whole video). */
    frames: { type: 'string', default: '0' },
  },
});
if (!opts.video || !opts.gallery) {
  console.error('usage: tsx bench/baseline.ts --video <file> --gallery <dir: one folder of photos per person> [--fps 5] [--frames N]');
  process.exit(2);
}
const video = opts.video;
const maxFrames = Number(opts.frames);

const rss = new RssSampler();
const t0 = performance.now();
const config = loadConfig({ overrides: opts.fps ? { ingest: { fps: Number(opts.fps) } } : {} });
const ingest = { ...config.ingest, realtime: false, loop: false };

// --- face-api on tfjs + wasm, the way its node-wasm demo sets it up, with local .wasm files.
wasm.setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
await tf.setBackend('wasm');
await tf.ready();
// Production mode as facecast runs (skips tfjs debug checks): whatever it is worth goes to the baseline too.
tf.enableProdMode();
const modelDir = join(FACEAPI_DIR, 'model');
await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);

/** 8-bit RGB pixels → int32 [h, w, 3] tensor, face-api's usual node input. */
function toTensor(rgb: Uint8Array, width: number, height: number): tf.Tensor3D {
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

/** face-api's typings carry their own copy of tfjs's Tensor type; at run time it is the same class. */
const input = (t: tf.Tensor3D) => t as unknown as faceapi.TNetInput;

async function imageTensor(file: string, padFraction: number): Promise<tf.Tensor3D> {
  const img = sharp(file).removeAlpha().toColourspace('srgb');
  const meta = await sharp(file).metadata();
  const pad = Math.round(Math.max(meta.width ?? 0, meta.height ?? 0) * padFraction);
  const { data, info } = await (pad > 0 ? img.extend({ top: pad, bottom: pad, left: pad, right: pad, background: { r: 128, g: 128, b: 128 } }) : img)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${file}: decoded to ${info.channels} channels`);
  return toTensor(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info.width, info.height);
}

// --- the labelled gallery: one descriptor per photo. The shared gallery photos are tight crops, on
// which detectors often find nothing: detect on a grey-padded copy, and if still nothing, describe
// the crop as it is (computeFaceDescriptor on an already-cropped face, as face-api's examples do).
const labelled: faceapi.LabeledFaceDescriptors[] = [];
let galleryFallbacks = 0;
for (const { label, files } of galleryPeople(opts.gallery)) {
  const descriptors: Float32Array[] = [];
  for (const file of files) {
    const padded = await imageTensor(file, 0.5);
    const found = await faceapi.detectSingleFace(input(padded), new faceapi.SsdMobilenetv1Options()).withFaceLandmarks().withFaceDescriptor();
    padded.dispose();
    if (found) descriptors.push(found.descriptor);
    else {
      const crop = await imageTensor(file, 0);
      const d = await faceapi.computeFaceDescriptor(input(crop));
      crop.dispose();
      descriptors.push(Array.isArray(d) ? d[0]! : d);
      galleryFallbacks++;
    }
  }
  labelled.push(new faceapi.LabeledFaceDescriptors(label, descriptors));
}
const matcher = new faceapi.FaceMatcher(labelled, 0.6);

async function recognise(frame: Frame) {
  const tensor = toTensor(frame.rgb, frame.width, frame.height);
  try {
    const results = await faceapi.detectAllFaces(input(tensor), new faceapi.SsdMobilenetv1Options()).withFaceLandmarks().withFaceDescriptors();
    return results.map((r) => ({ box: r.detection.box, match: matcher.findBestMatch(r.descriptor) }));
  } finally {
    tensor.dispose();
  }
}

// --- warm-up on the clip's first frame (kernels, buffers for this frame size), untimed.
const warmSource = new FfmpegFrameSource({ ...ingest, input: video, channel: 'warmup' });
for await (const frame of warmSource) {
  await recognise(frame);
  break;
}
await warmSource.stop();
const setupMs = performance.now() - t0;
const readyRss = rss.sample();

// --- the timed run.
const latency: number[] = [];
const readLatency: number[] = [];
const names: Record<string, number> = {};
let faces = 0;
let named = 0;
let analysed = 0;
const cpu0 = cpuSeconds();
const main0 = mainThreadCpuSeconds();
const start = performance.now();
const source = new FfmpegFrameSource({ ...ingest, input: video, channel: 'main' });
for await (const frame of source) {
  const read = performance.now();
  const found = await recognise(frame);
  readLatency.push(performance.now() - read);
  latency.push(Date.now() - frame.wallMs);
  analysed++;
  faces += found.length;
  for (const f of found) {
    if (f.match.label === 'unknown') continue;
    named++;
    names[f.match.label] = (names[f.match.label] ?? 0) + 1;
  }
  if (maxFrames > 0 && analysed >= maxFrames) break;
}
const seconds = (performance.now() - start) / 1000;
const cpu = cpuSeconds() - cpu0;
const mainCpu = mainThreadCpuSeconds() - main0;
const finalRss = rss.sample();
rss.stop();

const result: RunResult = {
  system: 'baseline',
  mode: 'throughput',
  frames: analysed,
  analysed,
  dropped: 0,
  seconds: round(seconds, 2),
  fps: round(analysed / seconds, 2),
  latency: latencySummary(latency),
  readLatency: latencySummary(readLatency),
  cpuMsPerFrame: round((cpu * 1000) / analysed),
  mainCpuMsPerFrame: round((mainCpu * 1000) / analysed),
  rss: { peakMb: round(mb(rss.peak)), finalMb: round(mb(finalRss)), readyMb: round(mb(readyRss)) },
  setupMs: Math.round(setupMs),
  faces: { perFrame: round(faces / analysed, 2), named, embedded: faces },
  names,
  numTensors: tf.memory().numTensors,
  notes: [
    `face-api ${faceapi.version} on tfjs ${tf.version_core} ${tf.getBackend()}`,
    `gallery: ${labelled.length} people, ${labelled.reduce((n, l) => n + l.descriptors.length, 0)} descriptors (${galleryFallbacks} described without detection)`,
  ],
};
report(result);
