/**
 * The Milesight AM300 air-quality family (AM307, AM319 HCHO/O3 variants; AM308 is the same
 * without HCHO), fPort 85, Milesight records (./channels.ts). One table decodes them all, as the
 * vendor's and TTN's decoders do (TTN's am307.js and am319.js are one decoder under two names,
 * differing only in two key names: see `AmProfile`):
 *
 *   01 75  battery      u8 %                 08 E6  tvoc_ugm3    u16 µg/m³
 *   03 67  temperature  i16 / 10 °C          09 73  pressure     u16 / 10 hPa
 *   04 68  humidity     u8 / 2 %             0A 7D  hcho         u16 / 100 mg/m³
 *   05 00  activity     u8: 0 idle, 1 trigger (PIR; Milesight: `pir`)
 *   06 CB  light_level  u8 (0..5)            0B 7D  pm2_5        u16 µg/m³
 *   07 7D  co2          u16 ppm              0C 7D  pm10         u16 µg/m³
 *   08 7D  tvoc         u16 / 100 (IAQ)      0D 7D  o3           u16 / 100 ppm (O3 variant)
 *   0E 01  buzzer_status u8: 0 off, 1 on
 *   20 CE  history (TVOC as IAQ), 21 CE history (TVOC in µg/m³), 22 bytes each: time u32,
 *          temperature i16/10, humidity u16/2, pir u8, light_level u8, co2 u16, tvoc u16,
 *          pressure u16/10, pm2_5 u16, pm10 u16, hcho (O3 variant: o3) u16/100
 *
 * `data` is what TTN's codec returns (`activity`, `pm2.5`, `tvoc` raw, `beep` "yes"/"no"); the
 * device variable `naming: milesight` gives Milesight's current decoder's instead (`pir`,
 * `pm2_5`, `tvoc` as the IAQ index raw / 100, `buzzer_status` "on"/"off"). The normalized
 * readings are the same either way (`tvoc_iaq` is always the index, raw / 100).
 */
import type { Codec, JsonObject, Reading, ReadingValue, UplinkEncodeInput } from '../api.ts';
import { ByteWriter, PayloadError, type ByteReader } from '../bytes.ts';
import { defineCodec, numberValue } from '../define.ts';
import {
  BATTERY_RECORD,
  HUMIDITY_RECORD,
  TEMPERATURE_RECORD,
  DEVICE_INFO_RECORDS,
  MILESIGHT_FPORT,
  PLAUSIBLE_EPOCH_S,
  REBOOT,
  REPORT_INTERVAL,
  action,
  decodeCommands,
  decodeRecords,
  encodeCommands,
  namingOf,
  recordsResult,
  enumText,
  flagCommand,
  isoTime,
  numberField,
  objectList,
  quantize,
  stringField,
  timeZoneCommand,
  type Command,
  type Naming,
  type RecordContext,
  type RecordSpec,
} from './channels.ts';

/** What differs between the family's devices: identity and TTN's key names. */
export interface AmProfile {
  id: string;
  name: string;
  /** Model for messages ("AM319"). */
  model: string;
  /** TTN's key of record 05 00: am319.js says `activity`, am307.js `pir`. */
  ttnPirKey: 'activity' | 'pir';
  /** TTN's key of record 0B 7D: am319.js says `pm2.5`, am307.js `pm2_5`. */
  ttnPm25Key: 'pm2.5' | 'pm2_5';
  /**
   * Readings the device measures (the device side sends only these); undefined = all of the
   * family's. The decoder reads every record of the family, as TTN's does.
   */
  readings?: readonly string[];
  /**
   * Whether the device's history records are the AM319's 22-byte `20 CE`/`21 CE` layout. Other
   * devices' history layouts are not decoded (an unknown record: an error, never a misreading).
   */
  am319History: boolean;
}

const PIR: Record<number, string> = { 0: 'idle', 1: 'trigger' };
const BUZZER: Record<number, string> = { 0: 'off', 1: 'on' };

export const COMMANDS: readonly Command[] = [
  REBOOT,
  REPORT_INTERVAL,
  timeZoneCommand(),
  flagCommand('history_enable', [0xff, 0x68]),
  action('clear_history', [0xff, 0x27], [0x01]),
];

function pirKey(ctx: RecordContext, p: AmProfile): string {
  return ctx.naming === 'milesight' ? 'pir' : p.ttnPirKey;
}

function pm25Key(ctx: RecordContext, p: AmProfile): string {
  return ctx.naming === 'milesight' ? 'pm2_5' : p.ttnPm25Key;
}

