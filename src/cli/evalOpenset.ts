// `facecast eval-openset`: league-sized open-set identification on LFW View 1 (protocol in
// src/eval/openset.ts): rosters of one and three photos per player, strangers on no roster, the
// product's classifier and open-set rule trained on the cached embeddings of the default setup.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../shared/log.ts';
import { devTrainImages, imagesByIdentity } from '../eval/distanceStats.ts';
import { evaluateRoster, planOpenset, resolvePlan, type OpensetRow, type RosterResult } from '../eval/openset.ts';
import { EvalInputError } from '../recognition/evaluate.ts';
import { DEFAULT_OPEN_SET } from '../recognition/service.ts';
import { VisionEngine } from '../vision/engine.ts';
import { embeddingSetupKey } from '../vision/setup.ts';
import { cachedEmbeddings } from './evalLfw.ts';
import { fmt, printJson, table } from './output.ts';
import { Progress } from './progress.ts';

export interface EvalOpensetOptions {
  root: string;
  players: number;
  strangers: number;
  negatives: number;
  seed: number;
  /** SVM C values tried by cross-validation (the product's grid by default). */
  cGrid?: number[];
  /** Players left out one by one for the trainer's stranger trials (each retrains every other player). */
  leaveIdentityOutMax: number;
  cache: boolean;
  json?: boolean;
}

/** Photos enrolled per player: roster A and roster B. */
const ROSTER_PHOTOS = [1, 3];
const TARGET_FARS = [0.001, 0.01];
/** A row restricted to people outside DevTrain needs this many players and strangers to mean something. */
const MIN_SUBSET = 100;

