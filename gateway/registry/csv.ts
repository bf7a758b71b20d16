/**
 * `lorawan-edge devices import <csv>`: a spreadsheet export of installed devices.
 *
 *   dev_eui,name,model,tag:commune,tag:site,var:container_depth_mm,var:sensor_offset_mm
 *   A8-40-41-00-01-81-C9-E2,bin-centre-1,dingtek/df703,centre,town-hall,1200,50
 *
 * Columns `dev_eui`, `name`, `model` are required; `tag:<key>` and `var:<key>` (also written
 * `tags.<key>` / `variables.<key>`) add tags and variables; an empty cell leaves it unset.
 * Numbers in variable cells become numbers. Problems name the line and the column.
 */
import { checkDevice, type RegisteredDevice, type RegistryProblem } from './devices-file.ts';

/** RFC 4180 CSV: quoted fields with "" escapes, CRLF or LF line ends. Returns rows with their line numbers. */
export function parseCsv(text: string): { rows: { line: number; cells: string[] }[]; error?: string } {
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
    else if (c === ',') {
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

function typed(v: string): unknown {
  const t = v.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (t === 'true' || t === 'false') return t === 'true';
  return t;
}

export function devicesFromCsv(text: string, knownModel: (id: string) => boolean): { devices: RegisteredDevice[]; problems: RegistryProblem[] } {
  const { rows, error } = parseCsv(text);
  if (error) return { devices: [], problems: [{ where: 'csv', message: error }] };
  const header = rows[0];
  if (!header) return { devices: [], problems: [{ where: 'csv', message: 'the file is empty' }] };
  const problems: RegistryProblem[] = [];
  const cols = header.cells.map((h) => h.trim());
  for (const required of ['dev_eui', 'name', 'model']) {
    if (!cols.includes(required)) problems.push({ where: `line ${header.line}`, message: `missing column "${required}"` });
  }
  cols.forEach((c, i) => {
    if (!/^(dev_eui|name|model|(tag|var):.+|(tags|variables)\..+)$/.test(c)) problems.push({ where: `line ${header.line}, column ${i + 1}`, message: `unknown column "${c}" (expected dev_eui, name, model, tag:<key>, var:<key>)` });
  });
  if (problems.length) return { devices: [], problems };
  const devices: RegisteredDevice[] = [];
  for (const row of rows.slice(1)) {
    if (row.cells.length !== cols.length) {
      problems.push({ where: `line ${row.line}`, message: `has ${row.cells.length} cells, the header has ${cols.length}` });
      continue;
    }
    const raw: Record<string, unknown> = { tags: {}, variables: {} };
    cols.forEach((c, i) => {
      const v = (row.cells[i] as string).trim();
      const m = /^(tag|var|tags|variables)[:.](.+)$/.exec(c);
      if (!m) raw[c] = v;
      else if (v !== '') {
        if (m[1] === 'tag' || m[1] === 'tags') (raw['tags'] as Record<string, unknown>)[m[2] as string] = v;
        else (raw['variables'] as Record<string, unknown>)[m[2] as string] = typed(v);
      }
    });
    // Problems are reported as "line N, column X" instead of a YAML path.
    const r = checkDevice(raw, `line ${row.line}`, knownModel);
    problems.push(...r.problems.map((p) => ({ where: p.where.replace(/^(line \d+)\.(.+)$/, '$1, column $2'), message: p.message })));
    if (r.device) devices.push(r.device);
  }
  const seen = new Map<string, number>();
  devices.forEach((d) => {
    seen.set(d.dev_eui, (seen.get(d.dev_eui) ?? 0) + 1);
  });
  for (const [eui, n] of seen) if (n > 1) problems.push({ where: 'csv', message: `DevEUI ${eui} appears ${n} times` });
  return { devices, problems };
}