/** Record 08 7D holds the IAQ index × 100: TTN's codec gives it raw, Milesight's divided. */
function tvocValue(raw: number, ctx: RecordContext): number {
  return ctx.naming === 'milesight' ? raw / 100 : raw;
}

/** Record 0E 01: TTN's `beep` "yes"/"no", Milesight's `buzzer_status` "on"/"off". */
function readBuzzer(r: ByteReader, ctx: RecordContext): void {
  const v = r.u8('buzzer');
  if (ctx.naming === 'milesight') ctx.set('buzzer_status', enumText(BUZZER, v, 'buzzer_status', ctx));
  else ctx.set('beep', v === 1 ? 'yes' : 'no');
}

/** Device variable sensor_variant: "o3" makes the last history field ozone instead of HCHO. */
function isO3(variables: Readonly<Record<string, unknown>>): boolean {
  return variables['sensor_variant'] === 'o3';
}

/** A u16 record with a scale divisor. */
function u16Record(channel: number, type: number, key: string, divisor = 1): RecordSpec {
  return { channel, type, name: key, read: (r, ctx) => ctx.set(key, r.u16le(key) / divisor) };
}

function history(r: ByteReader, ctx: RecordContext, p: AmProfile, tvocKey: 'tvoc' | 'tvoc_ugm3'): void {
  const entry: JsonObject = { timestamp: r.u32le('timestamp') };
  entry['temperature'] = r.i16le('temperature') / 10;
  entry['humidity'] = r.u16le('humidity') / 2;
  entry[pirKey(ctx, p)] = enumText(PIR, r.u8('pir'), 'history pir', ctx);
  entry['light_level'] = r.u8('light_level');
  entry['co2'] = r.u16le('co2');
  const tvoc = r.u16le('tvoc');
  entry[tvocKey] = tvocKey === 'tvoc' ? tvocValue(tvoc, ctx) : tvoc;
  entry['pressure'] = r.u16le('pressure') / 10;
  entry[pm25Key(ctx, p)] = r.u16le('pm2_5');
  entry['pm10'] = r.u16le('pm10');
  entry[isO3(ctx.variables) ? 'o3' : 'hcho'] = r.u16le('hcho / o3') / 100;
  ctx.push('history', entry);
}

/** The family's record table with the profile's TTN key names (built once per device). */
function recordTable(p: AmProfile): readonly RecordSpec[] {
  return [
  ...DEVICE_INFO_RECORDS,
  BATTERY_RECORD,
  TEMPERATURE_RECORD,
  HUMIDITY_RECORD,
  { channel: 0x05, type: 0x00, name: 'pir', read: (r, ctx) => ctx.set(pirKey(ctx, p), enumText(PIR, r.u8('pir'), 'pir', ctx)) },
  { channel: 0x06, type: 0xcb, name: 'light_level', read: (r, ctx) => ctx.set('light_level', r.u8('light_level')) },
  u16Record(0x07, 0x7d, 'co2'),
  { channel: 0x08, type: 0x7d, name: 'tvoc', read: (r, ctx) => ctx.set('tvoc', tvocValue(r.u16le('tvoc'), ctx)) },
  u16Record(0x08, 0xe6, 'tvoc_ugm3'),
  u16Record(0x09, 0x73, 'pressure', 10),
  u16Record(0x0a, 0x7d, 'hcho', 100),
  { channel: 0x0b, type: 0x7d, name: 'pm2_5', read: (r, ctx) => ctx.set(pm25Key(ctx, p), r.u16le('pm2_5')) },
  u16Record(0x0c, 0x7d, 'pm10'),
  u16Record(0x0d, 0x7d, 'o3', 100),
  { channel: 0x0e, type: 0x01, name: 'buzzer', read: readBuzzer },
  ...(p.am319History
    ? [
        { channel: 0x20, type: 0xce, name: 'history', read: (r: ByteReader, ctx: RecordContext) => history(r, ctx, p, 'tvoc') },
        { channel: 0x21, type: 0xce, name: 'history (TVOC µg/m³)', read: (r: ByteReader, ctx: RecordContext) => history(r, ctx, p, 'tvoc_ugm3') },
      ]
    : []),
  ];
}

/** data field → normalized reading, for the plain numeric fields. */
const NUMERIC: readonly [string, string][] = [
  ['temperature', 'temperature_c'],
  ['humidity', 'humidity_pct'],
  ['light_level', 'light_level'],
  ['co2', 'co2_ppm'],
  ['tvoc_ugm3', 'tvoc_ugm3'],
  ['pressure', 'pressure_hpa'],
  ['hcho', 'hcho_mgm3'],
  ['o3', 'o3_ppm'],
  ['pm2_5', 'pm2_5_ugm3'],
  ['pm2.5', 'pm2_5_ugm3'], // TTN's key on the AM319
  ['pm10', 'pm10_ugm3'],
  ['battery', 'battery_pct'],
];

