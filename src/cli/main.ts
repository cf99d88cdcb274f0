// The `facecast` command line: parses flags, loads and validates config, dispatches to a command.
import { Command, Option } from 'commander';
import { loadConfig, ConfigError } from '../config/load.ts';
import { createLogger, type LogLevel } from '../shared/log.ts';
import { BACKEND_CHOICES, BackendError } from '../vision/backend.ts';
import { ModelFileError } from '../vision/weights.ts';
import { DETECTORS } from '../vision/detectors/index.ts';
import { ALIGNER_NAMES, type AlignerName } from '../vision/align.ts';
import { runRecognize } from './recognize.ts';
import { runEnroll, runRosterAdd, runRosterImport, runRosterList, runRosterReembed, runRosterRemove, runRosterShow } from './rosterCommands.ts';
import { runNegativesImport, runTrain } from './train.ts';
import { runIdentify, runVerify } from './verify.ts';
import { runServe } from './serve.ts';
import { ServerStartError } from '../server/auth.ts';
import { runDemo } from './demo.ts';
import { runAnalyze } from './analyze.ts';
import { DEFAULT_NEGATIVES_LIMIT, DEFAULT_STRANGERS_LIMIT, runEval } from './eval.ts';
import { EvalInputError } from '../recognition/evaluate.ts';
import { InputRefusedError, IngestError } from '../ingest/index.ts';
import { RosterError } from '../roster/roster.ts';
import { ModelStoreError } from '../recognition/store.ts';
import { TrainingInputError } from '../recognition/service.ts';
import { runEvalLfw } from './evalLfw.ts';
import { runMeasureDistances } from './measureDistances.ts';
import { runEvalOpenset } from './evalOpenset.ts';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../vision/weights.ts';

interface GlobalOptions {
  config?: string;
  data?: string;
  logLevel?: LogLevel;
  backend?: string;
}

/** Errors the user can fix: printed as one line, never as a stack trace. */
const USER_ERRORS = [ConfigError, BackendError, ModelFileError, RosterError, ModelStoreError, InputRefusedError, IngestError, EvalInputError, ServerStartError, TrainingInputError];

function setup(cmd: Command, extra: Record<string, unknown> = {}) {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const vision: Record<string, unknown> = { ...(extra.vision as object) };
  if (g.backend) vision.backend = g.backend;
  const config = loadConfig({
    file: g.config,
    overrides: { ...extra, ...(g.logLevel ? { logLevel: g.logLevel } : {}), ...(g.data ? { dataDir: g.data } : {}), vision },
  });
  return { config, log: createLogger(config.logLevel) };
}

const program = new Command()
  .name('facecast')
  .description('Live-broadcast face recognition and on-air graphics')
  .option('-c, --config <file>', 'JSON config file merged over config/default.json')
  .option('-d, --data <dir>', 'data directory: roster database and trained models (default ./data, or FACECAST_DATA)')
  .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
  .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices([...BACKEND_CHOICES]))
  .showHelpAfterError();

program
  .command('recognize')
  .description('find faces, 5 landmarks and 128-D embeddings in images')
  .argument('<image...>', 'image files (JPEG, PNG, WebP, GIF, TIFF, AVIF, …)')
  .addOption(new Option('--detector <name>', 'face detector').choices([...DETECTORS]))
  .addOption(new Option('--alignment <name>', 'face alignment for the embedder').choices(ALIGNER_NAMES))
  .option('--json', 'print a JSON array, one object per image')
  .option('--embeddings', 'include the 128-D embedding of each face')
  .action(async (images: string[], opts: { detector?: 'mtcnn' | 'ssd'; alignment?: string; json?: boolean; embeddings?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd, { vision: opts.alignment ? { alignment: opts.alignment } : {} });
    process.exitCode = await runRecognize(images, opts, config, log);
  });

