// The `facecast` command line: parses flags, loads and validates config, dispatches to a command.
import { Command, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/load.ts';
import { createLogger, type LogLevel } from '../shared/log.ts';
import { BACKEND_CHOICES, BackendError } from '../vision/backend.ts';
import { ModelFileError } from '../vision/weights.ts';
import { DETECTORS } from '../vision/detectors/index.ts';
import { runRecognize } from './recognize.ts';
import { runEvalLfw } from './evalLfw.ts';
import { join } from 'node:path';
import { PROJECT_ROOT, packageDir } from '../vision/weights.ts';
import { readdirSync } from 'node:fs';

interface GlobalOptions {
  config?: string;
  logLevel?: LogLevel;
  backend?: string;
}

/** Errors the user can fix: printed as one line, never as a stack trace. */
const USER_ERRORS = [ConfigError, BackendError, ModelFileError];

function setup(cmd: Command, extra: Record<string, unknown> = {}) {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const vision: Record<string, unknown> = { ...(extra.vision as object) };
  if (g.backend) vision.backend = g.backend;
  const config = loadConfig({ file: g.config, overrides: { ...(g.logLevel ? { logLevel: g.logLevel } : {}), vision } });
  return { config, log: createLogger(config.logLevel) };
}

const program = new Command()
  .name('facecast')
  .description('Live-broadcast face recognition and on-air graphics')
  .option('-c, --config <file>', 'JSON config file merged over config/default.json')
  .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices([...BACKEND_CHOICES]))
  .showHelpAfterError();

program
  .command('recognize')
  .description('find faces, 5 landmarks and 128-D embeddings in images')
  .argument('<image...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF, …)')
  .addOption(new Option('--detector <name>', 'face detector').choices([...DETECTORS]))
  .addOption(new Option('--alignment <name>', 'face alignment for the embedder').choices(['similarity', 'box']))
  .option('--json', 'print a JSON array, one object per image')
  .option('--embeddings', 'include the 128-D embedding of each face')
  .action(async (images: string[], opts: { detector?: 'mtcnn' | 'ssd'; alignment?: string; json?: boolean; embeddings?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd, { vision: opts.alignment ? { alignment: opts.alignment } : {} });
    process.exitCode = await runRecognize(images, opts, config, log);
  });

program
  .command('demo')
  .description('the built-in demo: recognise the faces in the sample photos shipped with @vladmandic/face-api')
  .addOption(new Option('--detector <name>', 'face detector').choices([...DETECTORS]))
  .option('--json', 'print a JSON array, one object per image')
  .action(async (opts: { detector?: 'mtcnn' | 'ssd'; json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    const dir = join(packageDir('@vladmandic/face-api'), 'demo');
    const photos = readdirSync(dir).filter((f) => /^sample\d+\.jpg$/.test(f)).sort().map((f) => join(dir, f));
    process.exitCode = await runRecognize(photos, opts, config, log);
  });

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

program
  .command('eval-lfw')
  .description('face verification accuracy on LFW View 1 for each detector × alignment')
  .option('--root <dir>', 'LFW View 1 folder', join(PROJECT_ROOT, '..', 'shared', 'fixtures', 'lfw-view1'))
  .option('--detectors <list>', 'comma-separated detectors', 'mtcnn,ssd')
  .option('--alignments <list>', 'comma-separated alignments', 'similarity,box')
  .option('--limit <n>', 'use only the first N same and N different pairs of each split (0 = all)', '0')
  .option('--no-cache', 'recompute every embedding instead of reusing <dataDir>/cache')
  .option('--json', 'print the results as JSON')
  .action(async (opts: { root: string; detectors: string; alignments: string; limit: string; cache: boolean; json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    for (const d of list(opts.detectors)) if (!(DETECTORS as readonly string[]).includes(d)) program.error(`unknown detector "${d}"; use ${DETECTORS.join(', ')}`);
    for (const a of list(opts.alignments)) if (!['similarity', 'box'].includes(a)) program.error(`unknown alignment "${a}"; use similarity, box`);
    await runEvalLfw(
      {
        root: opts.root,
        detectors: list(opts.detectors) as ('mtcnn' | 'ssd')[],
        alignments: list(opts.alignments) as ('similarity' | 'box')[],
        limit: Number(opts.limit) || 0,
        cache: opts.cache,
        json: opts.json,
      },
      config,
      log,
    );
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (USER_ERRORS.some((E) => err instanceof E)) {
    process.stderr.write(`facecast: ${(err as Error).message}\n`);
    process.exitCode = 2;
  } else {
    throw err;
  }
}