/**
 * The normalized values of a report or history entry. `tvoc` (record 08 7D) is the IAQ index:
 * TTN's naming keeps the raw × 100 value, Milesight's the index itself.
 */
function normalizeValues(d: JsonObject, naming: Naming): Record<string, ReadingValue> {
  const values: Record<string, ReadingValue> = {};
  for (const [field, reading] of NUMERIC) {
    const v = numberField(d, field);
    if (v !== undefined) values[reading] = v;
  }
  const tvoc = numberField(d, 'tvoc');
  if (tvoc !== undefined) values['tvoc_iaq'] = naming === 'milesight' ? tvoc : tvoc / 100;
  const pir = stringField(d, 'activity') ?? stringField(d, 'pir');
  if (pir === 'trigger' || pir === 'idle') values['occupied'] = pir === 'trigger';
  return values;
}

// ---- encoding (device side) ----------------------------------------------------------------------

type RawSize = 'u8' | 'u16' | 'i16' | 'bool';

/** Record layout of the periodic report, in the device's order: reading → record and step. */
const REPORT: readonly { reading: string; channel: number; type: number; step: number; size: RawSize }[] = [
  { reading: 'battery_pct', channel: 0x01, type: 0x75, step: 1, size: 'u8' },
  { reading: 'temperature_c', channel: 0x03, type: 0x67, step: 0.1, size: 'i16' },
  { reading: 'humidity_pct', channel: 0x04, type: 0x68, step: 0.5, size: 'u8' },
  { reading: 'occupied', channel: 0x05, type: 0x00, step: 1, size: 'bool' },
  { reading: 'light_level', channel: 0x06, type: 0xcb, step: 1, size: 'u8' },
  { reading: 'co2_ppm', channel: 0x07, type: 0x7d, step: 1, size: 'u16' },
  { reading: 'tvoc_iaq', channel: 0x08, type: 0x7d, step: 0.01, size: 'u16' },
  { reading: 'tvoc_ugm3', channel: 0x08, type: 0xe6, step: 1, size: 'u16' },
  { reading: 'pressure_hpa', channel: 0x09, type: 0x73, step: 0.1, size: 'u16' },
  { reading: 'hcho_mgm3', channel: 0x0a, type: 0x7d, step: 0.01, size: 'u16' },
  { reading: 'pm2_5_ugm3', channel: 0x0b, type: 0x7d, step: 1, size: 'u16' },
  { reading: 'pm10_ugm3', channel: 0x0c, type: 0x7d, step: 1, size: 'u16' },
  { reading: 'o3_ppm', channel: 0x0d, type: 0x7d, step: 0.01, size: 'u16' },
];

function writeValue(w: ByteWriter, values: Record<string, unknown>, reading: string, size: RawSize, step: number): void {
  if (size === 'bool') {
    if (typeof values[reading] !== 'boolean') throw new PayloadError(`encodeUplink: reading ${reading} must be a boolean`);
    w.u8(values[reading] ? 1 : 0);
    return;
  }
  const raw = quantize(numberValue(values, reading), step);
  if (size === 'u8') w.u8(raw, reading);
  else if (size === 'u16') w.u16le(raw, reading);
  else w.i16le(raw, reading);
}

/** What a 22-byte history record always carries (besides time, TVOC and HCHO/O3). */
const HISTORY_FIELDS = ['temperature_c', 'humidity_pct', 'occupied', 'light_level', 'co2_ppm', 'pressure_hpa', 'pm2_5_ugm3', 'pm10_ugm3'];

