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
import { cachedIsoTimeNoZone, hasFourDigitYear, isoTime, parseIsoNoZone } from '../../time.ts';
import {
  bcdNumberAt,
  encodeTypeF,
  expandProfileAt,
  fbQuantityOf,
  fdQuantityOf,
  formatLocalTime,
  meterTimeToUtc,
  numberAt,
  plainQuantity,
  pow10,
  primaryQuantityOf,
  QUALIFIERS,
  RECORD_ERRORS,
  scale,
  scaleBy,
  timeAt,
  unsignedAt,
  utcToMeterTime,
  VIFE_COMPACT_PROFILE,
  VIFE_COMPACT_PROFILE_REGISTERS,
  VIFE_INVERSE_COMPACT_PROFILE,
  type FunctionField,
  type LocalTime,
  type ProfileSink,
  type Quantity,
} from './mbus.ts';
import { FB, FD, MANUFACTURER, PLAIN, PRIMARY, readRecords, RecordTable, skipTplHeader } from './record-table.ts';

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

/** The DIF function field (bits 5–4). */
const FUNCTIONS: readonly FunctionField[] = ['instantaneous', 'maximum', 'minimum', 'error'];

/** The function field as TTN's codec prefixes it to the type ("Max Volume flow"). */
const PREFIX: Record<FunctionField, string> = { instantaneous: '', maximum: 'Max ', minimum: 'Min ', error: 'Error state ' };

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** The records of the telegram being decoded (one table for every decode: decodes never overlap). */
const T = new RecordTable();

/** What a record's combinable VIFEs say (`readModifiers` fills it; one object reused by every record). */
const mods = {
  /** 0 none, else the last compact-profile VIFE: PROFILE_INVERSE, PROFILE_FORWARD, PROFILE_REGISTERS. */
  profile: 0,
  /** A record-error VIFE says the value is not valid. */
  recordError: false,
  /** Extra decimal exponent from multiplicative correction VIFEs. */
  exponent: 0,
  /** How many VIFEs are qualifiers (named in the type) and how many are not understood. */
  qualifiers: 0,
  unknown: 0,
};
const PROFILE_INVERSE = 1;
const PROFILE_FORWARD = 2;
const PROFILE_REGISTERS = 3;

// What one combinable VIFE is (EN 13757-3 table 15), for `readModifiers` and the names built from them.
const VIFE_PROFILE_INVERSE = 1;
const VIFE_PROFILE_FORWARD = 2;
const VIFE_PROFILE_REGISTERS = 3;
const VIFE_RECORD_ERROR = 4;
const VIFE_QUALIFIER = 5;
const VIFE_EXPONENT = 6;
const VIFE_UNKNOWN = 7;

function kindOfVife(e: number): number {
  if (e === VIFE_INVERSE_COMPACT_PROFILE) return VIFE_PROFILE_INVERSE;
  if (e === VIFE_COMPACT_PROFILE) return VIFE_PROFILE_FORWARD;
  if (e === VIFE_COMPACT_PROFILE_REGISTERS) return VIFE_PROFILE_REGISTERS;
  if (RECORD_ERRORS[e]) return VIFE_RECORD_ERROR;
  if (QUALIFIERS[e]) return VIFE_QUALIFIER;
  if ((e >= 0x70 && e <= 0x77) || e === 0x7d) return VIFE_EXPONENT;
  return VIFE_UNKNOWN;
}

/** `kindOfVife` by VIFE (0..0x7F), computed once: the lookups in the sparse name tables cost more per record. */
const VIFE_KINDS = Uint8Array.from({ length: 0x80 }, (_, e) => kindOfVife(e));

function vifeKind(e: number): number {
  return VIFE_KINDS[e] as number;
}

