// `facecast demo` (= `npm start`): the whole product on built-in material, with no config. It
// builds a demo roster from the faces in @vladmandic/face-api's sample photos (invented players),
// renders a demo video from those photos (pans, zooms, hard cuts), and plays it in a loop on
// channel 1 in auto mode, so graphics go on air by themselves. Everything lives in
// <dataDir>/demo, apart from a real roster, and is reused on the next start.
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { prepareDemoRoster } from '../demo/roster.ts';
import { makeDemoVideo } from '../demo/video.ts';
import { startServer } from '../server/app.ts';
import type { Logger } from '../shared/log.ts';
import { Progress } from './progress.ts';
import { banner, printBanner, untilStopped } from './serve.ts';

export interface DemoOptions {
  port?: number;
  host?: string;
  json?: boolean;
  /** Stop after this many seconds (tests, screenshots); 0 = until Ctrl-C. */
  duration?: number;
}

export function demoConfig(config: Config, opts: DemoOptions = {}): Config {
  return {
    ...config,
    dataDir: join(config.dataDir, 'demo'),
    overlay: { ...config.overlay, mode: 'auto' },
    // The dashboard may attach the demo video again after a detach.
    ingest: { ...config.ingest, mediaRoots: [...config.ingest.mediaRoots, join(config.dataDir, 'demo')] },
    // The built-in negatives are faces of these same sample photos, i.e. the demo players.
    recognition: { ...config.recognition, builtinNegatives: false },
    server: { ...config.server, ...(opts.port !== undefined ? { port: opts.port } : {}), ...(opts.host ? { host: opts.host } : {}) },
  };
}

export async function runDemo(config: Config, log: Logger, opts: DemoOptions = {}): Promise<void> {
  const cfg = demoConfig(config, opts);
  const running = await startServer(cfg, log);
  try {
    let progress: Progress | undefined;
    // Independent: the roster uses the vision engine, the video ffmpeg; together they save ~40 s.
    const [roster, video] = await Promise.all([
      running.ctx.useEngine((engine) =>
        prepareDemoRoster(engine, cfg.dataDir, log, (done, total, note) => {
          progress ??= new Progress('demo roster', total);
          progress.update(done, note);
        }),
      ),
      makeDemoVideo(join(cfg.dataDir, 'demo.mp4'), { ffmpegPath: cfg.ingest.ffmpegPath, log }),
    ]);
    progress?.finish();
    running.ctx.reloadRecognizer();
    await running.channels.attach('1', video.path, { loop: true, realtime: true });
    const b = banner(running);
    if (opts.json) printBanner({ ...b, demo: { players: roster.players.map((p) => p.name), video: video.path } } as typeof b, true);
    else {
      process.stdout.write(
        `DEMO: ${roster.players.length} invented players (names, teams and stats are made up) from the @vladmandic/face-api sample photos, ` +
          `${roster.built ? 'built' : 'reused'} in ${cfg.dataDir}; demo video ${video.durationS.toFixed(0)} s looping on channel 1 in auto mode.\n`,
      );
      printBanner(b);
      process.stdout.write('Open the graphics URL in a browser (or add it to OBS as a 1920×1080 browser source) and watch the names go on air.\n');
    }
  } catch (err) {
    await running.close();
    throw err;
  }
  if (opts.duration) setTimeout(() => process.kill(process.pid, 'SIGTERM'), opts.duration * 1000).unref();
  await untilStopped(running, log);
}