program
  .command('demo')
  .description('the built-in demo (npm start): invented players from the face-api sample photos, a demo video looping on channel 1, graphics on air in auto mode')
  .option('--port <n>', 'port to listen on (default from config: 8686)')
  .option('--host <address>', 'address to listen on (default from config: 0.0.0.0)')
  .option('--duration <s>', 'stop after this many seconds (default: until Ctrl-C)')
  .option('--json', 'print the URLs as one JSON object')
  .action(async (o: { port?: string; host?: string; duration?: string; json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    await runDemo(config, log, {
      ...(o.port !== undefined ? { port: Number(o.port) } : {}),
      ...(o.host ? { host: o.host } : {}),
      ...(o.duration ? { duration: Number(o.duration) } : {}),
      json: o.json,
    });
  });

const roster = program.command('roster').description('players of the roster: add, import, list, show, remove, reembed');

roster
  .command('add')
  .description('add or update a player')
  .argument('<id>', 'player id, a slug like "sheldon" or "lebron-james"')
  .requiredOption('--name <name>', 'display name for graphics')
  .option('--number <n>', 'shirt number')
  .option('--team <team>', 'team name')
  .option('--team-color <hex>', 'team colour for graphics, like #1d428a')
  .option('--position <position>', 'playing position')
  .option('--stats <json>', 'stats as a JSON object, like {"points": 12}')
  .action(async (id: string, o: { name: string; number?: string; team?: string; teamColor?: string; position?: string; stats?: string }, cmd: Command) => {
    const { config } = setup(cmd);
    let stats: Record<string, number | string> | undefined;
    if (o.stats) {
      try {
        stats = JSON.parse(o.stats) as Record<string, number | string>;
      } catch {
        program.error(`--stats is not valid JSON: ${o.stats}`);
      }
    }
    process.exitCode = await runRosterAdd(
      { id, name: o.name, ...(o.number !== undefined ? { number: Number(o.number) } : {}), team: o.team, teamColor: o.teamColor, position: o.position, ...(stats ? { stats } : {}) },
      config,
    );
  });

roster
  .command('import')
  .description('import a folder per player (Firstname_Lastname or a player id) and an optional roster.csv / roster.json; enrols every photo')
  .argument('<dir>', 'the roster folder')
  .option('--json', 'print the per-photo reports as JSON')
  .action(async (dir: string, o: { json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runRosterImport(dir, o, config, log);
  });

roster
  .command('list')
  .description('list the players with their photo and embedding counts')
  .option('--json', 'print JSON')
  .action(async (o: { json?: boolean }, cmd: Command) => {
    const { config } = setup(cmd);
    process.exitCode = await runRosterList(o, config);
  });

roster
  .command('show')
  .description("show one player's details, stats and enrolled photos")
  .argument('<id>')
  .option('--json', 'print JSON')
  .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
    const { config } = setup(cmd);
    process.exitCode = await runRosterShow(id, o, config);
  });

roster
  .command('remove')
  .description('remove a player and their enrolled faces')
  .argument('<id>')
  .action(async (id: string, _o: unknown, cmd: Command) => {
    const { config } = setup(cmd);
    process.exitCode = await runRosterRemove(id, config);
  });

