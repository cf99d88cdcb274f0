// CSV roster import, the same format as `facecast roster import`'s roster.csv: a header with
// `id` and optionally name, number, team, teamColor (or team_color), position; every other
// column is a stat. The server parses it (one parser for the CLI and the dashboard): new ids are
// added, known ones get the given fields changed and their stats merged; every row reports on
// its own.
import { api, ApiError } from './api.js';

/**
 * Sends the file to POST /api/players/import, which parses it the way `facecast roster import`
 * does; → [{line, id, ok, action, message}], one per row.
 */
export async function importCsv(text) {
  let reports;
  try {
    ({ reports } = await api('/api/players/import', { method: 'POST', body: text, headers: { 'content-type': 'text/csv' } }));
  } catch (err) {
    // Every row refused: the error carries the per-row reports.
    if (err instanceof ApiError && Array.isArray(err.details?.reports)) reports = err.details.reports;
    else throw err;
  }
  return reports.map((r) => ({ line: r.line, id: r.id, ok: r.status !== 'refused', action: r.status, message: r.message }));
}
