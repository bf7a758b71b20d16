/**
 * Kamstrup flowIQ 2200 water meter: an OMS / wireless M-Bus application layer (EN 13757-3) in
 * the LoRaWAN FRMPayload, parsed record by record by `mbus.ts`.
 *
 * `data` keeps the shape of the TTN reference codec (`mbusparser`): `{values: [{Type, Value,
 * Unit, Timestamp}], latestVolume?}`, one entry per value in record order, a compact profile
 * expanded in place into one entry per history value. `Timestamp` is the meter's wall clock of
 * the record's storage number (from the date/time record with the same storage number), printed
 * without a zone as the meter gives none; `normalizeUplink` applies the zone from the device
 * variable `meter_timezone` (default UTC). Invalid values are `Value: null, Unit: "Invalid"`
 * plus the warning "Invalid value among data".
 *
 * Kamstrup's manufacturer-specific VIFs (0xFF + VIFE): 0x25 info codes (flags), 0x1C ALD
 * (acoustic leak detection) last day, 0x16 module type / config number.
 */
import type { DecodeResult, JsonObject, NormalizeResult, Reading, ReadingValue, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { ByteWriter, PayloadError, round, toHex } from '../../bytes.ts';
import { booleanValue, defineCodec, numberValue } from '../../define.ts';
import type { ReadingName } from '../../readings.ts';
import {
  bcdValue,
  encodeTypeF,
  expandProfile,
  formatLocalTime,
  isStorageTime,
  meterTimeToUtc,
  modifiers,
  parseTelegram,
  rawNumber,
  recordQuantity,
  recordTime,
  scale,
  unsignedLE,
  utcToMeterTime,
  type DataRecord,
  type LocalTime,
  type Modifiers,
} from './mbus.ts';

const INVALID = 'Invalid value among data';
export const MISSING_BASE = 'Invalid uplink payload: Could not find base value for profile data';
export const MISSING_BASE_TIME = 'Invalid uplink payload: Could not find base time for profile data';

/** Kamstrup info code bits 0..7 (VIF 0xFF, VIFE 0x25). */
export const INFO_CODE_FLAGS = [
  'Dry',
  'Reverse',
  'Leak',
  'Burst',
  'Tamper',
  'Low Battery',
  'Low Ambient Temperature',
  'High Ambient Temperature',
] as const;

const ALD_INVALID = 0xfff;

type Value = { Type: string; Value: number | boolean | string | null; Unit: string; Timestamp: string | null };

const PREFIX: Record<DataRecord['func'], string> = { instantaneous: '', maximum: 'Max ', minimum: 'Min ', error: 'Value during error ' };

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** "Min Volume flow", "Volume (reverse, tariff 1)": function prefix, quantity, qualifiers. */
function typeName(base: string, rec: DataRecord, mods: Modifiers): string {
  const extras = [...mods.qualifiers, ...mods.unknown.map((e) => `VIFE 0x${hex2(e)}`)];
  if (rec.manufacturerExtension) extras.push('manufacturer extension');
  if (rec.tariff) extras.push(`tariff ${rec.tariff}`);
  if (rec.subunit) extras.push(`subunit ${rec.subunit}`);
  return `${PREFIX[rec.func]}${base}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** An integer record value without the invalid-marker rule (bit fields, identifiers). */
function integerOf(rec: DataRecord): number | undefined {
  if (rec.coding.kind === 'int') return unsignedLE(rec.data);
  if (rec.coding.kind === 'bcd') {
    const v = bcdValue(rec.data);
    return v.ok ? v.value : undefined;
  }
  return undefined;
}

function invalid(type: string, timestamp: string | null, warnings: string[]): Value {
  warnings.push(INVALID);
  return { Type: type, Value: null, Unit: 'Invalid', Timestamp: timestamp };
}

function kamstrupValues(rec: DataRecord, ts: string | null, warnings: string[]): Value[] {
  const raw = integerOf(rec);
  if (rec.code === 0x25 && raw !== undefined) {
    if (raw > 0xff) warnings.push(`info code bits 0x${(raw & ~0xff).toString(16)} in the record at offset ${rec.offset} are not known`);
    return INFO_CODE_FLAGS.map((name, bit) => ({ Type: name, Value: ((raw >> bit) & 1) === 1, Unit: 'NA', Timestamp: ts }));
  }
  const mods = modifiers(rec);
  if (rec.code === 0x1c && raw !== undefined) {
    const type = typeName('ALD last day', rec, mods);
    return [raw === ALD_INVALID ? invalid(type, ts, warnings) : { Type: type, Value: raw, Unit: 'NA', Timestamp: ts }];
  }
  if (rec.code === 0x16 && raw !== undefined) {
    return [{ Type: typeName('Module type/config number', rec, mods), Value: raw, Unit: 'NA', Timestamp: ts }];
  }
  const known = rec.code === 0x25 || rec.code === 0x1c || rec.code === 0x16;
  warnings.push(
    known
      ? `Kamstrup VIFE 0x${hex2(rec.code)} in the record at offset ${rec.offset} has no integer data`
      : `unknown Kamstrup manufacturer-specific VIF${rec.code < 0 ? '' : `E 0x${hex2(rec.code)}`} in the record at offset ${rec.offset}`,
  );
  const type = rec.code < 0 ? 'Manufacturer specific' : `Manufacturer specific 0x${hex2(rec.code)}`;
  return [{ Type: type, Value: raw ?? toHex(rec.data), Unit: 'NA', Timestamp: ts }];
}

function standardValue(rec: DataRecord, mods: Modifiers, ts: string | null, warnings: string[]): Value {
  const qty = recordQuantity(rec);
  if (!qty) {
    const what = rec.table === 'fb' || rec.table === 'fd' ? `${rec.table.toUpperCase()} VIFE 0x${hex2(rec.code)}` : `VIF 0x${hex2(rec.code)}`;
    warnings.push(`unknown ${what} in the record at offset ${rec.offset}`);
    return { Type: `Unknown ${what}`, Value: integerOf(rec) ?? toHex(rec.data), Unit: 'NA', Timestamp: ts };
  }
  if (mods.unknown.length) {
    warnings.push(`unsupported VIFE ${mods.unknown.map((e) => `0x${hex2(e)}`).join(', ')} in the record at offset ${rec.offset}`);
  }
  const type = typeName(qty.name, rec, mods);
  if (mods.recordError) return invalid(type, ts, warnings);
  if (qty.kind === 'date' || qty.kind === 'datetime') {
    const t = recordTime(rec);
    return t === undefined ? invalid(type, ts, warnings) : { Type: type, Value: formatLocalTime(t), Unit: 'NA', Timestamp: ts };
  }
  if (rec.coding.kind === 'lvar' && rec.lvar !== undefined && rec.lvar <= 0xbf) {
    const text = Array.from(rec.data).reverse();
    const printable = text.every((c) => c >= 0x20 && c < 0x7f);
    return { Type: type, Value: printable ? String.fromCharCode(...text) : toHex(rec.data), Unit: qty.unit, Timestamp: ts };
  }
  if (qty.kind === 'bits') {
    const v = integerOf(rec);
    return v === undefined ? invalid(type, ts, warnings) : { Type: type, Value: v, Unit: qty.unit, Timestamp: ts };
  }
  const raw = rawNumber(rec);
  if (!raw.ok) return invalid(type, ts, warnings);
  return { Type: type, Value: scale(raw.value, qty.exponent + mods.exponent, rec.coding.kind === 'real'), Unit: qty.unit, Timestamp: ts };
}

function sameRegister(a: DataRecord, b: DataRecord): boolean {
  return a.table === b.table && a.code === b.code && a.storage === b.storage && a.tariff === b.tariff && a.subunit === b.subunit && a.func === b.func;
}

/** The history values of a compact profile, or the reason it cannot be expanded. */
function profileValues(rec: DataRecord, mods: Modifiers, records: DataRecord[], times: Map<number, LocalTime>, warnings: string[]): Value[] | string {
  if (mods.profile === 'registers') {
    warnings.push(`compact profile with register numbers at offset ${rec.offset} is not supported`);
    return [];
  }
  if (rec.coding.kind !== 'lvar') throw new PayloadError(`compact profile at offset ${rec.offset} must have variable-length data (DIF data field 0xD)`);
  const base = records.find((b) => b !== rec && b.coding.kind !== 'lvar' && sameRegister(b, rec) && modifiers(b).profile === undefined);
  if (!base) return MISSING_BASE;
  const baseTime = times.get(rec.storage);
  if (baseTime === undefined) return MISSING_BASE_TIME;
  const raw = rawNumber(base);
  const qty = recordQuantity(rec);
  if (!raw.ok || !qty || qty.kind !== 'number') {
    warnings.push(`compact profile at offset ${rec.offset} not expanded: its base value is invalid or not a number`);
    return [];
  }
  const type = typeName(qty.name, rec, { ...mods, unknown: [] });
  return expandProfile(rec, mods.profile === 'forward' ? 'forward' : 'inverse', raw.value, baseTime).map((p) => ({
    Type: type,
    Value: scale(p.raw, qty.exponent + mods.exponent, base.coding.kind === 'real'),
    Unit: qty.unit,
    Timestamp: formatLocalTime(p.time),
  }));
}

function decodeUplink(bytes: Uint8Array): DecodeResult {
  const telegram = parseTelegram(bytes);
  const warnings: string[] = [];
  const times = new Map<number, LocalTime>();
  for (const rec of telegram.records) {
    if (!isStorageTime(rec)) continue;
    const t = recordTime(rec);
    if (t === undefined) warnings.push(`invalid date/time in the record at offset ${rec.offset}: values of storage ${rec.storage} have no timestamp`);
    else if (!times.has(rec.storage)) times.set(rec.storage, t);
  }
  const stamp = (storage: number): string | null => {
    const t = times.get(storage);
    return t === undefined ? null : formatLocalTime(t);
  };

  const values: Value[] = [];
  // latestVolume: the current (storage 0) volume if there is one, else the newest timed volume.
  let latest: { storage: number; ts: string; value: number } | undefined;
  const consider = (storage: number, list: Value[]): void => {
    for (const v of list) {
      if (v.Type !== 'Volume' || typeof v.Value !== 'number') continue;
      const ts = v.Timestamp ?? '';
      const better = !latest || (latest.storage !== 0 && (storage === 0 || ts > latest.ts));
      if (better) latest = { storage, ts, value: v.Value };
    }
  };
  for (const rec of telegram.records) {
    if (isStorageTime(rec)) continue; // timestamps, not values (as the reference codec)
    if (rec.coding.kind === 'none' || rec.coding.kind === 'selection') continue; // no data
    if (rec.table === 'manufacturer') {
      values.push(...kamstrupValues(rec, stamp(rec.storage), warnings));
      continue;
    }
    const mods = modifiers(rec);
    if (mods.profile) {
      const history = profileValues(rec, mods, telegram.records, times, warnings);
      if (typeof history === 'string') return { data: { values: [] }, errors: [history], warnings };
      values.push(...history);
      consider(rec.storage, history);
      continue;
    }
    const v = standardValue(rec, mods, stamp(rec.storage), warnings);
    values.push(v);
    consider(rec.storage, [v]);
  }
  if (telegram.manufacturerData) {
    values.push({ Type: 'Manufacturer specific data', Value: toHex(telegram.manufacturerData.data), Unit: 'NA', Timestamp: null });
    if (telegram.manufacturerData.more) warnings.push('more records follow in the next telegram (DIF 0x1F)');
  }
  const data: JsonObject = { values };
  if (latest) data['latestVolume'] = latest.value;
  return { data, warnings };
}

// ---------------------------------------------------------------------------------------------
// Normalization

const READING_OF_TYPE: Record<string, ReadingName> = {
  Volume: 'volume_m3',
  'Volume (reverse)': 'volume_reverse_m3',
  'Flow temperature': 'water_temperature_c',
  'External temperature': 'temperature_c',
  Dry: 'alarm_dry',
  Reverse: 'alarm_backflow',
  Leak: 'alarm_leak',
  Burst: 'alarm_burst',
  Tamper: 'alarm_tamper',
  'Low Battery': 'alarm_low_battery',
  'Low Ambient Temperature': 'alarm_low_temperature',
  'High Ambient Temperature': 'alarm_high_temperature',
};
const FLOW_FACTOR: Record<string, number> = { 'm3/h': 1, 'm3/min': 60, 'm3/s': 3600 };

/** The normalized name and value of one entry of `data.values`, if it has one. */
function reading(v: Record<string, unknown>): [ReadingName, ReadingValue] | undefined {
  const { Type: type, Value: value, Unit: unit } = v;
  if (typeof type !== 'string' || value === null || value === undefined) return undefined;
  if (type === 'Volume flow' && typeof value === 'number' && typeof unit === 'string' && FLOW_FACTOR[unit]) {
    return ['flow_m3h', round(value * (FLOW_FACTOR[unit] as number), 9)];
  }
  if (type === 'Error flags' && typeof value === 'number') return ['alarm_device_error', value !== 0];
  const name = READING_OF_TYPE[type];
  if (!name) return undefined;
  const isAlarm = name.startsWith('alarm_');
  if (isAlarm ? typeof value !== 'boolean' : typeof value !== 'number') return undefined;
  if (!isAlarm && name !== 'temperature_c' && name !== 'water_temperature_c' && unit !== 'm3') return undefined;
  return [name, value as ReadingValue];
}

export function meterZone(variables: Readonly<Record<string, unknown>> | undefined): { zone: string; warning?: string } {
  const z = variables?.['meter_timezone'];
  if (z === undefined || z === '') return { zone: 'UTC' };
  if (typeof z === 'string' && meterTimeToUtc(0, z) !== undefined) return { zone: z };
  return { zone: 'UTC', warning: `device variable meter_timezone ${JSON.stringify(z)} is not UTC, ±HH:MM or an IANA zone; using UTC` };
}

function normalizeUplink(data: JsonObject, variables: Readonly<Record<string, unknown>> | undefined): NormalizeResult {
  const list = data['values'];
  if (!Array.isArray(list)) return { readings: [] };
  const { zone, warning } = meterZone(variables);
  const groups = new Map<string, Reading['values']>();
  for (const item of list) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const r = reading(item);
    if (!r) continue;
    const ts = item['Timestamp'];
    let key = '';
    if (typeof ts === 'string') {
      const local = Date.parse(`${ts}Z`);
      const utc = Number.isFinite(local) ? meterTimeToUtc(local, zone) : undefined;
      if (utc === undefined) continue;
      key = new Date(utc).toISOString();
    }
    const values = groups.get(key) ?? {};
    const [name, value] = r;
    // Alarms seen in several records of one instant: any set wins; numbers: the first record wins.
    if (typeof value === 'boolean') values[name] = value || values[name] === true;
    else if (values[name] === undefined) values[name] = value;
    groups.set(key, values);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === '' ? 1 : b === '' ? -1 : a < b ? -1 : a > b ? 1 : 0));
  const readings = keys.map((k) => (k === '' ? { values: groups.get(k) ?? {} } : { time: k, values: groups.get(k) ?? {} }));
  return { readings, ...(warning ? { warnings: [warning] } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Device side

const HOUR_MS = 3_600_000;

function signedBytes(maxAbs: number): number {
  return maxAbs < 0x80 ? 1 : maxAbs < 0x8000 ? 2 : 4;
}

function unsignedBytes(max: number): number {
  return max <= 0xff ? 1 : max <= 0xffff ? 2 : 4;
}

function littleEndian(v: number, n: number): number[] {
  const u = v < 0 ? v + 2 ** (8 * n) : v;
  return new ByteWriter().uintLE(u, n).toArray();
}

/**
 * The periodic report as the integration guide shows it: short header (CI 0x7A, access number
 * from the hour, status 0, unencrypted), then storage-1 records at the log time T: date/time
 * (type F), volume (int32, 1 L), the inverse compact profile of the earlier hourly volumes
 * (smallest element size that fits, positive increments; signed differences if a volume
 * decreases), optional flow (int16, 1 L/h), water temperature (0x5B) and ambient temperature
 * (0x67) (int8, 1 °C), and the info codes (int16, flags from the alarm readings, default false).
 *
 * Readings: oldest first, one hour apart, the last at T (its `time`, else `input.time` floored
 * to the hour); times are converted to the meter's wall clock with `meter_timezone`.
 */
function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  const readings = input.readings ?? [];
  const last = readings[readings.length - 1];
  if (!last?.values) throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const { zone } = meterZone(input.variables);
  const baseUtc = last.time !== undefined ? Date.parse(last.time) : input.time ? Math.floor(input.time.getTime() / HOUR_MS) * HOUR_MS : NaN;
  if (!Number.isFinite(baseUtc)) throw new PayloadError('encodeUplink: the last reading needs a time (or pass input.time)');
  if (baseUtc % 60_000 !== 0) throw new PayloadError('encodeUplink: the log time must be a whole minute (type F has no seconds)');
  const baseLocal = utcToMeterTime(baseUtc, zone) as number;
  const litres = readings.map((r, i) => {
    const back = readings.length - 1 - i;
    if (r.time !== undefined && Date.parse(r.time) !== baseUtc - back * HOUR_MS) {
      throw new PayloadError(`encodeUplink: reading ${i} is not ${back} h before the last one (${r.time})`);
    }
    return Math.round(numberValue(r.values, 'volume_m3') * 1000);
  });
  const w = new ByteWriter()
    .u8(0x7a)
    .u8(Math.floor(baseUtc / HOUR_MS) & 0xff)
    .u8(0x00)
    .u16le(0x0000);
  w.u8(0x44).u8(0x6d).bytes(encodeTypeF(baseLocal));
  w.u8(0x44).u8(0x13).i32le(litres[litres.length - 1] as number, 'volume_m3 (int32 litres)');
  if (litres.length > 1) {
    // Walking back from the base: delta k = volume(k - 1) - volume(k).
    const deltas = litres.slice(0, -1).map((v, i) => (litres[i + 1] as number) - v).reverse();
    const signed = deltas.some((d) => d < 0);
    const size = signed ? signedBytes(Math.max(...deltas.map(Math.abs))) : unsignedBytes(Math.max(...deltas));
    const control = (signed ? 0xc0 : 0x40) | 0x20 | size; // increment mode, hours, element coding = int size
    if (!signed && Math.max(...deltas) > 0xffffffff) throw new PayloadError('encodeUplink: an hourly consumption exceeds 32 bits');
    const elements = deltas.flatMap((d) => littleEndian(d, size));
    if (elements.length + 2 > 0xbf) throw new PayloadError(`encodeUplink: ${readings.length} readings do not fit one compact profile`);
    w.u8(0x4d).u8(0x93).u8(0x13).u8(elements.length + 2).u8(control).u8(1).bytes(elements);
  }
  const v = last.values;
  if (v['flow_m3h'] !== undefined) w.u8(0x42).u8(0x3b).i16le(Math.round(numberValue(v, 'flow_m3h') * 1000), 'flow_m3h (int16 L/h)');
  if (v['water_temperature_c'] !== undefined) w.u8(0x41).u8(0x5b).i8(Math.round(numberValue(v, 'water_temperature_c')), 'water_temperature_c (int8 °C)');
  if (v['temperature_c'] !== undefined) w.u8(0x41).u8(0x67).i8(Math.round(numberValue(v, 'temperature_c')), 'temperature_c (int8 °C)');
  const flags: ReadingName[] = [
    'alarm_dry',
    'alarm_backflow',
    'alarm_leak',
    'alarm_burst',
    'alarm_tamper',
    'alarm_low_battery',
    'alarm_low_temperature',
    'alarm_high_temperature',
  ];
  w.u8(0x42).u8(0xff).u8(0x25).u16le(flags.reduce((acc, name, bit) => acc | (booleanValue(v, name) ? 1 << bit : 0), 0));
  return { bytes: w.toArray(), fPort: 1 };
}

export const codec = defineCodec({
  id: 'kamstrup/flowiq2200',
  name: 'Kamstrup flowIQ 2200',
  category: 'water-meter',
  fPorts: [1],
  decodeUplink: ({ bytes, fPort }) => {
    if (fPort !== 1) return { errors: [`unknown fPort ${fPort}: the flowIQ 2200 sends its OMS telegrams on fPort 1`] };
    return decodeUplink(bytes);
  },
  normalizeUplink: (data, { variables }) => normalizeUplink(data, variables),
  encodeUplink,
});
