/**
 * The one CSV a technician fills in for a batch, whatever the destination (gateway registry and
 * keys file, ChirpStack, labels): the registry's columns plus the join keys.
 *
 *   dev_eui;name;model;join_eui;app_key;tag:commune;tag:site;var:container_depth_mm
 *   a840410000000101;bin-1;dingtek/df703;70b3d57ed0000001;2b7e…4f3c;Cabestany;Place de la République;1200
 *
 * Comma- or semicolon-separated (what spreadsheets write in much of Europe), header names in any
 * case. The whole file is checked before anything is written, and every problem is reported at
 * once as `line N, column c: …`.
 */
import { checkDevice, type RegisteredDevice, type KnownModels } from '../../gateway/registry/devices-file.ts';
import { parseCsv } from '../../gateway/registry/csv.ts';

export interface BatchRow {
  line: number;
  device: RegisteredDevice;
  joinEui?: string;
  appKey?: string;
  description?: string;
}

export interface BatchProblem {
  line: number;
  column?: string;
  message: string;
}

export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
export const MAX_BATCH_ROWS = 100_000;

const KEY_COLUMNS: Record<string, { len: number; field: 'joinEui' | 'appKey' }> = {
  join_eui: { len: 16, field: 'joinEui' },
  app_eui: { len: 16, field: 'joinEui' },
  app_key: { len: 32, field: 'appKey' },
};

/** Which separator the header line uses (outside quotes). */
function separatorOf(text: string): ',' | ';' {
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  const semis = (first.match(/;/g) ?? []).length;
  const commas = (first.match(/,/g) ?? []).length;
  return semis > commas ? ';' : ',';
}

/** Splits on `;` by turning the file into RFC 4180 commas first, quotes respected. */
function toCommas(text: string): string {
  let out = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (!quoted && c === ';') out += ',';
    else if (!quoted && c === ',') out += '\uE000';
    else out += c;
  }
  return out;
}

export function readBatchCsv(text: string, knownModel: KnownModels, need: { keys: boolean }): { rows: BatchRow[]; problems: BatchProblem[] } {
  const problems: BatchProblem[] = [];
  if (text.length > MAX_BATCH_BYTES) return { rows: [], problems: [{ line: 1, message: `the file has ${text.length} bytes; a batch may have at most ${MAX_BATCH_BYTES}` }] };
  const sep = separatorOf(text);
  // With `;` as separator a comma inside a cell is text: protect it from the comma parser.
  const parsed = parseCsv(sep === ';' ? toCommas(text) : text);
  const restore = (s: string): string => (sep === ';' ? s.replace(/\uE000/g, ',') : s);
  if (parsed.error) return { rows: [], problems: [{ line: 1, message: parsed.error }] };
  const [header, ...body] = parsed.rows;
  if (!header) return { rows: [], problems: [{ line: 1, message: 'the file is empty' }] };
  if (body.length > MAX_BATCH_ROWS) return { rows: [], problems: [{ line: 1, message: `${body.length} rows; a batch may have at most ${MAX_BATCH_ROWS}` }] };
  const cols = header.cells.map((c) => {
    const name = restore(c).trim();
    const m = /^(tag|var|tags|variables)[:.](.+)$/i.exec(name);
    return m ? `${(m[1] as string).toLowerCase().startsWith('tag') ? 'tag' : 'var'}:${m[2]}` : name.toLowerCase().replace(/[\s-]+/g, '_');
  });
  cols.forEach((c, i) => {
    if (!/^(dev_eui|name|model|description|join_eui|app_eui|app_key|tag:.+|var:.+)$/.test(c)) problems.push({ line: header.line, column: `${i + 1}`, message: `unknown column "${restore(header.cells[i] ?? '')}" (expected dev_eui, name, model, join_eui, app_key, description, tag:<key>, var:<key>)` });
  });
  for (const required of ['dev_eui', 'name', 'model', ...(need.keys ? ['join_eui', 'app_key'] : [])]) {
    const alias = required === 'join_eui' && cols.includes('app_eui');
    if (!cols.includes(required) && !alias) problems.push({ line: header.line, message: `missing column "${required}"` });
  }
  if (problems.length) return { rows: [], problems };
  const rows: BatchRow[] = [];
  const seen = new Map<string, number>();
  for (const r of body) {
    if (r.cells.length !== cols.length) {
      problems.push({ line: r.line, message: `has ${r.cells.length} cells, the header has ${cols.length}` });
      continue;
    }
    const raw: Record<string, unknown> = { tags: {}, variables: {} };
    const row: Partial<BatchRow> = { line: r.line };
    cols.forEach((c, i) => {
      const v = restore(r.cells[i] as string).trim();
      const key = KEY_COLUMNS[c];
      if (key) {
        if (v === '') return;
        const hex = v.replace(/[\s:-]/g, '').toLowerCase();
        if (!new RegExp(`^[0-9a-f]{${key.len}}$`).test(hex)) problems.push({ line: r.line, column: c, message: `must be ${key.len} hex digits` });
        else row[key.field] = hex;
      } else if (c === 'description') row.description = v;
      else if (c.startsWith('tag:')) {
        if (v !== '') (raw['tags'] as Record<string, string>)[c.slice(4)] = v;
      } else if (c.startsWith('var:')) {
        if (v === '') return;
        const n = Number(v.replace(',', '.'));
        (raw['variables'] as Record<string, unknown>)[c.slice(4)] = /^-?\d+([.,]\d+)?$/.test(v) && Number.isFinite(n) ? n : v;
      } else raw[c] = v;
    });
    if (need.keys) {
      if (!row.joinEui && !problems.some((p) => p.line === r.line && p.column === 'join_eui')) problems.push({ line: r.line, column: 'join_eui', message: 'is required' });
      if (!row.appKey && !problems.some((p) => p.line === r.line && p.column === 'app_key')) problems.push({ line: r.line, column: 'app_key', message: 'is required' });
    }
    const checked = checkDevice(raw, `line ${r.line}`, knownModel);
    for (const p of checked.problems) {
      const m = /^line \d+\.(.+)$/.exec(p.where);
      problems.push({ line: r.line, column: m?.[1] ?? undefined, message: p.message });
    }
    if (!checked.device) continue;
    const prev = seen.get(checked.device.dev_eui);
    if (prev !== undefined) problems.push({ line: r.line, column: 'dev_eui', message: `DevEUI ${checked.device.dev_eui} is also on line ${prev}` });
    seen.set(checked.device.dev_eui, r.line);
    rows.push({ ...(row as BatchRow), device: checked.device });
  }
  return { rows: problems.length ? [] : rows, problems };
}

export function formatProblem(p: BatchProblem): string {
  return `line ${p.line}${p.column ? `, column ${p.column}` : ''}: ${p.message}`;
}
