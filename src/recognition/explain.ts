// Why a face got a name or stayed unknown, in numbers and one line an operator can read: the best
// candidate, its distance to that player's nearest photo against the threshold, the share of
// strangers' faces that come that close, the classifier's score, and the rule that held it back.
import type { Decision } from '../shared/protocol.ts';
import type { Gate, Prediction } from './linearSvmClassifier.ts';

const round = (v: number, d = 3) => Math.round(v * 10 ** d) / 10 ** d;

/** "1 in 12,000" for a rate (two significant digits). */
function oneIn(rate: number): string {
  return rate > 0 ? `1 in ${Number((1 / rate).toPrecision(2)).toLocaleString('en-US')}` : 'none measured';
}

const GATE_WORDS: Record<Gate, string> = {
  falseAcceptRate: 'too far from the nearest photo for the false-accept target',
  nearest: "another player's photo is nearer",
  probability: 'the roster-fitted probability gate',
  margin: 'the roster-fitted margin over the runner-up',
  distance: 'the roster-fitted distance to the enrolled views',
};

/** The decision behind a prediction; `nameOf` turns player ids into display names. */
export function explain(p: Prediction, nameOf: (id: string) => string, thresholds?: { pMin: number; marginMin: number; distMax: number }): Decision {
  const os = p.best.openSet;
  const name = nameOf(p.best.id);
  const parts: string[] = [];
  if (os) {
    const cmp = os.distance <= os.threshold ? '≤' : '>';
    parts.push(`${name}'s nearest photo ${round(os.distance)} ${cmp} ${round(os.threshold)} (strangers come that close: ${oneIn(os.falseAcceptRate)} per photo)`);
    if (!os.passes.nearest && os.runnerUp) parts.push(`${nameOf(p.best.openSet?.runnerUpId ?? '')}'s photo is nearer (${round(os.runnerUp.distance)})`);
  } else {
    parts.push(`${name} at ${round(p.best.distance)} from its enrolled views`);
  }
  for (const g of p.rejectedBy) {
    if (g === 'probability' && thresholds) parts.push(`p ${round(p.best.probability)} < ${round(thresholds.pMin)}`);
    if (g === 'margin' && thresholds) parts.push(`margin ${round(p.best.margin)} < ${round(thresholds.marginMin)}`);
    if (g === 'distance' && thresholds) parts.push(`enrolled-view distance ${round(p.best.distance)} > ${round(thresholds.distMax)}`);
  }
  const verdict = p.identity ? `named ${name}` : `unknown: ${p.rejectedBy.map((g) => GATE_WORDS[g]).join('; ')}`;
  return {
    candidate: { id: p.best.id, name },
    accepted: p.identity !== null,
    distance: round(os?.distance ?? p.best.distance, 4),
    ...(os ? { threshold: round(os.threshold, 4), falseAcceptRate: os.falseAcceptRate } : {}),
    probability: round(p.best.probability, 4),
    margin: round(p.best.margin, 4),
    ...(os?.runnerUp && os.runnerUpId ? { runnerUp: { id: os.runnerUpId, name: nameOf(os.runnerUpId), distance: round(os.runnerUp.distance, 4) } } : {}),
    heldBackBy: p.rejectedBy,
    reason: `${verdict} — ${parts.join('; ')}`,
  };
}
