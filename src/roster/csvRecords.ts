// CSV text → records with the line each starts on, through csv-parse. One wrapper for the CLI
// (sync) and the server (async, in slices, so a large body never holds the event loop). A field
// whose opening quote never closes is an error for the row it starts on; parsing resumes on the
// next line, so one stray quote cannot swallow the rows after it.
import { Parser, type CsvError, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';

export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  cells: string[];
  /** Set when the record could not be read (then cells is empty). */
  error?: string;
}

const OPTIONS: Options = {
  info: true,
  raw: true,
  // A quote inside an unquoted field (Joe "Big" Smith) is kept as text, as spreadsheets write it.
  relax_quotes: true,
  relax_column_count: true,
  skip_empty_lines: true,
};

/** Bytes parsed between two yields to the event loop on the async path. */
const SLICE_BYTES = 16 * 1024;

const UNCLOSED = 'a quoted field starts here but its closing quote is missing (double a quote inside a quoted field: "")';

interface Info {
  record: string[];
  info: { lines: number };
  raw: string;
}

/** Line numbers from csv-parse's raw text: blank lines and quoted newlines count. */
class LineCounter {
  constructor(
    /** Line of the text's first character in the whole file. */
    private readonly base: number,
    private lastEnd = 0,
  ) {}

  start(raw: string): number {
    const leading = raw.length - raw.replace(/^\n+/, '').length;
    return this.base + this.lastEnd + leading + 1;
  }

  record(r: Info): CsvRecord {
    const line = this.start(r.raw);
    this.lastEnd = r.info.lines;
    return { line, cells: r.record };
  }
}

/** Text after line `line` (1-based, relative to `text`), or null at the end. */
function after(text: string, line: number): string | null {
  let at = -1;
  for (let i = 0; i < line; i++) {
    at = text.indexOf('\n', at + 1);
    if (at < 0) return null;
  }
  return text.slice(at + 1);
}

function unclosedAt(err: unknown, counter: LineCounter): number | null {
  const e = err as CsvError & { raw?: string };
  if (e?.code !== 'CSV_QUOTE_NOT_CLOSED') return null;
  return counter.start(e.raw ?? '');
}

/** CRLF and lone CR become LF first: csv-parse miscounts lines with CRLF inside quoted fields. */
function normalise(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** Parses the whole text at once (files read by the CLI). */
export function csvRecords(input: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  let text: string | null = normalise(input);
  let base = 0;
  while (text !== null) {
    const counter = new LineCounter(base);
    try {
      parseSync(text, { ...OPTIONS, on_record: (r: unknown) => (out.push(counter.record(r as Info)), null) });
      return out;
    } catch (err) {
      const line = unclosedAt(err, counter);
      if (line === null) throw err;
      out.push({ line, cells: [], error: UNCLOSED });
      text = after(text, line - base);
      base = line;
    }
  }
  return out;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One csv-parse pass over `text` in slices; resolves with the error that stopped it, if any. */
async function parseSliced(text: string, counter: LineCounter, out: CsvRecord[]): Promise<unknown> {
  const bytes = Buffer.from(text);
  const parser = new Parser({ ...OPTIONS, on_record: (r: unknown) => (out.push(counter.record(r as Info)), null) });
  let failed: unknown;
  const done = new Promise<void>((resolve) => {
    parser.once('error', (e) => ((failed = e), resolve()));
    parser.once('finish', () => resolve());
  });
  parser.resume();
  for (let at = 0; at < bytes.length && failed === undefined; at += SLICE_BYTES) {
    parser.write(bytes.subarray(at, at + SLICE_BYTES));
    await nextTurn();
  }
  if (failed === undefined) parser.end();
  await done;
  return failed;
}

/** The same records as csvRecords, parsed a slice at a time between turns of the event loop. */
export async function csvRecordsAsync(input: string): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  let text: string | null = normalise(input);
  let base = 0;
  while (text !== null) {
    const counter = new LineCounter(base);
    const err = await parseSliced(text, counter, out);
    if (err === undefined) return out;
    const line = unclosedAt(err, counter);
    if (line === null) throw err;
    out.push({ line, cells: [], error: UNCLOSED });
    text = after(text, line - base);
    base = line;
  }
  return out;
}
