// The built-in demo video: slow pans and zooms over the face-api sample photos with hard cuts
// between them, 1280×720 at 25 fps, about 50 s, as a stand-in for a match feed. Built once;
// a JSON file beside the video records the parameters, and the same parameters reuse it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { resolveFfmpeg } from '../ingest/ffmpegBinary.ts';
import type { Logger } from '../shared/log.ts';
import { packageDir } from '../vision/weights.ts';
import { renderShots, type PixelWindow, type RenderShot } from './render.ts';

/** Bump when the rendering changes in a way the parameters do not show. */
const DEMO_VIDEO_VERSION = 1;

/** A window as fractions of the photo: x and width of its width, y of its height. */
export interface FractionWindow {
  x: number;
  y: number;
  width: number;
}

export interface DemoShotSpec {
  /** A face-api sample photo, e.g. 'sample1.jpg'. */
  photo: string;
  /** What the camera does, for people and logs: 'pan', 'tilt', 'zoom-in', 'zoom-out', 'static'. */
  motion: string;
  seconds: number;
  from: FractionWindow;
  to: FractionWindow;
}

/**
 * Eight shots of 5–7 s. The windows keep most faces in frame and let some enter and leave (the
 * pans and the tilt), the zooms change face sizes by up to 2×, and two photos come back later so
 * a face is seen again after a cut. The photos are 1920 wide and 1280–1537 high: a full-width
 * 16:9 window (1080 high) fits all of them.
 */
export const DEMO_SHOTS: readonly DemoShotSpec[] = [
  { photo: 'sample1.jpg', motion: 'pan', seconds: 7, from: { x: 0, y: 0.08, width: 0.72 }, to: { x: 0.28, y: 0.08, width: 0.72 } },
  { photo: 'sample3.jpg', motion: 'zoom-in', seconds: 6, from: { x: 0, y: 0.05, width: 1 }, to: { x: 0.2, y: 0.1, width: 0.6 } },
  { photo: 'sample5.jpg', motion: 'tilt', seconds: 7, from: { x: 0.1, y: 0, width: 0.8 }, to: { x: 0.1, y: 0.38, width: 0.8 } },
  { photo: 'sample4.jpg', motion: 'zoom-out', seconds: 6, from: { x: 0.15, y: 0.02, width: 0.55 }, to: { x: 0, y: 0, width: 1 } },
  { photo: 'sample6.jpg', motion: 'pan', seconds: 7, from: { x: 0.3, y: 0.12, width: 0.7 }, to: { x: 0, y: 0.12, width: 0.7 } },
  { photo: 'sample2.jpg', motion: 'zoom-in', seconds: 6, from: { x: 0, y: 0, width: 1 }, to: { x: 0.52, y: 0.05, width: 0.45 } },
  { photo: 'sample1.jpg', motion: 'static', seconds: 5, from: { x: 0.05, y: 0.05, width: 0.9 }, to: { x: 0.05, y: 0.05, width: 0.9 } },
  { photo: 'sample3.jpg', motion: 'pan', seconds: 6, from: { x: 0, y: 0.1, width: 0.65 }, to: { x: 0.35, y: 0.1, width: 0.65 } },
];

export interface DemoVideoOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** x264 quality (default 20). */
  crf?: number;
  shots?: readonly DemoShotSpec[];
  /** As ingest.ffmpegPath: '' finds ffmpeg on PATH, then the bundled one. */
  ffmpegPath?: string;
  log?: Logger;
}

export interface DemoShot {
  index: number;
  photo: string;
  motion: string;
  /** First frame and frame count; startS = startFrame / fps, the time of the cut into this shot. */
  startFrame: number;
  frames: number;
  startS: number;
  endS: number;
  /** The window at the first and last frame, in photo pixels. */
  from: PixelWindow;
  to: PixelWindow;
}

