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
import { hasFourDigitYear, isoTime, parseIsoNoZone } from '../../time.ts';
import {
  encodeTypeF,
  expandProfileInto,
  formatLocalTime,
  isStorageTime,
  meterTimeToUtc,
  modifiers,
  parseTelegram,
  recordBcd,
  recordNumber,
  recordQuantity,
  recordTime,
  recordUnsigned,
  scale,
  utcToMeterTime,
  type DataRecord,
  type LocalTime,
  type Modifiers,
  type ProfileSink,
} from './mbus.ts';

const INVALID = 'Invalid value among data';
/** TTN's warning when a profile element or its time is invalid (it and the rest are left out). */
export const PROFILE_INVALID = 'Invalid value among profile values or timestamps for profile values';
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

/** The function field as TTN's codec prefixes it to the type ("Max Volume flow"). */
const PREFIX: Record<DataRecord['func'], string> = { instantaneous: '', maximum: 'Max ', minimum: 'Min ', error: 'Error state ' };

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/**
 * "Min Volume flow", "Reverse Volume", "Max Reverse Volume (tariff 1)": as TTN's codec, the
 * function prefix, then the combinable VIFE's text (EN 13757-3 table 15, TTN's wording), then
 * the quantity; what TTN's codec does not name (tariff, subunit, VIFEs it refuses) follows in
 * parentheses.
 */