/** Fills `mods` from the combinable VIFEs of record `i` (none for manufacturer-specific records). */
function readModifiers(i: number): void {
  mods.profile = 0;
  mods.recordError = false;
  mods.exponent = 0;
  mods.qualifiers = 0;
  mods.unknown = 0;
  const n = T.extCount[i] as number;
  if (n === 0 || T.table[i] === MANUFACTURER) return;
  const ext = T.ext;
  for (let k = T.extStart[i] as number, end = k + n; k < end; k++) {
    const e = ext[k] as number;
    switch (vifeKind(e)) {
      case VIFE_PROFILE_INVERSE:
        mods.profile = PROFILE_INVERSE;
        break;
      case VIFE_PROFILE_FORWARD:
        mods.profile = PROFILE_FORWARD;
        break;
      case VIFE_PROFILE_REGISTERS:
        mods.profile = PROFILE_REGISTERS;
        break;
      case VIFE_RECORD_ERROR:
        mods.recordError = true;
        break;
      case VIFE_QUALIFIER:
        mods.qualifiers++;
        break;
      case VIFE_EXPONENT:
        mods.exponent += e === 0x7d ? 3 : (e & 0x07) - 6; // multiplicative correction 10^(nnn-6), 0x7D: 10^3
        break;
      default:
        mods.unknown++;
    }
  }
}

/** The VIFEs of record `i` of one kind, each as `format` prints it, joined by `separator`. */
function vifeList(i: number, kind: number, format: (e: number) => string, separator: string): string {
  let text = '';
  for (let k = T.extStart[i] as number, end = k + (T.extCount[i] as number); k < end; k++) {
    const e = T.ext[k] as number;
    if (vifeKind(e) !== kind) continue;
    text = text === '' ? format(e) : `${text}${separator}${format(e)}`;
  }
  return text;
}

const qualifierText = (e: number): string => QUALIFIERS[e] as string;
const vifeHex = (e: number): string => `0x${hex2(e)}`;
const vifeName = (e: number): string => `VIFE 0x${hex2(e)}`;

/**
 * "Min Volume flow", "Reverse Volume", "Max Reverse Volume (tariff 1)": as TTN's codec, the
 * function prefix, then the combinable VIFE's text (EN 13757-3 table 15, TTN's wording), then
 * the quantity; what TTN's codec does not name (tariff, subunit, VIFEs it refuses) follows in
 * parentheses. `withUnknown` false leaves the not-understood VIFEs out (a profile's type).
 */
