/**
 * The demo's closing summary, the same whichever sink it wrote to: the latest reading of a few
 * devices per category and the bins to collect. The rows come from InfluxDB queries or from the
 * file sink's line-protocol files (parsed here), so `--no-influxdb` shows the same picture.
 */
import type { CollectionList } from '../gateway/analytics/collection-list.ts';

/** The latest point of one device in one measurement. */
export interface LatestPoint {
  measurement: string;
  device: string;
  tags: Record<string, string>;
  fields: Record<string, unknown>;
  timeMs: number;
}

/** Splits at `sep` outside quotes and backslash escapes (line protocol's rules). */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      cur += ch + (text[i + 1] as string);
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
      cur += ch;
    } else if (ch === sep && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

function fieldValue(raw: string): unknown {
  if (raw.startsWith('"')) return unescape(raw.slice(1, -1));
  if (/^-?\d+[iu]$/.test(raw)) return Number(raw.slice(0, -1));
  if (/^(t|true|T|True|TRUE)$/.test(raw)) return true;
  if (/^(f|false|F|False|FALSE)$/.test(raw)) return false;
  return Number(raw);
}

/** One InfluxDB line-protocol line (ms precision, as the file sink writes) or undefined. */
export function parseLineProtocol(line: string): LatestPoint | undefined {
  const sections = splitUnescaped(line.trim(), ' ');
  if (sections.length < 2 || sections[0] === '' || line.startsWith('#')) return undefined;
  const [series = '', fieldText = '', time] = sections;
  const [measurement = '', ...tagParts] = splitUnescaped(series, ',');
  const tags: Record<string, string> = {};
  for (const t of tagParts) {
    const [k = '', v = ''] = splitUnescaped(t, '=');
    tags[unescape(k)] = unescape(v);
  }
  const fields: Record<string, unknown> = {};
  for (const f of splitUnescaped(fieldText, ',')) {
    const eq = splitUnescaped(f, '=');
    if (eq.length < 2) return undefined;
    fields[unescape(eq[0] as string)] = fieldValue(eq.slice(1).join('='));
  }
  return { measurement: unescape(measurement), device: tags['device'] ?? tags['dev_eui'] ?? '', tags, fields, timeMs: time === undefined ? 0 : Number(time) };
}

/** The newest point per (measurement, device) of a set of line-protocol lines. */
export function latestFromLines(lines: Iterable<string>): LatestPoint[] {
  const latest = new Map<string, LatestPoint>();
  for (const line of lines) {
    const p = parseLineProtocol(line);
    if (!p) continue;
    const key = `${p.measurement}\u0000${p.device}`;
    const prev = latest.get(key);
    // Fields of one uplink may arrive as several points with the same time: merge them.
    if (prev && prev.timeMs === p.timeMs) Object.assign(prev.fields, p.fields);
    else if (!prev || p.timeMs > prev.timeMs) latest.set(key, p);
  }
  return [...latest.values()];
}

/** What the summary shows per category. */
export const EXAMPLE_FIELDS: Record<string, string[]> = {
  bin_fill: ['fill_pct', 'distance_mm', 'temperature_c', 'alarm_full'],
  water_meter: ['volume_m3', 'flow_m3h', 'alarm_leak'],
  air_quality: ['co2_ppm', 'pm2_5_ugm3', 'pm10_ugm3', 'temperature_c', 'humidity_pct'],
};

function fmtValues(values: Record<string, unknown>, keys: string[]): string {
  return keys
    .filter((k) => values[k] !== undefined && values[k] !== null)
    .map((k) => `${k}=${String(values[k])}`)
    .join(' ');
}

/** The width of a text column: its longest entry, in code points (é and 😀 count one each). */
function columnWidth(entries: readonly string[]): number {
  let width = 0;
  for (const e of entries) width = Math.max(width, [...e].length);
  return width;
}

/** `text` padded to `width` code points (String.padEnd counts UTF-16 units, 😀 as two). */
const padTo = (text: string, width: number): string => text + ' '.repeat(Math.max(0, width - [...text].length));

/**
 * The "Example readings" and "Bins to collect" blocks, one string per line. The bins to collect
 * are the collection list of the next round (gateway/analytics/collection-list.ts over the local
 * store, as `lorawan-edge collect` and the planner page compute it), not a threshold of our own.
 */
export function summaryLines(points: readonly LatestPoint[], source: string, list?: { date: string; list: CollectionList }): string[] {
  const out = [`Example readings (latest per device, from ${source}):`];
  const blocks = Object.entries(EXAMPLE_FIELDS).map(([measurement, fields]) => ({
    fields,
    rows: points.filter((p) => p.measurement === measurement).sort((a, b) => a.device.localeCompare(b.device)).slice(0, 3),
  }));
  const deviceWidth = columnWidth(blocks.flatMap((b) => b.rows.map((r) => r.device)));
  for (const { fields, rows } of blocks) for (const r of rows) out.push(`    ${padTo(r.device, deviceWidth)} ${fmtValues(r.fields, fields)}`);
  if (!list) return out;
  const l = list.list;
  out.push('', `Bins to collect at the round of ${list.date} (full, or passing ${l.thresholdPct} % before the next round): ${l.total === 0 ? 'none' : l.total}`);
  // Columns as wide as their longest entry: commune names run from "Ille" to
  // "Saint-Laurent-de-la-Salanque", and a fixed width misaligned every row after a long one.
  const nameWidth = columnWidth(l.groups.flatMap((g) => g.bins.map((b) => b.name)));
  const keyWidth = columnWidth(l.groups.map((g) => g.key));
  for (const g of l.groups) {
    for (const b of g.bins) out.push(`    ${padTo(b.name, nameWidth)} ${padTo(g.key, keyWidth)} ${(b.fillPct ?? 0).toFixed(1).padStart(5)} % now, ${(b.expectedFillPct ?? 0).toFixed(1).padStart(5)} % at the round`);
  }
  if (l.check.length) out.push(`  and ${l.check.length} bin(s) to check (offline or a faulty sensor)`);
  if (l.skipped.length) out.push(`  skipped collections: ${l.skipped.length}`);
  return out;
}

function fmtDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
}

/**
 * `simulated 6 h 0 min / 2 d 0 h (12 %), ETA 7 s, 1234 uplinks`: simulated time done out of
 * the total, and the real time left at the pace so far.
 */
export function progressText(simDoneMs: number, simTotalMs: number, realElapsedMs: number, uplinks: number): string {
  const done = Math.min(Math.max(simDoneMs, 0), simTotalMs);
  const fraction = simTotalMs > 0 ? done / simTotalMs : 1;
  const eta = fraction > 0 && fraction < 1 ? `ETA ${fmtDuration((realElapsedMs / fraction) * (1 - fraction))}` : fraction >= 1 ? 'done' : 'ETA …';
  return `simulated ${fmtDuration(done)} / ${fmtDuration(simTotalMs)} (${Math.floor(fraction * 100)} %), ${eta}, ${uplinks} uplinks`;
}