/** Writes a history record (20 CE, or 21 CE with tvoc_ugm3); false when the reading lacks a field. */
function writeHistory(w: ByteWriter, reading: Reading): boolean {
  const v = reading.values;
  const ms = reading.time === undefined ? NaN : Date.parse(reading.time);
  const ugm3 = v['tvoc_ugm3'] !== undefined;
  const gas = v['o3_ppm'] !== undefined ? 'o3_ppm' : 'hcho_mgm3';
  const complete = HISTORY_FIELDS.every((f) => v[f] !== undefined) && (ugm3 || v['tvoc_iaq'] !== undefined) && v[gas] !== undefined;
  if (!Number.isFinite(ms) || !complete) return false;
  w.u8(ugm3 ? 0x21 : 0x20).u8(0xce).u32le(Math.round(ms / 1000), 'time');
  writeValue(w, v, 'temperature_c', 'i16', 0.1);
  writeValue(w, v, 'humidity_pct', 'u16', 0.5);
  writeValue(w, v, 'occupied', 'bool', 1);
  writeValue(w, v, 'light_level', 'u8', 1);
  writeValue(w, v, 'co2_ppm', 'u16', 1);
  writeValue(w, v, ugm3 ? 'tvoc_ugm3' : 'tvoc_iaq', 'u16', ugm3 ? 1 : 0.01);
  writeValue(w, v, 'pressure_hpa', 'u16', 0.1);
  writeValue(w, v, 'pm2_5_ugm3', 'u16', 1);
  writeValue(w, v, 'pm10_ugm3', 'u16', 1);
  writeValue(w, v, gas, 'u16', 0.01);
  return true;
}

/**
 * Device side: the latest (last) reading is the periodic report, a record for each value given,
 * in the device's order — no defaults: a record the device cannot fill (no sensor) is left out,
 * as the device does; readings the AM319 has no record for (pm1_ugm3, tvoc_ppb…) are ignored.
 * Earlier readings holding a whole record (time and every value; o3_ppm instead of hcho_mgm3 for
 * the O3 variant, tvoc_ugm3 instead of tvoc_iaq selects 21 CE) become history records; others
 * are skipped with one warning.
 */
function encodeFrame(input: UplinkEncodeInput, p: AmProfile): { bytes: number[]; warnings: string[] } {
  const readings = input?.readings;
  const last = Array.isArray(readings) ? readings[readings.length - 1] : undefined;
  if (!last?.values || typeof last.values !== 'object') throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const w = new ByteWriter();
  for (const f of REPORT) {
    if (last.values[f.reading] === undefined || (p.readings && !p.readings.includes(f.reading))) continue;
    w.u8(f.channel).u8(f.type);
    writeValue(w, last.values, f.reading, f.size, f.step);
  }
  const warnings: string[] = [];
  const earlier = readings.slice(0, -1);
  const skipped = p.am319History ? earlier.filter((r) => !writeHistory(w, r)).length : earlier.length;
  if (skipped) {
    warnings.push(
      p.am319History
        ? `${skipped} earlier reading(s) not sent: a history record needs time and every value of the record`
        : `${skipped} earlier reading(s) not sent: ${p.model} history records are not implemented`,
    );
  }
  if (w.length === 0) throw new PayloadError(`encodeUplink: no ${p.model} reading given (co2_ppm, temperature_c, tvoc_iaq, …)`);
  return { bytes: w.toArray(), warnings };
}

/** A codec of the family for one device. */
export function amAirCodec(p: AmProfile): Codec {
  const records = recordTable(p);
  return defineCodec({
  id: p.id,
  name: p.name,
  category: 'air-quality',
  fPorts: [MILESIGHT_FPORT],

  decodeUplink({ bytes, fPort, variables }) {
    if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (${p.model} uplinks use ${MILESIGHT_FPORT})`] };
    return recordsResult(decodeRecords(bytes, records, { variables, commands: COMMANDS }));
  },

  /** History entries first (one timed reading each, in frame order), then the current values. */
  normalizeUplink(data, { variables }) {
    const warnings: string[] = [];
    const naming = namingOf(variables ?? {}, warnings);
    const readings: Reading[] = [];
    for (const entry of objectList(data, 'history')) {
      const ts = numberField(entry, 'timestamp');
      if (ts === undefined) continue;
      if (ts < PLAUSIBLE_EPOCH_S && !warnings.length) warnings.push(`history timestamp ${ts} is before 2015: device clock not set?`);
      const values = normalizeValues(entry, naming);
      if (Object.keys(values).length) readings.push({ time: isoTime(ts), values });
    }
    const current = normalizeValues(data, naming);
    if (Object.keys(current).length) readings.push({ values: current });
    return warnings.length ? { readings, warnings } : { readings };
  },

  encodeUplink(input) {
    const { bytes, warnings } = encodeFrame(input, p);
    return warnings.length ? { bytes, fPort: MILESIGHT_FPORT, warnings } : { bytes, fPort: MILESIGHT_FPORT };
  },

  encodeDownlink({ data }) {
    return { bytes: encodeCommands(data, COMMANDS), fPort: MILESIGHT_FPORT };
  },

  decodeDownlink({ bytes, fPort }) {
    if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (${p.model} downlinks use ${MILESIGHT_FPORT})`] };
    return { data: decodeCommands(bytes, COMMANDS) };
  },
});
}
