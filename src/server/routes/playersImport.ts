// POST /api/players/import: a roster.csv body (the format of `facecast roster import`). New ids
// are created; for known ones the given fields are changed and the stats merged. The whole file
// is one transaction, one audit row and one roster event; each row still gets its own report:
// 200 all applied, 207 some refused, 422 none. Parsing and checking run a slice at a time, so a
// large file never holds the event loop (the live pipeline and /healthz keep their turn).
import express, { type RequestHandler } from 'express';
import { parseRosterCsvAsync, type CsvRow } from '../../roster/rosterFile.ts';
import { validateImportRow, type ImportOutcome, type ImportRow } from '../../roster/roster.ts';
import type { AppContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { actorOf } from './common.ts';

/** A roster of a few thousand players with stats fits well below this. */
const CSV_LIMIT_BYTES = 1024 * 1024;
/** Rows checked between two turns of the event loop. */
const ROWS_PER_TURN = 2000;

type Status = 'created' | 'updated' | 'unchanged' | 'refused';
interface Report {
  line: number;
  id: string;
  status: Status;
  message: string;
}

const at = (line: number, id: string) => `line ${line}${id ? ` (${id})` : ''}`;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Only UTF-8 (or no charset): body-parser would otherwise decode utf-7 and friends on our behalf. */
function requireUtf8(req: express.Request): void {
  if (!req.is(['text/csv', 'text/plain'])) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the CSV as the body with Content-Type: text/csv; charset=utf-8');
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(
      415,
      'UNSUPPORTED_CHARSET',
      `roster CSV must be UTF-8, not ${charset}: save it as "CSV UTF-8" (or convert it, e.g. iconv -f ${charset} -t UTF-8) and send it with Content-Type: text/csv; charset=utf-8`,
    );
  }
}

function decodeUtf8(body: unknown): string {
  if (!Buffer.isBuffer(body)) throw new HttpError(400, 'INVALID_CSV', 'send the roster CSV as the request body');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, 'INVALID_ENCODING', 'the body is not valid UTF-8: save the file as "CSV UTF-8" (or convert it, e.g. iconv -f latin1 -t UTF-8) and send it again');
  }
}

async function parseRows(text: string, maxRows: number): Promise<CsvRow[]> {
  let rows: CsvRow[];
  try {
    rows = await parseRosterCsvAsync(text);
  } catch (err) {
    throw new HttpError(400, 'INVALID_CSV', `roster CSV: ${(err as Error).message}`);
  }
  if (rows.length > maxRows) {
    throw new HttpError(
      413,
      'TOO_MANY_ROWS',
      `the CSV has ${rows.length} rows; at most ${maxRows} are imported at once (server.csvImportMaxRows): split the file or raise the setting`,
    );
  }
  return rows;
}

/** Both lists are in line order; the reply is too. Outcomes become reports when they are sent. */
function mergeByLine(refused: Report[], outcomes: ImportOutcome[]): (Report | ImportOutcome)[] {
  const out: (Report | ImportOutcome)[] = [];
  let i = 0;
  for (const o of outcomes) {
    while (i < refused.length && refused[i]!.line < o.line) out.push(refused[i++]!);
    out.push(o);
  }
  return out.concat(refused.slice(i));
}

function toReport(r: Report | ImportOutcome): Report {
  if ('message' in r) return r;
  const { line, id, status, error } = r;
  return { line, id, status, message: `${at(line, id)}: ${error ?? (status === 'created' ? 'added' : status)}` };
}

/** res.json for a long report list, serialised a slice at a time: 47,000 reports take a third of a second. */
async function sendReports(res: express.Response, status: number, reports: (Report | ImportOutcome)[]): Promise<void> {
  res.status(status).type('application/json');
  res.write('{"reports":[');
  for (let i = 0; i < reports.length; i += ROWS_PER_TURN) {
    if (i > 0) {
      res.write(',');
      await nextTurn();
    }
    res.write(JSON.stringify(reports.slice(i, i + ROWS_PER_TURN).map(toReport)).slice(1, -1));
  }
  res.end(']}');
}

export function importPlayersRoute(ctx: AppContext): RequestHandler[] {
  const handler: RequestHandler = async (req, res) => {
    const rows = await parseRows(decodeUtf8(req.body), ctx.config.server.csvImportMaxRows);
    const refused: Report[] = [];
    const valid: ImportRow[] = [];
    for (let i = 0; i < rows.length; i++) {
      if (i > 0 && i % ROWS_PER_TURN === 0) await nextTurn();
      const { line, player, named, error } = rows[i]!;
      const checked = error ? { line, id: player.id, error } : validateImportRow(line, player, named);
      if ('error' in checked) refused.push({ line, id: checked.id, status: 'refused', message: `${at(line, checked.id)}: ${checked.error}` });
      else valid.push(checked);
    }
    const outcomes = valid.length ? ctx.roster.importPlayers(valid, actorOf(req)) : [];
    const changed = new Set<string>();
    for (const o of outcomes) if (o.status === 'created' || o.status === 'updated') changed.add(o.id);
    if (changed.size) ctx.events.emit('roster', { type: 'imported', ids: [...changed] });
    const total = refused.length + outcomes.length;
    const nRefused = refused.length + outcomes.filter((o) => o.status === 'refused').length;
    if (total > 0 && nRefused === total) {
      const reports = mergeByLine(refused, outcomes).map(toReport);
      const first = reports[0]!.message;
      throw new HttpError(422, 'NOTHING_IMPORTED', `no row could be imported: ${first}${total > 1 ? ` (and ${total - 1} more)` : ''}`, { reports });
    }
    await sendReports(res, nRefused === 0 ? 200 : 207, mergeByLine(refused, outcomes));
  };
  return [
    (req, _res, next) => (requireUtf8(req), next()),
    express.raw({ type: ['text/csv', 'text/plain'], limit: CSV_LIMIT_BYTES }),
    handler,
  ];
}