function typeName(base: string, i: number, withUnknown: boolean): string {
  const func = FUNCTIONS[((T.dif[i] as number) >> 4) & 0x03] as FunctionField;
  const unknown = withUnknown && mods.unknown > 0;
  const tariff = T.tariff[i] as number;
  const subunit = T.subunit[i] as number;
  const mfrExt = T.manufacturerExtension[i] === 1;
  if (mods.qualifiers === 0 && !unknown && !mfrExt && !tariff && !subunit) {
    return func === 'instantaneous' ? base : `${PREFIX[func]}${base}`; // the common case: no qualifiers
  }
  const qualified = mods.qualifiers > 0 ? `${vifeList(i, VIFE_QUALIFIER, qualifierText, ' ')} ${base}` : base;
  const extras: string[] = [];
  if (unknown) extras.push(vifeList(i, VIFE_UNKNOWN, vifeName, ', '));
  if (mfrExt) extras.push('manufacturer extension');
  if (tariff) extras.push(`tariff ${tariff}`);
  if (subunit) extras.push(`subunit ${subunit}`);
  return `${PREFIX[func]}${qualified}${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

/** DIF data field (bits 3–0) of record `i`. */
function codingOf(i: number): number {
  return (T.dif[i] as number) & 0x0f;
}

/** Whether a DIF data field is an integer (1–4, 6 or 8 bytes) / BCD (2–12 digits) coding. */
function isInt(coding: number): boolean {
  return coding >= 0x1 && coding <= 0x7 && coding !== 0x5;
}
function isBcd(coding: number): boolean {
  return coding >= 0x9 && coding <= 0xe && coding !== 0xd;
}
const CODING_REAL = 0x5;
const CODING_LVAR = 0xd;

/** The data field of record `i` as bytes (for hex dumps: rare paths only). */
function dataOf(bytes: Uint8Array, i: number): Uint8Array {
  const start = T.dataStart[i] as number;
  return bytes.subarray(start, start + (T.dataLength[i] as number));
}

/** An integer record value without the invalid-marker rule (bit fields, identifiers). */
function integerOf(bytes: Uint8Array, i: number): number | undefined {
  const coding = codingOf(i);
  if (isInt(coding)) return unsignedAt(bytes, T.dataStart[i] as number, T.dataLength[i] as number);
  if (isBcd(coding)) {
    const v = bcdNumberAt(bytes, T.dataStart[i] as number, T.dataLength[i] as number);
    return Number.isNaN(v) ? undefined : v;
  }
  return undefined;
}

/** The record's data as a number, NaN when it has none (invalid marker, bad digit, not a number coding). */
function numberOfRecord(bytes: Uint8Array, i: number): number {
  return numberAt(bytes, T.dataStart[i] as number, T.dataLength[i] as number, codingOf(i), T.lvar[i] as number);
}

/** The standard quantity of record `i`, or undefined (manufacturer-specific or unknown code). */
function quantityOf(bytes: Uint8Array, i: number): Quantity | undefined {
  const code = T.code[i] as number;
  switch (T.table[i]) {
    case PRIMARY:
      return primaryQuantityOf(code);
    case FD:
      return fdQuantityOf(code);
    case FB:
      return fbQuantityOf(code);
    case PLAIN:
      return plainQuantity(reversedText(bytes, T.plainStart[i] as number, T.plainLength[i] as number));
    default:
      return undefined;
  }
}

/** `n` bytes from `start` as characters, last byte first (how M-Bus sends text). */
function reversedText(bytes: Uint8Array, start: number, n: number): string {
  let s = '';
  for (let k = start + n - 1; k >= start; k--) s += String.fromCharCode(bytes[k] as number);
  return s;
}

function invalid(type: string, timestamp: string | null, warnings: string[]): Value {
  warnings.push(INVALID);
  return { Type: type, Value: null, Unit: 'Invalid', Timestamp: timestamp };
}

/** Appends the values of Kamstrup manufacturer-specific record `i` to `values`. */
function kamstrupValues(bytes: Uint8Array, i: number, ts: string | null, warnings: string[], values: Value[]): void {
  const raw = integerOf(bytes, i);
  const code = T.code[i] as number;
  const offset = T.offset[i] as number;
  if (code === 0x25 && raw !== undefined) {
    if (raw > 0xff) warnings.push(`info code bits 0x${(raw & ~0xff).toString(16)} in the record at offset ${offset} are not known`);
    for (let bit = 0; bit < INFO_CODE_FLAGS.length; bit++) {
      values.push({ Type: INFO_CODE_FLAGS[bit] as string, Value: ((raw >> bit) & 1) === 1, Unit: 'NA', Timestamp: ts });
    }
    return;
  }
  readModifiers(i); // (none: manufacturer-specific VIFEs are not combinable ones)
  if (code === 0x1c && raw !== undefined) {
    const type = typeName('ALD last day', i, true);
    values.push(raw === ALD_INVALID ? invalid(type, ts, warnings) : { Type: type, Value: raw, Unit: 'NA', Timestamp: ts });
    return;
  }
  if (code === 0x16 && raw !== undefined) {
    values.push({ Type: typeName('Module type/config number', i, true), Value: raw, Unit: 'NA', Timestamp: ts });
    return;
  }
  const known = code === 0x25 || code === 0x1c || code === 0x16;
  warnings.push(
    known
      ? `Kamstrup VIFE 0x${hex2(code)} in the record at offset ${offset} has no integer data`
      : `unknown Kamstrup manufacturer-specific VIF${code < 0 ? '' : `E 0x${hex2(code)}`} in the record at offset ${offset}`,
  );
  const type = code < 0 ? 'Manufacturer specific' : `Manufacturer specific 0x${hex2(code)}`;
  values.push({ Type: type, Value: raw ?? toHex(dataOf(bytes, i)), Unit: 'NA', Timestamp: ts });
}

/** The value of standard record `i` (`mods` read). */
function standardValue(bytes: Uint8Array, i: number, ts: string | null, warnings: string[]): Value {
  const qty = quantityOf(bytes, i);
  const offset = T.offset[i] as number;
  if (!qty) {
    const table = T.table[i];
    const code = hex2(T.code[i] as number);
    const what = table === FB ? `FB VIFE 0x${code}` : table === FD ? `FD VIFE 0x${code}` : `VIF 0x${code}`;
    warnings.push(`unknown ${what} in the record at offset ${offset}`);
    return { Type: `Unknown ${what}`, Value: integerOf(bytes, i) ?? toHex(dataOf(bytes, i)), Unit: 'NA', Timestamp: ts };
  }
  if (mods.unknown > 0) warnings.push(`unsupported VIFE ${vifeList(i, VIFE_UNKNOWN, vifeHex, ', ')} in the record at offset ${offset}`);
  const type = typeName(qty.name, i, true);
  if (mods.recordError) return invalid(type, ts, warnings);
  const coding = codingOf(i);
  if (qty.kind === 'date' || qty.kind === 'datetime') {
    const t = timeAt(bytes, T.dataStart[i] as number, T.code[i] as number, coding);
    return t === undefined ? invalid(type, ts, warnings) : { Type: type, Value: formatLocalTime(t), Unit: 'NA', Timestamp: ts };
  }
  if (coding === CODING_LVAR && (T.lvar[i] as number) <= 0xbf) {
    const start = T.dataStart[i] as number;
    const n = T.dataLength[i] as number;
    let printable = true;
    for (let k = start; k < start + n; k++) {
      const c = bytes[k] as number;
      if (c < 0x20 || c >= 0x7f) printable = false;
    }
    return { Type: type, Value: printable ? reversedText(bytes, start, n) : toHex(dataOf(bytes, i)), Unit: qty.unit, Timestamp: ts };
  }
  if (qty.kind === 'bits') {
    const v = integerOf(bytes, i);
    return v === undefined ? invalid(type, ts, warnings) : { Type: type, Value: v, Unit: qty.unit, Timestamp: ts };
  }
  const raw = numberOfRecord(bytes, i);
  if (Number.isNaN(raw)) return invalid(type, ts, warnings);
  return { Type: type, Value: scale(raw, qty.exponent + mods.exponent, coding === CODING_REAL), Unit: qty.unit, Timestamp: ts };
}

/** Whether records `a` and `b` are the same register (VIF table and code, storage, tariff, subunit, function). */
function sameRegister(a: number, b: number): boolean {
  return (
    T.table[a] === T.table[b] &&
    T.code[a] === T.code[b] &&
    T.storage[a] === T.storage[b] &&
    T.tariff[a] === T.tariff[b] &&
    T.subunit[a] === T.subunit[b] &&
    (((T.dif[a] as number) >> 4) & 0x03) === (((T.dif[b] as number) >> 4) & 0x03)
  );
}

/** Whether record `i` has a compact-profile VIFE (then it is a profile, not a base value). */
function isProfile(i: number): boolean {
  if (T.table[i] === MANUFACTURER) return false;
  for (let k = T.extStart[i] as number, end = k + (T.extCount[i] as number); k < end; k++) {
    const kind = vifeKind(T.ext[k] as number);
    if (kind === VIFE_PROFILE_INVERSE || kind === VIFE_PROFILE_FORWARD || kind === VIFE_PROFILE_REGISTERS) return true;
  }
  return false;
}

/**
 * Appends the history values of compact profile `i` to `values` (`mods` read), or returns the
 * reason it cannot be expanded. Returns the new latest volume otherwise.
 */
function profileValues(
  bytes: Uint8Array,
  i: number,
  baseTime: LocalTime | undefined,
  warnings: string[],
  values: Value[],
  latest: LatestVolume | undefined,
): LatestVolume | undefined | string {
  const offset = T.offset[i] as number;
  if (mods.profile === PROFILE_REGISTERS) {
    warnings.push(`compact profile with register numbers at offset ${offset} is not supported`);
    return latest;
  }
  if (codingOf(i) !== CODING_LVAR) throw new PayloadError(`compact profile at offset ${offset} must have variable-length data (DIF data field 0xD)`);
  // The base value: the first record of the same register that is neither a profile nor LVAR data.
  let base = -1;
  for (let b = 0; b < T.count; b++) {
    if (b !== i && codingOf(b) !== CODING_LVAR && sameRegister(b, i) && !isProfile(b)) {
      base = b;
      break;
    }
  }
  if (base < 0) return MISSING_BASE;
  if (baseTime === undefined) return MISSING_BASE_TIME;
  const raw = numberOfRecord(bytes, base);
  const qty = quantityOf(bytes, i);
  if (Number.isNaN(raw) || !qty || qty.kind !== 'number') {
    warnings.push(`compact profile at offset ${offset} not expanded: its base value is invalid or not a number`);
    return latest;
  }
  const type = typeName(qty.name, i, false);
  const sink = PROFILE_SINK.start(type, qty.unit, qty.exponent + mods.exponent, codingOf(base) === CODING_REAL, T.storage[i] as number, values, latest);
  const direction = mods.profile === PROFILE_FORWARD ? 'forward' : 'inverse';
  const complete = expandProfileAt(bytes, T.dataStart[i] as number, T.dataLength[i] as number, offset, direction, raw, baseTime, sink);
  if (!complete) warnings.push(PROFILE_INVALID);
  return sink.finish();
}

/**
 * Appends one `values` entry per point of a compact profile as `expandProfileAt` walks it, and
 * keeps the latest volume: no arrays of raw values and times in between. One sink serves every
 * profile (`start` … `finish`).
 */
class ProfileValues implements ProfileSink {
  private latest: LatestVolume | undefined = undefined;
  private type = '';
  private unit = '';
  /** The profile's scale: divide (negative exponent) or multiply by `factor`. */
  private divide = false;
  private factor = 1;
  private isReal = false;
  private storage = 0;
  private values: Value[] = [];
  /** Only plain volumes can be the latest volume. */
  private isVolume = false;

  start(type: string, unit: string, exponent: number, isReal: boolean, storage: number, values: Value[], latest: LatestVolume | undefined): this {
    this.latest = latest;
    this.type = type;
    this.unit = unit;
    this.divide = exponent < 0;
    this.factor = pow10(exponent);
    this.isReal = isReal;
    this.storage = storage;
    this.values = values;
    this.isVolume = type === 'Volume';
    return this;
  }

  /** The latest volume after the profile; lets go of the decode's objects. */
  finish(): LatestVolume | undefined {
    const latest = this.latest;
    this.latest = undefined;
    this.values = NO_VALUES;
    return latest;
  }

  point(raw: number, time: LocalTime): void {
    // The cached stamp looked up here (inlined) first: a call per point with the time as its
    // argument boxed the number each time.
    const v: Value = { Type: this.type, Value: scaleBy(raw, this.divide, this.factor, this.isReal), Unit: this.unit, Timestamp: cachedIsoTimeNoZone(time) ?? formatLocalTime(time) };
    this.values.push(v);
    if (this.isVolume) this.latest = considerVolume(this.latest, this.storage, v, time);
  }
}

const NO_VALUES: Value[] = [];
const PROFILE_SINK = new ProfileValues();

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
 * The wall-clock times of the storage numbers of the telegram being decoded (from their
 * date/time records) and their printed form, made when first used. A telegram times one or a
 * few storage numbers, so short arrays searched in order beat Maps; they are reused by every
 * decode (`timedCount` says how many entries are this decode's).
 */
const timedStorages: number[] = [];
const storageTimes: LocalTime[] = [];
const storageStamps: (string | undefined)[] = [];
let timedCount = 0;

function timedIndex(storage: number): number {
  for (let k = 0; k < timedCount; k++) if (timedStorages[k] === storage) return k;
  return -1;
}

function timeOf(storage: number): LocalTime | undefined {
  const k = timedIndex(storage);
  return k < 0 ? undefined : storageTimes[k];
}

/** The printed wall-clock time of a storage number, or null when it has none. */
function stampOf(storage: number): string | null {
  const k = timedIndex(storage);
  if (k < 0) return null;
  let text = storageStamps[k];
  if (text === undefined) {
    text = formatLocalTime(storageTimes[k] as LocalTime);
    storageStamps[k] = text;
  }
  return text;
}

/** Whether record `i` is a plain date/time that times the other records of its storage number. */
function isStorageTime(i: number): boolean {
  const code = T.code[i];
  return (
    T.table[i] === PRIMARY &&
    (code === 0x6c || code === 0x6d) &&
    ((T.dif[i] as number) & 0x30) === 0 && // instantaneous
    T.tariff[i] === 0 &&
    T.subunit[i] === 0 &&
    T.extCount[i] === 0
  );
}

/** DIF data field 0x0 (no data) and 0x8 (selection for readout): records without a value. */
function hasNoData(i: number): boolean {
  const coding = codingOf(i);
  return coding === 0x0 || coding === 0x8;
}

function decodeUplink(bytes: Uint8Array): DecodeResult {
  readRecords(bytes, skipTplHeader(bytes), T);
  const warnings: string[] = [];
  timedCount = 0;
  for (let i = 0; i < T.count; i++) {
    if (!isStorageTime(i)) continue;
    const t = timeAt(bytes, T.dataStart[i] as number, T.code[i] as number, codingOf(i));
    const storage = T.storage[i] as number;
    if (t === undefined) {
      warnings.push(`invalid date/time in the record at offset ${T.offset[i] as number}: values of storage ${storage} have no timestamp`);
    } else if (timedIndex(storage) < 0) {
      timedStorages[timedCount] = storage;
      storageTimes[timedCount] = t;
      storageStamps[timedCount] = undefined;
      timedCount++;
    }
  }

  const values: Value[] = [];
  let latest: LatestVolume | undefined;
  for (let i = 0; i < T.count; i++) {
    if (isStorageTime(i)) continue; // timestamps, not values (as the reference codec)
    if (hasNoData(i)) continue;
    const storage = T.storage[i] as number;
    if (T.table[i] === MANUFACTURER) {
      kamstrupValues(bytes, i, stampOf(storage), warnings, values);
      continue;
    }
    readModifiers(i);
    if (mods.profile !== 0) {
      const next = profileValues(bytes, i, timeOf(storage), warnings, values, latest);
      if (typeof next === 'string') return { data: { values: [] }, errors: [next], warnings };
      latest = next;
      continue;
    }
    const v = standardValue(bytes, i, stampOf(storage), warnings);
    values.push(v);
    latest = considerVolume(latest, storage, v, timeOf(storage));
  }
  if (T.manufacturerDataAt >= 0) {
    values.push({ Type: 'Manufacturer specific data', Value: toHex(bytes.subarray(T.manufacturerDataAt + 1)), Unit: 'NA', Timestamp: null });
    if (bytes[T.manufacturerDataAt] === 0x1f) warnings.push('more records follow in the next telegram (DIF 0x1F)');
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
