/**
 * `lorawan-edge devices import <csv>`: a spreadsheet export of installed devices.
 *
 *   dev_eui,name,model,tag:commune,tag:site,var:container_depth_mm,var:sensor_offset_mm
 *   A8-40-41-00-01-81-C9-E2,bin-centre-1,dingtek/df703,centre,town-hall,1200,50
 *
 * Columns `dev_eui`, `name`, `model` are required; `tag:<key>` and `var:<key>` (also written
 * `tags.<key>` / `variables.<key>`) add tags and variables; an empty cell leaves it unset.
 * Header names are matched without regard to case (`DevEUI` is not `dev_eui`, but `DEV_EUI` is);
 * the separator is `,` or `;` (what spreadsheets write where `,` is the decimal mark), taken from
 * the header line. Numbers in variable cells become numbers, checked against the model's declared
 * variables. Every problem of the file is reported in one pass as `line N, column c: …`.
 */
import { checkDevice, type KnownModels, type RegisteredDevice, type RegistryProblem } from './devices-file.ts';

/** A CSV file larger than this is refused (a registry of ~20,000 devices is ~2 MB). */
export const CSV_MAX_BYTES = 16 * 1024 * 1024;

/** `,` unless the header line (outside quotes) has more `;` than `,`. */
export function detectSeparator(text: string): ',' | ';' {
  let commas = 0;
  let semis = 0;
  let quoted = false;
  for (let i = 0; i < text.length && i < 64 * 1024; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && c === ',') commas++;
    else if (!quoted && c === ';') semis++;
  }
  return semis > commas ? ';' : ',';
}

/** RFC 4180 CSV: quoted fields with "" escapes, CRLF or LF line ends. Returns rows with their line numbers. */
export function parseCsv(text: string, separator: ',' | ';' = ','): { rows: { line: number; cells: string[] }[]; error?: string } {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const src = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === separator) {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.some((x) => x.trim() !== '')) rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += c;
  }
  if (quoted) return { rows, error: `line ${rowLine}: unterminated quoted field` };
  cells.push(cell);
  if (cells.some((x) => x.trim() !== '')) rows.push({ line: rowLine, cells });
  return { rows };
}

function typed(v: string, separator: ',' | ';'): unknown {
  let t = v.trim();
  // Where `;` separates cells, `,` is the decimal mark: `0,5` is 0.5.
  if (separator === ';' && /^-?\d+,\d+$/.test(t)) t = t.replace(',', '.');
  // `1e999` becomes Infinity here and is refused by the variable check, like `abc` for a number.
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
}

/** The canonical column name (`dev_eui`, `tag:commune`, `var:container_depth_mm`) or undefined. */
function columnOf(header: string): { field: 'dev_eui' | 'name' | 'model' } | { kind: 'tags' | 'variables'; key: string } | undefined {
  const h = header.trim();
  const lower = h.toLowerCase();
  if (lower === 'dev_eui' || lower === 'name' || lower === 'model') return { field: lower };
  const m = /^(tag|var|tags|variables)[:.](.+)$/i.exec(h);
  if (!m) return undefined;
  const prefix = (m[1] as string).toLowerCase();
  return { kind: prefix === 'tag' || prefix === 'tags' ? 'tags' : 'variables', key: (m[2] as string).trim() };
}

export interface CsvDevices {
  devices: RegisteredDevice[];
  /** the CSV line of each device, parallel to `devices` (for problems found later, e.g. merging) */
  lines: number[];
  problems: RegistryProblem[];
}

export function devicesFromCsv(text: string, knownModel: KnownModels): CsvDevices {
  if (Buffer.byteLength(text, 'utf8') > CSV_MAX_BYTES) return { devices: [], lines: [], problems: [{ where: 'csv', message: `the file is larger than ${CSV_MAX_BYTES} bytes` }] };
  const separator = detectSeparator(text.replace(/^\uFEFF/, ''));
  const { rows, error } = parseCsv(text, separator);
  if (error) return { devices: [], lines: [], problems: [{ where: 'csv', message: error }] };
  const header = rows[0];
  if (!header) return { devices: [], lines: [], problems: [{ where: 'csv', message: 'the file is empty' }] };
  const problems: RegistryProblem[] = [];
  const cols = header.cells.map((h) => columnOf(h));
  const names = header.cells.map((h) => h.trim());
  for (const required of ['dev_eui', 'name', 'model']) {
    if (!cols.some((c) => c && 'field' in c && c.field === required)) problems.push({ where: `line ${header.line}`, message: `missing column "${required}"` });
  }
  cols.forEach((c, i) => {
    if (!c) problems.push({ where: `line ${header.line}, column ${i + 1}`, message: `unknown column "${names[i]}" (expected dev_eui, name, model, tag:<key>, var:<key>)` });
  });
  // A device problem's field → the header the user wrote, for `line N, column <header>`.
  const headerOf = new Map<string, string>();
  cols.forEach((c, i) => {
    if (c) headerOf.set('field' in c ? c.field : `${c.kind}.${c.key}`, names[i] as string);
  });
  const devices: RegisteredDevice[] = [];
  const lines: number[] = [];
  // Rows are checked even when the header has problems, so one run reports everything.
  for (const row of rows.slice(1)) {
    if (row.cells.length !== cols.length) {
      problems.push({ where: `line ${row.line}`, message: `has ${row.cells.length} cells, the header has ${cols.length}` });
      continue;
    }
    const raw: Record<string, unknown> = { tags: {}, variables: {} };
    cols.forEach((c, i) => {
      if (!c) return;
      const v = (row.cells[i] as string).trim();
      if ('field' in c) raw[c.field] = v;
      else if (v !== '') (raw[c.kind] as Record<string, unknown>)[c.key] = c.kind === 'variables' ? typed(v, separator) : v;
    });
    const r = checkDevice(raw, `line ${row.line}`, knownModel);
    for (const p of r.problems) {
      const m = /^(line \d+)\.(.+)$/.exec(p.where);
      problems.push({ where: m ? `${m[1] as string}, column ${headerOf.get(m[2] as string) ?? m[2]}` : p.where, message: p.message });
    }
    if (r.device) {
      devices.push(r.device);
      lines.push(row.line);
    }
  }
  const seen = new Map<string, number>();
  devices.forEach((d, i) => {
    const first = seen.get(d.dev_eui);
    if (first !== undefined) problems.push({ where: `line ${lines[i] as number}, column ${headerOf.get('dev_eui') ?? 'dev_eui'}`, message: `DevEUI ${d.dev_eui} is also on line ${first}` });
    else seen.set(d.dev_eui, lines[i] as number);
  });
  return { devices, lines, problems };
}
