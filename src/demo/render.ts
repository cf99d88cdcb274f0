// Renders "camera moves over still photos" into an H.264 file: each shot is a crop window that
// moves linearly from one place and size to another (a pan, a zoom, or nothing), scaled to the
// frame; shots follow each other with hard cuts. Frames are made with sharp and piped raw into
// ffmpeg, so what every frame shows is known exactly. (test/helpers/videos.ts does the same for
// the labelled test photos, with ground truth per face.)
import { spawn } from 'node:child_process';
import sharp from 'sharp';

/** A crop window in photo pixels; its height follows the frame's aspect ratio. */
export interface PixelWindow {
  x: number;
  y: number;
  width: number;
}

export interface RenderShot {
  file: string;
  frames: number;
  from: PixelWindow;
  to: PixelWindow;
}

export interface RenderOptions {
  ffmpeg: string;
  out: string;
  width: number;
  height: number;
  fps: number;
  /** x264 constant rate factor: lower is better quality and a bigger file. */
  crf: number;
}

export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Frame k of n: the interpolated window in whole photo pixels, kept inside the photo. */
export function cropAt(shot: Pick<RenderShot, 'from' | 'to'>, k: number, n: number, photo: { width: number; height: number }, aspect: number): Crop {
  const t = n > 1 ? k / (n - 1) : 0;
  const w = lerp(shot.from.width, shot.to.width, t);
  const width = Math.min(photo.width, Math.max(16, Math.round(w)));
  const height = Math.min(photo.height, Math.max(16, Math.round(w / aspect)));
  const left = Math.min(photo.width - width, Math.max(0, Math.round(lerp(shot.from.x, shot.to.x, t))));
  const top = Math.min(photo.height - height, Math.max(0, Math.round(lerp(shot.from.y, shot.to.y, t))));
  return { left, top, width, height };
}

/** Frames rendered ahead of the one being written: sharp works on libuv's 4 threads meanwhile. */
const LOOKAHEAD = 4;

/** Writes the shots to opts.out (MP4, H.264, yuv420p, a keyframe at every cut). */
export async function renderShots(shots: RenderShot[], opts: RenderOptions): Promise<void> {
  const { width, height, fps } = opts;
  const cuts: string[] = [];
  let start = 0;
  for (const s of shots) {
    cuts.push((start / fps).toFixed(6));
    start += s.frames;
  }
  // A keyframe at each cut, so seeking to a shot is exact.
  const encoder = openRawEncoder({
    ffmpeg: opts.ffmpeg,
    width,
    height,
    fps,
    out: opts.out,
    x264: ['-preset', 'veryfast', '-crf', String(opts.crf), '-g', String(2 * fps), '-force_key_frames', cuts.join(',')],
  });
  try {
    for (const shot of shots) {
      // Shrink the photo once so the shot's narrowest window is exactly frame-wide: frames of pans
      // and static shots are then plain crops, and zooms resize less per frame.
      const scale = Math.min(1, width / Math.min(shot.from.width, shot.to.width));
      const full = await sharp(shot.file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      const { data, info } =
        scale === 1
          ? full
          : await sharp(full.data, { raw: { width: full.info.width, height: full.info.height, channels: 3 } })
              .resize(Math.round(full.info.width * scale), Math.round(full.info.height * scale), { fit: 'fill' })
              .raw()
              .toBuffer({ resolveWithObject: true });
      const at = (w: PixelWindow): PixelWindow => ({ x: w.x * scale, y: w.y * scale, width: w.width * scale });
      const scaled = { from: at(shot.from), to: at(shot.to) };
      const photo = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
      const frame = (k: number) => {
        const p = photo.clone().extract(cropAt(scaled, k, shot.frames, info, width / height)).resize(width, height, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
        p.catch(() => undefined); // awaited in order below; this only stops an early failure being "unhandled"
        return p;
      };
      const pending: Promise<Buffer>[] = [];
      for (let k = 0; k < Math.min(LOOKAHEAD, shot.frames); k++) pending.push(frame(k));
      for (let k = 0; k < shot.frames; k++) {
        const buf = await pending.shift()!;
        if (k + LOOKAHEAD < shot.frames) pending.push(frame(k + LOOKAHEAD));
        await encoder.write(buf);
      }
    }
  } catch (err) {
    await encoder.abort();
    throw err;
  }
  await encoder.finish();
}

export interface RawEncoder {
  /** Appends one width × height RGB frame; resolves once ffmpeg took it (backpressure). */
  write(frame: Buffer): Promise<void>;
  /** Ends the input and waits for ffmpeg to finish the file; rejects with its error output. */
  finish(): Promise<void>;
  /** Kills ffmpeg (after a failure on our side) and waits for it to go. */
  abort(): Promise<void>;
}

/**
 * ffmpeg reading raw RGB frames on stdin and writing an H.264 MP4 (yuv420p, no B-frames, so
 * pts = index / fps exactly). `x264` adds the caller's rate, GOP and keyframe settings.
 */
export function openRawEncoder(o: { ffmpeg: string; width: number; height: number; fps: number; out: string; x264: string[] }): RawEncoder {
  const ffmpeg = spawn(
    o.ffmpeg,
    [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-r', String(o.fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-bf', '0', ...o.x264, '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', o.out,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  ffmpeg.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) => {
    ffmpeg.on('error', reject);
    ffmpeg.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${stderr.trim()}`))));
  });
  // A write error (ffmpeg died) surfaces through `exited`; without a listener it would be thrown.
  ffmpeg.stdin.on('error', () => undefined);
  return {
    write: (frame) => new Promise<void>((resolve, reject) => ffmpeg.stdin.write(frame, (err) => (err ? reject(err) : resolve()))),
    finish: async () => {
      ffmpeg.stdin.end();
      await exited;
    },
    abort: async () => {
      ffmpeg.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}