roster
  .command('reembed')
  .description('embed again, from the photos stored in the roster, every face and negative made with another vision setup (after changing vision.detector or vision.alignment)')
  .option('--drop-stale', 'delete the embeddings that cannot be re-embedded (photo not stored, or no single face found now), so the roster can train')
  .option('--json', 'print the per-photo reports as JSON')
  .action(async (o: { json?: boolean; dropStale?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runRosterReembed(o, config, log);
  });

program
  .command('enroll')
  .description("enrol photos of a player: one face each, stored with augmented views")
  .argument('<player>', 'player id')
  .argument('<image...>', 'photos of that player')
  .option('--json', 'print the per-photo reports as JSON')
  .action(async (player: string, images: string[], o: { json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runEnroll(player, images, o, config, log);
  });

program
  .command('train')
  .description('train the roster classifier (linear SVM, open-set thresholds) from the enrolled faces and negatives')
  .option('--no-augment', 'train on the original photos only')
  .option('--json', 'print the metrics as JSON')
  .option('--adapt', 'also train a triplet-loss head on the embeddings; used only when it beats them on cross-validated identification')
  .option('--lfw <dir>', 'with --adapt: LFW View 1 folder for the forgetting guard (DevTest accuracy through the head within 0.5 points)')
  .option('--lfw-limit <n>', 'with --lfw: only the first N same and N different pairs of each split (0 = all)', '0')
  .addOption(new Option('--selection <kind>', 'with --adapt: triplet selection').choices(['semi-hard', 'batch-hard']).default('semi-hard'))
  .option('--margin <alpha>', 'with --adapt: triplet-loss margin α', '0.2')
  .action(async (o: { augment: boolean; json?: boolean; adapt?: boolean; lfw?: string; lfwLimit: string; selection: 'semi-hard' | 'batch-hard'; margin: string }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runTrain({ ...o, lfwLimit: Number(o.lfwLimit) || 0, margin: Number(o.margin) }, config, log);
  });

program
  .command('negatives')
  .description('faces known not to be players, used in training so strangers stay unknown')
  .command('import')
  .description('add the faces of a folder of images (e.g. LFW, crowd frames) as negatives')
  .argument('<dir>', 'folder of images, or of one sub-folder per person')
  .addOption(new Option('--source <kind>', 'where they come from').choices(['lfw', 'crowd', 'operator']).default('lfw'))
  .option('--limit <n>', 'at most this many images, spread over the folder', '500')
  .action(async (dir: string, o: { source: 'lfw' | 'crowd' | 'operator'; limit: string }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runNegativesImport(dir, { source: o.source, limit: Number(o.limit) || 500 }, config, log);
  });

program
  .command('verify')
  .description('1:1 verification: are the main faces of two photos the same person?')
  .argument('<a>')
  .argument('<b>')
  .option('--json', 'print JSON')
  .action(async (a: string, b: string, o: { json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runVerify(a, b, o, config, log);
  });

program
  .command('identify')
  .description('1:K identification of every face against the roster (needs `facecast train`)')
  .argument('<image...>')
  .option('--json', 'print JSON')
  .action(async (images: string[], o: { json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    process.exitCode = await runIdentify(images, o, config, log);
  });

program
  .command('analyze')
  .description('track and recognise faces in a video file or live stream; one JSON line per analysed frame, then a summary')
  .argument('<source>', 'file path, rtmp://, rtmps://, srt://, udp://, rtp://, http(s)://….m3u8, or a capture device (/dev/video0)')
  .option('--fps <n>', 'frames analysed per second of video (default from config: 5)')
  .option('--out <file>', 'write the JSON lines to this file instead of stdout')
  .option('--realtime', 'play a file at its native speed (as a live source would arrive)')
  .option('--duration <s>', 'stop after this many seconds (for live sources)')
  .action(async (input: string, o: { fps?: string; out?: string; realtime?: boolean; duration?: string }, cmd: Command) => {
    const ingest: Record<string, unknown> = {};
    if (o.fps !== undefined) ingest.fps = Number(o.fps);
    if (o.realtime) ingest.realtime = true;
    const { config, log } = setup(cmd, { ingest });
    await runAnalyze(input, { out: o.out, ...(o.duration ? { duration: Number(o.duration) } : {}) }, config, log);
  });

/** A whole number of images ≥ 0 (0 = all) from an option's text. */
function imageCount(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new EvalInputError(`${flag} must be a whole number of images, 0 for all; got "${text}"`);
  return n;
}

program
  .command('eval')
  .description('evaluate recognition on a folder per identity: leave-one-out accuracy, open-set false accepts, with/without augmentation and negatives')
  .argument('<dir>', 'a folder with one sub-folder of face photos per identity')
  .option('--json', 'print the results as JSON')
  .option('--negatives <dir>', 'face images of people not in the set (e.g. LFW), used as negatives')
  .option('--negatives-limit <n>', 'at most this many negative images', String(DEFAULT_NEGATIVES_LIMIT))
  .option('--no-builtin-negatives', 'leave out the built-in negatives (faces of the face-api demo photos)')
  .option('--strangers <dir>', 'faces of people in neither the set nor the negatives (e.g. LFW: the people taken as negatives are left out), each put to the trained classifier: how many get a name')
  .option('--strangers-limit <n>', 'at most this many stranger images (0 = all)', String(DEFAULT_STRANGERS_LIMIT))
  .option('--report <file>', 'write a self-contained HTML report (ROC, score distributions, confusion matrix)')
  .option('--quick', 'fix C from the full-data training and use 3 folds (about 2× faster, slightly optimistic)')
  .option('--configs <list>', 'which configurations: original,original+negatives,augmented,augmented+negatives')
  .option('--adapt', 'add a row per configuration with a triplet head trained in every training (the head forced on)')
  .action(
    async (
      dir: string,
      o: {
        json?: boolean;
        negatives?: string;
        negativesLimit: string;
        builtinNegatives: boolean;
        strangers?: string;
        strangersLimit: string;
        report?: string;
        quick?: boolean;
        configs?: string;
        adapt?: boolean;
      },
      cmd: Command,
    ) => {
      const { config, log } = setup(cmd);
      const limits = { negativesLimit: imageCount(o.negativesLimit, '--negatives-limit'), strangersLimit: imageCount(o.strangersLimit, '--strangers-limit') };
      await runEval(dir, { ...o, ...limits, configs: o.configs?.split(',') as never }, config, log);
    },
  );

program
  .command('serve')
  .description('run the overlay server: API, graphics pages, WebSocket and the live pipeline on each --source')
  .option('--source <url...>', 'attach a source: file, rtmp://, srt://, udp://, rtp://, HLS .m3u8 or a device (channel 1, 2, … in order)')
  .option('--loop', 'files: start again at the end')
  .option('--port <n>', 'port to listen on (default from config: 8686)')
  .option('--host <address>', 'address to listen on (default from config: 0.0.0.0)')
  .option('--json', 'print the URLs as one JSON object')
  .action(async (o: { port?: string; host?: string; source?: string[]; loop?: boolean; json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    await runServe(config, log, {
      ...(o.port !== undefined ? { port: Number(o.port) } : {}),
      ...(o.host ? { host: o.host } : {}),
      sources: o.source ?? [],
      loop: o.loop,
      json: o.json,
    });
  });

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

program
  .command('measure-distances')
  .description('measure the embedder\'s genuine and impostor distances on LFW View 1 DevTrain (the open-set rule\'s statistics) into models/distance-stats.json')
  .option('--root <dir>', 'LFW View 1 folder', join(PROJECT_ROOT, '..', 'shared', 'fixtures', 'lfw-view1'))
  .option('--out <file>', 'write here instead of models/distance-stats.json')
  .option('--no-cache', 'recompute every embedding instead of reusing <dataDir>/cache')
  .option('--json', 'print a summary as JSON')
  .action(async (opts: { root: string; out?: string; cache: boolean; json?: boolean }, cmd: Command) => {
    const { config, log } = setup(cmd);
    await runMeasureDistances(opts, config, log);
  });

program
  .command('eval-lfw')
  .description('face verification accuracy on LFW View 1 for each detector × alignment')
  .option('--root <dir>', 'LFW View 1 folder', join(PROJECT_ROOT, '..', 'shared', 'fixtures', 'lfw-view1'))
  .option('--detectors <list>', 'comma-separated detectors', 'mtcnn,ssd')
  .option('--alignments <list>', 'comma-separated alignments', ALIGNER_NAMES.join(','))
  .option('--limit <n>', 'use only the first N same and N different pairs of each split (0 = all)', '0')
  .option('--no-cache', 'recompute every embedding instead of reusing <dataDir>/cache')
  .option('--json', 'print the results as JSON')
  .option('--adapter <dataDir>', 'also report accuracy through the triplet head of the model in this data directory')
  .action(async (opts: { root: string; detectors: string; alignments: string; limit: string; cache: boolean; json?: boolean; adapter?: string }, cmd: Command) => {
    const { config, log } = setup(cmd);
    for (const d of list(opts.detectors)) if (!(DETECTORS as readonly string[]).includes(d)) program.error(`unknown detector "${d}"; use ${DETECTORS.join(', ')}`);
    for (const a of list(opts.alignments)) if (!(ALIGNER_NAMES as readonly string[]).includes(a)) program.error(`unknown alignment "${a}"; use ${ALIGNER_NAMES.join(', ')}`);
    await runEvalLfw(
      {
        root: opts.root,
        detectors: list(opts.detectors) as ('mtcnn' | 'ssd')[],
        alignments: list(opts.alignments) as AlignerName[],
        limit: Number(opts.limit) || 0,
        cache: opts.cache,
        json: opts.json,
        adapter: opts.adapter,
      },
      config,
      log,
    );
  });

/** A whole number ≥ min from an option's text. */
function wholeNumber(text: string, flag: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new EvalInputError(`${flag} must be a whole number ≥ ${min}; got "${text}"`);
  return n;
}

program
  .command('eval-openset')
  .description('open-set identification on LFW View 1: rosters of 1 and 3 photos per player, strangers on no roster; DIR at 0.1 % and 1 % stranger false accepts')
  .option('--root <dir>', 'LFW View 1 folder', join(PROJECT_ROOT, '..', 'shared', 'fixtures', 'lfw-view1'))
  .option('--players <n>', 'players per roster', '500')
  .option('--strangers <n>', 'strangers (one image each)', '1000')
  .option('--negatives <n>', 'people given to training as negatives (one image each)', '300')
  .option('--seed <n>', 'seed of the choice of people', '1')
  .option('--c <list>', 'fixed comma-separated SVM C values instead of the product grid (faster)')
  .option('--leave-identity-out <n>', 'players the trainer leaves out one by one for its stranger trials', '10')
  .option('--no-cache', 'recompute every embedding instead of reusing <dataDir>/cache')
  .option('--json', 'print the results, the protocol and the chosen people as JSON')
  .action(
    async (
      o: { root: string; players: string; strangers: string; negatives: string; seed: string; c?: string; leaveIdentityOut: string; cache: boolean; json?: boolean },
      cmd: Command,
    ) => {
      const { config, log } = setup(cmd);
      const cGrid = o.c ? list(o.c).map(Number) : undefined;
      if (cGrid?.some((c) => !(c > 0))) throw new EvalInputError(`--c must list positive numbers, e.g. --c 1 or --c 0.1,1,10; got "${o.c}"`);
      await runEvalOpenset(
        {
          root: o.root,
          players: wholeNumber(o.players, '--players', 2),
          strangers: wholeNumber(o.strangers, '--strangers', 1),
          negatives: wholeNumber(o.negatives, '--negatives', 0),
          seed: wholeNumber(o.seed, '--seed', 0),
          cGrid,
          leaveIdentityOutMax: wholeNumber(o.leaveIdentityOut, '--leave-identity-out', 0),
          cache: o.cache,
          json: o.json,
        },
        config,
        log,
      );
    },
  );

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
