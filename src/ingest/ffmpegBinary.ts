// Which ffmpeg runs: the configured one, else the one on PATH (the system build usually has
// more codecs and protocols, e.g. SRT), else the static binary of @ffmpeg-installer/ffmpeg.
// Resolved once per path and logged, together with the frame-rate-mode flag it understands.
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '../shared/log.ts';
import type { FpsModeFlag } from './args.ts';
import { IngestError } from './types.ts';

export interface FfmpegBinary {
  path: string;
  source: 'config' | 'PATH' | '@ffmpeg-installer/ffmpeg';
  /** ffmpeg's banner line ("ffmpeg version …"). */
  version: string;
  fpsModeFlag: FpsModeFlag;
}

const run = promisify(execFile);
const cache = new Map<string, Promise<FfmpegBinary>>();

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === 'win32' ? `${name}.exe` : name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

function bundled(): string | undefined {
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path?: string };
    return installer.path;
  } catch {
    // The package throws (a string) when it has no binary for this platform.
    return undefined;
  }
}

// fluent-ffmpeg asks ffmpeg for its formats and encoders before its first run (one process
// each, about 0.6 s for a shared-library build); do that now, alongside our own probe, so the
// first connection is not three ffmpeg start-ups late. The answers are cached per process.
function warmFluent(path: string): Promise<void> {
  const ask = (what: 'availableFormats' | 'availableEncoders') =>
    new Promise<void>((resolve) => ffmpeg().setFfmpegPath(path)[what](() => resolve()));
  return Promise.all([ask('availableFormats'), ask('availableEncoders')]).then(() => undefined);
}

async function probe(path: string, source: FfmpegBinary['source']): Promise<FfmpegBinary> {
  try {
    // One run gives both: the banner on stderr (version) and the option list on stdout.
    // `-h long` lists -fps_mode in 5.1+; -vsync is deprecated there and gone in later releases.
    const [help] = await Promise.all([run(path, ['-h', 'long'], { maxBuffer: 16 << 20 }), warmFluent(path)]);
    const version = /^.*version.*$/m.exec(help.stderr)?.[0].trim() ?? 'unknown version';
    return { path, source, version, fpsModeFlag: /^-fps_mode\b/m.test(help.stdout) ? '-fps_mode' : '-vsync' };
  } catch (err) {
    throw new IngestError('ffmpeg', `Cannot run ffmpeg at ${path} (${(err as Error).message.split('\n')[0]}): install ffmpeg or fix ingest.ffmpegPath.`);
  }
}

/** Find and check ffmpeg once (per configured path); rejects with an IngestError('ffmpeg'). */
export function resolveFfmpeg(configured = '', logger?: Logger): Promise<FfmpegBinary> {
  let found = cache.get(configured);
  if (!found) {
    const fromPath = configured ? undefined : onPath('ffmpeg');
    const fromPackage = configured || fromPath ? undefined : bundled();
    const path = configured || fromPath || fromPackage;
    found = path
      ? probe(path, configured ? 'config' : fromPath ? 'PATH' : '@ffmpeg-installer/ffmpeg')
      : Promise.reject(new IngestError('ffmpeg', 'ffmpeg not found on PATH nor in @ffmpeg-installer/ffmpeg: install ffmpeg (e.g. apt install ffmpeg) or set ingest.ffmpegPath.'));
    found.then(
      (b) => logger?.info({ ffmpeg: b.path, from: b.source, version: b.version }, 'using ffmpeg'),
      () => cache.delete(configured), // let a later call retry after the user fixed it
    );
    cache.set(configured, found);
  }
  return found;
}