export interface DemoVideo {
  path: string;
  width: number;
  height: number;
  fps: number;
  frames: number;
  durationS: number;
  shots: DemoShot[];
  /** True when this call rendered the file, false when it was already there. */
  built: boolean;
}

interface Sidecar {
  format: 'facecast-demo-video';
  paramsHash: string;
  video: Omit<DemoVideo, 'built' | 'path'>;
}

function samplePath(photo: string): string {
  return join(packageDir('@vladmandic/face-api'), 'demo', photo);
}

async function layout(specs: readonly DemoShotSpec[], fps: number): Promise<{ shots: DemoShot[]; frames: number }> {
  const shots: DemoShot[] = [];
  let start = 0;
  for (const [index, s] of specs.entries()) {
    // Dimensions after EXIF rotation, as the renderer sees the photo.
    const meta = await sharp(samplePath(s.photo)).metadata();
    const [w, h] = (meta.orientation ?? 1) >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
    const px = (f: FractionWindow): PixelWindow => ({ x: Math.round(f.x * w), y: Math.round(f.y * h), width: Math.round(f.width * w) });
    const frames = Math.round(s.seconds * fps);
    shots.push({ index, photo: s.photo, motion: s.motion, startFrame: start, frames, startS: start / fps, endS: (start + frames) / fps, from: px(s.from), to: px(s.to) });
    start += frames;
  }
  return { shots, frames: start };
}

/**
 * The demo video at `outPath` (.mp4), rendered unless a previous call left one made with the same
 * parameters. Rendering costs about 50 s of CPU time (sharp and x264), under a minute on two cores.
 */
export async function makeDemoVideo(outPath: string, opts: DemoVideoOptions = {}): Promise<DemoVideo> {
  const width = opts.width ?? 1280;
  const height = opts.height ?? 720;
  const fps = opts.fps ?? 25;
  const crf = opts.crf ?? 20;
  const specs = opts.shots ?? DEMO_SHOTS;
  const photoHashes = [...new Set(specs.map((s) => s.photo))].map((p) => [p, createHash('sha256').update(readFileSync(samplePath(p))).digest('hex')]);
  const paramsHash = createHash('sha256')
    .update(JSON.stringify({ v: DEMO_VIDEO_VERSION, width, height, fps, crf, specs, photoHashes }))
    .digest('hex');
  const sidecarPath = `${outPath}.json`;

  if (existsSync(outPath) && existsSync(sidecarPath)) {
    try {
      const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Sidecar;
      if (sidecar.format === 'facecast-demo-video' && sidecar.paramsHash === paramsHash) return { ...sidecar.video, path: outPath, built: false };
    } catch {
      /* unreadable: render again */
    }
  }

  const { shots, frames } = await layout(specs, fps);
  const video: Omit<DemoVideo, 'built' | 'path'> = { width, height, fps, frames, durationS: frames / fps, shots };
  const ffmpeg = await resolveFfmpeg(opts.ffmpegPath ?? '', opts.log);
  mkdirSync(dirname(outPath), { recursive: true });
  rmSync(sidecarPath, { force: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  const started = performance.now();
  opts.log?.info({ path: outPath, frames }, `demo video: rendering ${video.durationS} s of pans and zooms over the sample photos`);
  const renderShotsIn: RenderShot[] = shots.map((s) => ({ file: samplePath(s.photo), frames: s.frames, from: s.from, to: s.to }));
  try {
    await renderShots(renderShotsIn, { ffmpeg: ffmpeg.path, out: tmp, width, height, fps, crf });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  // Video first, then the sidecar: a sidecar never vouches for a half-written video.
  renameSync(tmp, outPath);
  writeFileSync(sidecarPath, JSON.stringify({ format: 'facecast-demo-video', paramsHash, video } satisfies Sidecar, null, 2));
  opts.log?.info({ path: outPath, seconds: Math.round(performance.now() - started) / 1000 }, 'demo video: rendered');
  return { ...video, path: outPath, built: true };
}
