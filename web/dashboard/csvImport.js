// CSV roster import, the same format as `facecast roster import`'s roster.csv: a header with
// `id` and optionally name, number, team, teamColor (or team_color), position; every other
// column is a stat. The server has no CSV endpoint, so each row becomes API calls: POST a new
// player, or PATCH an existing one's fields and merge its stats. Every row reports on its own.
import { api } from './api.js';
import { statValue } from './statsEditor.js';

const KNOWN = new Set(['id', 'name', 'number', 'team', 'teamcolor', 'team_color', 'position']);

/** RFC 4180: commas, double-quoted fields with "" escapes, CRLF or LF; blank lines skipped. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  const endRow = () => {
    row.push(field);
    if (row.some((f) => f.trim() !== '')) rows.push(row);
    row = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRow();
    } else field += c;
  }
  endRow();
  return rows;
}

/** Rows → [{line, id, fields, stats}] or throws with what is wrong with the header. */
export function csvPlayers(text) {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  const names = (header ?? []).map((h) => h.trim());
  const lower = names.map((h) => h.toLowerCase());
  if (!lower.includes('id')) throw new Error('the first line must be a header with an "id" column (and name, number, team, teamColor, position; other columns are stats)');
  const get = (cells, ...keys) => {
    for (const k of keys) {
      const i = lower.indexOf(k);
      const v = i >= 0 ? cells[i]?.trim() : '';
      if (v) return v;
    }
    return undefined;
  };
  return rows.map((cells, i) => {
    const fields = {};
    const name = get(cells, 'name');
    const number = get(cells, 'number');
    const team = get(cells, 'team');
    const teamColor = get(cells, 'teamcolor', 'team_color');
    const position = get(cells, 'position');
    if (name) fields.name = name;
    if (number !== undefined) fields.number = Number(number);
    if (team) fields.team = team;
    if (teamColor) fields.teamColor = teamColor;
    if (position) fields.position = position;
    const stats = {};
    names.forEach((h, k) => {
      const v = cells[k]?.trim();
      if (!KNOWN.has(lower[k]) && h && v) stats[h] = statValue(v);
    });
    return { line: i + 2, id: get(cells, 'id') ?? '', fields, stats };
  });
}

/** Applies the rows; → [{line, id, ok, action, message}]. existing: Set of known player ids. */
export async function importCsv(text, existing) {
  const out = [];
  for (const r of csvPlayers(text)) {
    const at = `line ${r.line}${r.id ? ` (${r.id})` : ''}`;
    if (!r.id) {
      out.push({ ...r, ok: false, message: `${at}: empty id` });
      continue;
    }
    try {
      const hasStats = Object.keys(r.stats).length > 0;
      if (existing.has(r.id)) {
        if (Object.keys(r.fields).length) await api(`/api/players/${encodeURIComponent(r.id)}`, { method: 'PATCH', json: r.fields });
        if (hasStats) await api(`/api/players/${encodeURIComponent(r.id)}/stats`, { method: 'PATCH', json: r.stats });
        out.push({ ...r, ok: true, action: 'updated', message: `${at}: updated` });
      } else {
        const body = { id: r.id, name: r.fields.name ?? r.id, ...r.fields, ...(hasStats ? { stats: r.stats } : {}) };
        await api('/api/players', { method: 'POST', json: body });
        existing.add(r.id);
        out.push({ ...r, ok: true, action: 'created', message: `${at}: added` });
      }
    } catch (err) {
      out.push({ ...r, ok: false, message: `${at}: ${err.message}` });
    }
  }
  return out;
}