function typeName(base: string, rec: DataRecord, mods: Modifiers): string {
  if (!mods.qualifiers.length && !mods.unknown.length && !rec.manufacturerExtension && !rec.tariff && !rec.subunit) {
    return rec.func === 'instantaneous' ? base : `${PREFIX[rec.func]}${base}`; // the common case: no qualifiers
  }
  const qualified = mods.qualifiers.length ? `${mods.qualifiers.join(' ')} ${base}` : base;
  const extras = mods.unknown.map((e) => `VIFE 0x${hex2(e)}`);
  if (rec.manufacturerExtension) extras.push('manufacturer extension');
  if (rec.tariff) extras.push(`tariff ${rec.tariff}`);
  if (rec.subunit) extras.push(`subunit ${rec.subunit}`);
  return `${PREFIX[rec.func]}${qualified}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** An integer record value without the invalid-marker rule (bit fields, identifiers). */
function integerOf(rec: DataRecord): number | undefined {
  if (rec.coding.kind === 'int') return recordUnsigned(rec);
  if (rec.coding.kind === 'bcd') {
    const v = recordBcd(rec);
    return v.ok ? v.value : undefined;
  }
  return undefined;
}

function invalid(type: string, timestamp: string | null, warnings: string[]): Value {
  warnings.push(INVALID);
  return { Type: type, Value: null, Unit: 'Invalid', Timestamp: timestamp };
}

/** Appends the values of a Kamstrup manufacturer-specific record to `values`. */
function kamstrupValues(rec: DataRecord, ts: string | null, warnings: string[], values: Value[]): void {
  const raw = integerOf(rec);
  if (rec.code === 0x25 && raw !== undefined) {
    if (raw > 0xff) warnings.push(`info code bits 0x${(raw & ~0xff).toString(16)} in the record at offset ${rec.offset} are not known`);
    for (let bit = 0; bit < INFO_CODE_FLAGS.length; bit++) {
      values.push({ Type: INFO_CODE_FLAGS[bit] as string, Value: ((raw >> bit) & 1) === 1, Unit: 'NA', Timestamp: ts });
    }
    return;
  }
  const mods = modifiers(rec);
  if (rec.code === 0x1c && raw !== undefined) {
    const type = typeName('ALD last day', rec, mods);
    values.push(raw === ALD_INVALID ? invalid(type, ts, warnings) : { Type: type, Value: raw, Unit: 'NA', Timestamp: ts });
    return;
  }
  if (rec.code === 0x16 && raw !== undefined) {
    values.push({ Type: typeName('Module type/config number', rec, mods), Value: raw, Unit: 'NA', Timestamp: ts });
    return;
  }
  const known = rec.code === 0x25 || rec.code === 0x1c || rec.code === 0x16;
  warnings.push(
    known
      ? `Kamstrup VIFE 0x${hex2(rec.code)} in the record at offset ${rec.offset} has no integer data`
      : `unknown Kamstrup manufacturer-specific VIF${rec.code < 0 ? '' : `E 0x${hex2(rec.code)}`} in the record at offset ${rec.offset}`,
  );
  const type = rec.code < 0 ? 'Manufacturer specific' : `Manufacturer specific 0x${hex2(rec.code)}`;
  values.push({ Type: type, Value: raw ?? toHex(rec.data), Unit: 'NA', Timestamp: ts });
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
  const raw = recordNumber(rec);
  if (Number.isNaN(raw)) return invalid(type, ts, warnings);
  return { Type: type, Value: scale(raw, qty.exponent + mods.exponent, rec.coding.kind === 'real'), Unit: qty.unit, Timestamp: ts };
}

function sameRegister(a: DataRecord, b: DataRecord): boolean {
  return a.table === b.table && a.code === b.code && a.storage === b.storage && a.tariff === b.tariff && a.subunit === b.subunit && a.func === b.func;
}

/**
 * Appends the history values of a compact profile to `values`, or returns the reason it cannot
 * be expanded. Returns the new latest volume otherwise.
 */
function profileValues(
  rec: DataRecord,
  mods: Modifiers,
  records: DataRecord[],
  baseTime: LocalTime | undefined,
  warnings: string[],
  values: Value[],
  latest: LatestVolume | undefined,
): LatestVolume | undefined | string {
  if (mods.profile === 'registers') {
    warnings.push(`compact profile with register numbers at offset ${rec.offset} is not supported`);
    return latest;
  }
  if (rec.coding.kind !== 'lvar') throw new PayloadError(`compact profile at offset ${rec.offset} must have variable-length data (DIF data field 0xD)`);
  let base: DataRecord | undefined;
  for (const b of records) {
    if (b !== rec && b.coding.kind !== 'lvar' && sameRegister(b, rec) && modifiers(b).profile === undefined) {
      base = b;
      break;
    }
  }
  if (!base) return MISSING_BASE;
  if (baseTime === undefined) return MISSING_BASE_TIME;
  const raw = recordNumber(base);
  const qty = recordQuantity(rec);
  if (Number.isNaN(raw) || !qty || qty.kind !== 'number') {
    warnings.push(`compact profile at offset ${rec.offset} not expanded: its base value is invalid or not a number`);
    return latest;
  }
  const type = typeName(qty.name, rec, mods.unknown.length ? { ...mods, unknown: [] } : mods);
  const sink = new ProfileValues(type, qty.unit, qty.exponent + mods.exponent, base.coding.kind === 'real', rec.storage, values, latest);
  const complete = expandProfileInto(rec, mods.profile === 'forward' ? 'forward' : 'inverse', raw, baseTime, sink);
  if (!complete) warnings.push(PROFILE_INVALID);
  return sink.latest;
}

/**
 * Appends one `values` entry per point of a compact profile as `expandProfileInto` walks it, and
 * keeps the latest volume: no arrays of raw values and times in between.
 */
class ProfileValues implements ProfileSink {
  declare latest: LatestVolume | undefined;
  private declare readonly type: string;
  private declare readonly unit: string;
  private declare readonly exponent: number;
  private declare readonly isReal: boolean;
  private declare readonly storage: number;
  private declare readonly values: Value[];
  /** Only plain volumes can be the latest volume. */
  private declare readonly isVolume: boolean;

  constructor(type: string, unit: string, exponent: number, isReal: boolean, storage: number, values: Value[], latest: LatestVolume | undefined) {
    this.latest = latest;
    this.type = type;
    this.unit = unit;
    this.exponent = exponent;
    this.isReal = isReal;
    this.storage = storage;
    this.values = values;
    this.isVolume = type === 'Volume';
  }

  point(raw: number, time: LocalTime): void {
    const v: Value = { Type: this.type, Value: scale(raw, this.exponent, this.isReal), Unit: this.unit, Timestamp: formatLocalTime(time) };
    this.values.push(v);
    if (this.isVolume) this.latest = considerVolume(this.latest, this.storage, v, time);
  }
}

/** The current (storage 0) volume if there is one, else the newest timed volume. */
interface LatestVolume {
  storage: number;
  /** The wall-clock time the value's Timestamp prints, if it has one. */
  time: LocalTime | undefined;
  value: number;
}

/**
 * Whether the Timestamp printed for `a` sorts after the one printed for `b` (no time prints as
 * ""). For four-digit years the fixed-width strings sort like the numbers, so those are compared
 * without building (flattening) the strings.
 */
function printedLater(a: LocalTime | undefined, b: LocalTime | undefined): boolean {
  if (a === undefined) return false;
  if (b === undefined) return true;
  if (hasFourDigitYear(a) && hasFourDigitYear(b)) return a > b;
  return formatLocalTime(a) > formatLocalTime(b);
}

/**
 * `latest` updated with value `v` of storage number `storage`, timed `time` (the time its
 * Timestamp prints). The one object of a decode is updated in place: a profile improves it at
 * every point, and a new object each time was a large share of a decode's allocations.
 */
function considerVolume(latest: LatestVolume | undefined, storage: number, v: Value, time: LocalTime | undefined): LatestVolume | undefined {
  if (v.Type !== 'Volume' || typeof v.Value !== 'number') return latest;
  if (!latest) return { storage, time, value: v.Value };
  if (latest.storage !== 0 && (storage === 0 || printedLater(time, latest.time))) {
    latest.storage = storage;
    latest.time = time;
    latest.value = v.Value;
  }
  return latest;
}

/**
 * The wall-clock times of the storage numbers of one uplink (from their date/time records) and
 * their printed form, made once. An uplink times one or a few storage numbers, so plain arrays
 * searched in order are cheaper than Maps.
 */
interface StorageTimes {
  storages: number[];
  times: LocalTime[];
  stamps: (string | undefined)[];
}

/** The storage times of a telegram without date/time records; never written to (decodeUplink makes its own first). */
const NO_TIMES: StorageTimes = { storages: [], times: [], stamps: [] };

function timeOf(st: StorageTimes, storage: number): LocalTime | undefined {
  const i = st.storages.indexOf(storage);
  return i < 0 ? undefined : st.times[i];
}

/** The printed wall-clock time of a storage number, or null when it has none. */
function stampOf(st: StorageTimes, storage: number): string | null {
  const i = st.storages.indexOf(storage);
  if (i < 0) return null;
  let text = st.stamps[i];
  if (text === undefined) {
    text = formatLocalTime(st.times[i] as LocalTime);
    st.stamps[i] = text;
  }
  return text;
}

function decodeUplink(bytes: Uint8Array): DecodeResult {
  const telegram = parseTelegram(bytes);
  const warnings: string[] = [];
  let st = NO_TIMES; // (made when the telegram has a date/time record)
  for (const rec of telegram.records) {
    if (!isStorageTime(rec)) continue;
    const t = recordTime(rec);
    if (t === undefined) {
      warnings.push(`invalid date/time in the record at offset ${rec.offset}: values of storage ${rec.storage} have no timestamp`);
    } else if (!st.storages.includes(rec.storage)) {
      if (st === NO_TIMES) st = { storages: [], times: [], stamps: [] };
      st.storages.push(rec.storage);
      st.times.push(t);
    }
  }

  const values: Value[] = [];
  let latest: LatestVolume | undefined;
  for (const rec of telegram.records) {
    if (isStorageTime(rec)) continue; // timestamps, not values (as the reference codec)
    if (rec.coding.kind === 'none' || rec.coding.kind === 'selection') continue; // no data
    if (rec.table === 'manufacturer') {
      kamstrupValues(rec, stampOf(st, rec.storage), warnings, values);
      continue;
    }
    const mods = modifiers(rec);
    if (mods.profile) {
      const next = profileValues(rec, mods, telegram.records, timeOf(st, rec.storage), warnings, values, latest);
      if (typeof next === 'string') return { data: { values: [] }, errors: [next], warnings };
      latest = next;
      continue;
    }
    const v = standardValue(rec, mods, stampOf(st, rec.storage), warnings);
    values.push(v);
    latest = considerVolume(latest, rec.storage, v, timeOf(st, rec.storage));
  }
  if (telegram.manufacturerData) {
    values.push({ Type: 'Manufacturer specific data', Value: toHex(telegram.manufacturerData.data), Unit: 'NA', Timestamp: null });
    if (telegram.manufacturerData.more) warnings.push('more records follow in the next telegram (DIF 0x1F)');
  }
  // One literal per shape: a property added afterwards allocated an out-of-object property store.
  const data: JsonObject = latest ? { values, latestVolume: latest.value } : { values };
  return { data, warnings };
}

// ---------------------------------------------------------------------------------------------
// Normalization

const READING_OF_TYPE: Record<string, ReadingName> = {
  Volume: 'volume_m3',
  'Reverse Volume': 'volume_reverse_m3',
  'Volume (reverse)': 'volume_reverse_m3', // data decoded by earlier versions of this codec
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

/**
 * The normalized name of one entry of `data.values`, if it has one (`readingValue` gives its
 * value). Two functions rather than one returning a [name, value] pair: that pair was an array
 * per entry, for every point of a profile.
 */
function readingName(type: unknown, value: unknown, unit: unknown): ReadingName | undefined {
  if (typeof type !== 'string' || value === null || value === undefined) return undefined;
  if ((type === 'Volume flow' || type === 'Volume flow (ext.)') && typeof value === 'number' && typeof unit === 'string' && FLOW_FACTOR[unit]) {
    return 'flow_m3h';
  }
  if (type === 'Error flags' && typeof value === 'number') return 'alarm_device_error';
  const name = READING_OF_TYPE[type];
  if (!name) return undefined;
  const isAlarm = name.startsWith('alarm_');
  if (isAlarm ? typeof value !== 'boolean' : typeof value !== 'number') return undefined;
  if (!isAlarm && name !== 'temperature_c' && name !== 'water_temperature_c' && unit !== 'm3') return undefined;
  return name;
}

/** The value of an entry that `readingName` named `name`. */
function readingValue(name: ReadingName, value: unknown, unit: unknown): ReadingValue {
  if (name === 'flow_m3h') return round((value as number) * (FLOW_FACTOR[unit as string] as number), 9);
  if (name === 'alarm_device_error') return value !== 0;
  return value as ReadingValue;
}

export function meterZone(variables: Readonly<Record<string, unknown>> | undefined): { zone: string; warning?: string } {
  const z = variables?.['meter_timezone'];
  if (z === undefined || z === '') return { zone: 'UTC' };
  if (typeof z === 'string' && meterTimeToUtc(0, z) !== undefined) return { zone: z };
  return { zone: 'UTC', warning: `device variable meter_timezone ${JSON.stringify(z)} is not UTC, ±HH:MM or an IANA zone; using UTC` };
}

/**
 * The instants of one normalize call, each with its reading's values, in the order first seen.
 * Entries of one record share an instant and come together, and a profile's points step through
 * new instants one way: an instant before or after every one seen so far is new without a
 * lookup, so the index (UTC ms → position, equal as a Map's keys are) is only built when an
 * instant falls between earlier ones.
 */
class Instants {
  readonly utcs: number[] = [];
  readonly groups: Reading['values'][] = [];
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private last = -1;
  private index: Map<number, number> | undefined;

  /** The values of instant `utc`, made empty when it is new. */
  valuesAt(utc: number): Reading['values'] {
    const last = this.last;
    if (last >= 0 && this.utcs[last] === utc) return this.groups[last] as Reading['values'];
    let at = -1;
    if (!(utc < this.min || utc > this.max)) at = this.lookup(utc);
    if (at < 0) {
      at = this.utcs.length;
      this.utcs.push(utc);
      this.groups.push({});
      this.index?.set(utc, at);
      if (utc < this.min) this.min = utc;
      if (utc > this.max) this.max = utc;
    }
    this.last = at;
    return this.groups[at] as Reading['values'];
  }

  private lookup(utc: number): number {
    if (!this.index) {
      this.index = new Map();
      for (let i = 0; i < this.utcs.length; i++) this.index.set(this.utcs[i] as number, i);
    }
    return this.index.get(utc) ?? -1;
  }

  /** The positions of the instants oldest first (by their RFC 3339 text where a year has not four digits). */
  oldestFirst(): number[] {
    const utcs = this.utcs;
    const order = utcs.map((_, i) => i);
    if (!utcs.every(hasFourDigitYear)) {
      const texts = utcs.map(isoTime);
      return order.sort((a, b) => compareText(texts[a] as string, texts[b] as string));
    }
    // For four-digit years the times sort like their texts. A profile comes newest first: reversed
    // without a sort.
    let ascending = true;
    let descending = true;
    for (let i = 1; i < utcs.length; i++) {
      const d = (utcs[i] as number) - (utcs[i - 1] as number);
      if (d < 0) ascending = false;
      if (d > 0) descending = false;
    }
    if (ascending) return order;
    if (descending) return order.reverse();
    return order.sort((a, b) => (utcs[a] as number) - (utcs[b] as number));
  }
}

function normalizeUplink(data: JsonObject, variables: Readonly<Record<string, unknown>> | undefined): NormalizeResult {
  const list = data['values'];
  if (!Array.isArray(list)) return { readings: [] };
  const { zone, warning } = meterZone(variables);
  // One reading per instant: the values without a timestamp, and the timed ones by UTC time.
  let untimed: Reading['values'] | undefined;
  const instants = new Instants();
  // Values of one record share their Timestamp: convert each text once.
  let lastText: string | undefined;
  let lastUtc: number | undefined;
  for (const item of list) {
    if (!item || typeof item !== 'object' || Array.isArray(item)) continue;
    const value = item['Value'];
    const unit = item['Unit'];
    const name = readingName(item['Type'], value, unit);
    if (!name) continue;
    const ts = item['Timestamp'];
    let values: Reading['values'];
    if (typeof ts === 'string') {
      if (ts !== lastText) {
        const local = parseIsoNoZone(ts); // = Date.parse(`${ts}Z`)
        lastUtc = Number.isFinite(local) ? meterTimeToUtc(local, zone) : undefined;
        lastText = ts;
      }
      if (lastUtc === undefined) continue;
      values = instants.valuesAt(lastUtc);
    } else {
      values = untimed ??= {};
    }
    const v = readingValue(name, value, unit);
    // Alarms seen in several records of one instant: any set wins; numbers: the first record wins.
    if (typeof v === 'boolean') values[name] = v || values[name] === true;
    else if (values[name] === undefined) values[name] = v;
  }
  const readings: Reading[] = [];
  for (const i of instants.oldestFirst()) readings.push({ time: isoTime(instants.utcs[i] as number), values: instants.groups[i] as Reading['values'] });
  if (untimed) readings.push({ values: untimed });
  return warning ? { readings, warnings: [warning] } : { readings };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Device side

const HOUR_MS = 3_600_000;

function signedBytes(maxAbs: number): number {
  return maxAbs < 0x80 ? 1 : maxAbs < 0x8000 ? 2 : 4;
}

/** Element size of an unsigned profile: all ones is the invalid marker, so it is never a value. */
function unsignedBytes(max: number): number {
  return max < 0xff ? 1 : max < 0xffff ? 2 : 4;
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
    if (!signed && Math.max(...deltas) >= 0xffffffff) throw new PayloadError('encodeUplink: an hourly consumption exceeds 32 bits (all ones is the invalid marker)');
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
  // Every value is a finite number (raw integers up to 2^53, reals checked finite, exponents
  // bounded), a string, a boolean or null; the contract test fuzzes that.
  dataIsJson: true,
  decodeUplink: ({ bytes, fPort }) => {
    if (fPort !== 1) return { errors: [`unknown fPort ${fPort}: the flowIQ 2200 sends its OMS telegrams on fPort 1`] };
    return decodeUplink(bytes);
  },
  normalizeUplink: (data, { variables }) => normalizeUplink(data, variables),
  encodeUplink,
});