export async function runEvalOpenset(opts: EvalOpensetOptions, config: Config, log: Logger) {
  if (!existsSync(join(opts.root, 'pairsDevTrain.txt'))) {
    throw new EvalInputError(`${opts.root} is not LFW View 1 (no pairsDevTrain.txt): pass the folder with --root`);
  }
  const devTrain = new Set(devTrainImages(opts.root));
  const people = [...imagesByIdentity(opts.root)].map(([name, images]) => ({ name, images, devTrain: images.some((i) => devTrain.has(i)) }));
  const planned = planOpenset(people, { players: opts.players, photos: ROSTER_PHOTOS, strangers: opts.strangers, negatives: opts.negatives, seed: opts.seed });
  const paths = [...new Set([...planned.rosters.flatMap((r) => r.players.flatMap((p) => [...p.enrolled, ...p.probes])), ...planned.strangers.map((s) => s.image), ...planned.negatives.map((n) => n.image)])];

  const engine = await VisionEngine.create(config.vision, log);
  let emb: Record<string, number[] | null>;
  try {
    emb = (await cachedEmbeddings(engine, config.vision.detector, [config.vision.alignment], paths, config, opts.cache)).get(config.vision.alignment)!;
  } finally {
    await engine.dispose();
  }
  const setup = embeddingSetupKey(engine.setup);
  const { plan, dropped } = resolvePlan(planned, emb);
  if (plan.strangers.length === 0) throw new EvalInputError(`no stranger left in ${opts.root}: lower --players or --negatives`);

  const openSet = { setup, ...DEFAULT_OPEN_SET };
  const train = { openSet, leaveIdentityOutMax: opts.leaveIdentityOutMax, ...(opts.cGrid ? { cGrid: opts.cGrid } : {}) };
  const rosters: RosterResult[] = [];
  for (const roster of plan.rosters) {
    if (roster.players.length < 2) {
      log.warn(`roster of ${roster.photos} photo(s) per player: only ${roster.players.length} people have ${roster.photos + 1} images with a face; skipped`);
      continue;
    }
    // The trainer reports its total with the first step.
    let bar: Progress | undefined;
    rosters.push(
      evaluateRoster(roster, plan, emb, {
        train,
        targetFars: TARGET_FARS,
        minSubset: MIN_SUBSET,
        onProgress: (done, total) => {
          bar ??= new Progress(`train ${roster.players.length} players × ${roster.photos}`, total);
          bar.update(done);
        },
      }),
    );
    bar?.finish();
  }

  const protocol = {
    dataset: `LFW View 1 (${opts.root})`,
    setup,
    seed: opts.seed,
    enrolment: 'each player\'s first images with a face; the rest are genuine probes',
    strangers: 'one image (the first) of each stranger: people on no roster and not among the negatives',
    negatives: 'one image of each of the other people, given to training as faces known not to be players',
    preference: 'people outside DevTrain (whose images the distance statistics were not measured on) first, then DevTrain people',
    training: `trainClassifier as the product trains: open-set falseAcceptRate ${openSet.falseAcceptRate}, fittedGatesMinPhotos ${openSet.fittedGatesMinPhotos}; embeddings only (no augmented views); ` +
      `C ${opts.cGrid ? `fixed grid [${opts.cGrid.join(', ')}]` : 'by cross-validation over the product grid'}; leave-identity-out for at most ${opts.leaveIdentityOutMax} players`,
    sweep: 'DIR at a stranger false-accept rate: the open-set distance threshold moved until that share of strangers is named (the ranked player and the nearest-reference rule stay as trained)',
  };
  const counts = {
    people: people.length,
    peopleOutsideDevTrain: people.filter((p) => !p.devTrain).length,
    strangers: plan.strangers.length,
    strangersOutsideDevTrain: plan.strangers.filter((s) => !s.devTrain).length,
    negatives: plan.negatives.length,
    dropped,
  };
  if (opts.json) {
    printJson({ protocol, counts, rosters, plan: plan.rosters.map((r) => ({ photos: r.photos, players: r.players })), strangers: plan.strangers, negatives: plan.negatives });
    return { rosters, plan };
  }
  const out = [
    `open-set identification on ${protocol.dataset}, ${setup}`,
    `strangers: ${counts.strangers} people, one image each (${counts.strangersOutsideDevTrain} outside DevTrain); negatives: ${counts.negatives} other people, one image each`,
    `training: the product's trainClassifier, open-set false-accept rate ${openSet.falseAcceptRate} per face; embeddings only, no augmentation; ` +
      `${opts.cGrid ? `C fixed at ${opts.cGrid.join(', ')}` : 'C by cross-validation'}; leave-identity-out ≤ ${opts.leaveIdentityOutMax} players`,
    ...rosters.map((r) => `roster ${r.photos} photo(s): ${r.players} players (${r.players - r.devTrainPlayers} outside DevTrain, ${r.devTrainPlayers} from DevTrain), C ${r.C}, default threshold ${fmt(r.openSet.distanceMax, 3)} (false-accept rate ${r.openSet.falseAcceptRate} split over ${+r.openSet.chances.toFixed(2)} chances)`),
    ...rosters
      .filter((r) => r.rows.length === 1 && r.devTrainPlayers > 0)
      .map(
        (r) =>
          `roster ${r.photos} photo(s): no row outside DevTrain (${r.players - r.devTrainPlayers} players and ${counts.strangersOutsideDevTrain} strangers there; it needs ${MIN_SUBSET} of each to mean something)`,
      ),
    ...(dropped.players + dropped.strangers + dropped.negatives > 0 ? [`left out (no face found): ${dropped.players} players, ${dropped.strangers} strangers, ${dropped.negatives} negatives`] : []),
    '',
    opensetTable(rosters),
    '',
    'DIR: genuine probes named correctly; FAR: strangers named; rank-1: the SVM\'s top player is right (closed set); at FAR x: the distance threshold moved so that at most x of the strangers are named',
  ];
  process.stdout.write(out.join('\n') + '\n');
  return { rosters, plan };
}

const pct = (v: number, d = 1) => `${fmt(v * 100, d)} %`;

/** One line per roster and subset, for people. */
export function opensetTable(rosters: RosterResult[]): string {
  const row = (r: RosterResult, s: OpensetRow) => [
    `${r.photos} photo${r.photos > 1 ? 's' : ''}${s.subset === 'all' ? '' : `, ${s.subset}`}`,
    s.players,
    s.probes,
    s.strangers,
    pct(s.rank1),
    ...s.points.map((p) => `${pct(p.dir)} (${p.falseAccepts})`),
    pct(s.atDefault.dir),
    `${pct(s.atDefault.far, 2)} (${s.atDefault.falseAccepts})`,
    s.atDefault.misnamed,
    // A subset row is the same trained model: its times are the roster's.
    s.subset === 'all' ? fmt(r.trainMs / 1000, 1) : '',
    s.subset === 'all' ? fmt(r.identifyMsMedian, 2) : '',
  ];
  const header = ['roster', 'players', 'probes', 'strangers', 'rank-1', ...TARGET_FARS.map((f) => `DIR @ FAR ${fmt(f * 100, 1)} %`), 'DIR default', 'FAR default', 'misnamed', 'train s', 'identify ms'];
  return table(header, rosters.flatMap((r) => r.rows.map((s) => row(r, s))));
}
