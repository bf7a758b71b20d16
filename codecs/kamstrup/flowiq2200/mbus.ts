/**
 * OMS / wireless M-Bus application layer (EN 13757-3, EN 13757-7 transport headers), generic
 * enough for any unencrypted OMS meter; the manufacturer-specific VIFs are left to the codec.
 *
 * A telegram after the LoRaWAN FRMPayload starts with the CI field (transport header), then
 * data records until the end:
 *
 *   DIF [DIFE…] VIF [VIFE…] data
 *
 * - DIF: bit 7 extension, bit 6 storage-number LSB, bits 5–4 function (instantaneous, maximum,
 *   minimum, value during error), bits 3–0 data coding (int 8…64, real32, BCD 2…12 digits,
 *   variable length LVAR, or a special function: 0x0F/0x1F manufacturer data to the end,
 *   0x2F idle filler). Each DIFE adds 4 storage bits, 2 tariff bits and 1 subunit bit.
 * - VIF: the quantity and decimal exponent (primary table), or 0xFB/0xFD (first VIFE from the
 *   extension tables), 0x7C/0xFC plain-text unit, 0x7F/0xFF manufacturer specific. VIFEs after
 *   a primary VIF are combinable modifiers (compact profiles, record errors, forward/backward
 *   accumulation, …).
 *
 * Times from type F/G records are the meter's wall clock without a zone; they are kept as "local
 * milliseconds" (a Date.UTC value of the wall-clock fields) until `meterTimeToUtc` applies the
 * meter's zone. Numbers are scaled exactly: raw / 10^n for negative exponents, so 7842497 L
 * becomes 7842.497 m³ without float noise.
 */
import { ByteReader, PayloadError } from '../../bytes.ts';
import { civilFromDays, daysFromCivil, daysInMonth, isoTimeNoZone, MS_PER_DAY } from '../../time.ts';

// ---------------------------------------------------------------------------------------------
// Transport header (CI field)

export interface TplHeader {
  ci: number;
  kind: 'none' | 'short' | 'long';
  accessNumber?: number;
  /** TPL status byte (application errors, power low, permanent/temporary error). */
  status?: number;
  configuration?: number;
  /** Long header only. */
  id?: string;
  manufacturer?: string;
  version?: number;
  medium?: number;
}

/** Three-letter manufacturer code from the 2-byte M-Bus flag (EN 13757-7 / DLMS FLAG id). */
export function manufacturerCode(m: number): string {
  return String.fromCharCode(((m >> 10) & 0x1f) + 64, ((m >> 5) & 0x1f) + 64, (m & 0x1f) + 64);
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** The BCD digits (as hex, most significant byte first) of `n` bytes from `start`. */
function bcdString(bytes: Uint8Array, start: number, n: number): string {
  let s = '';
  for (let i = start + n - 1; i >= start; i--) s += HEX_BYTE[bytes[i] as number] as string;
  return s;
}

function readShortTail(r: ByteReader, header: TplHeader): TplHeader {
  header.accessNumber = r.u8('access number');
  header.status = r.u8('status');
  header.configuration = r.u16le('configuration word');
  // Security mode: bits 12..8 of the configuration word. Anything but 0 is an encrypted TPL.
  const mode = (header.configuration >> 8) & 0x1f;
  if (mode !== 0) {
    throw new PayloadError(`encrypted transport layer (security mode ${mode}) cannot be decoded: the meter must send unencrypted OMS`);
  }
  return header;
}

/** Reads the CI field and its transport header; the reader is left at the first data record. */
export function parseTplHeader(r: ByteReader): TplHeader {
  const ci = r.u8('CI field');
  if (ci === 0x78) return { ci, kind: 'none' };
  if (ci === 0x7a) return readShortTail(r, { ci, kind: 'short' });
  if (ci === 0x72) {
    const at = r.offset;
    r.skip(4, 'identification number');
    const id = bcdString(r.bytes, at, 4);
    const manufacturer = manufacturerCode(r.u16le('manufacturer'));
    const version = r.u8('version');
    const medium = r.u8('medium');
    return readShortTail(r, { ci, kind: 'long', id, manufacturer, version, medium });
  }
  throw new PayloadError(`unsupported CI field 0x${hex2(ci)} at offset ${r.offset - 1} (expected 0x78, 0x7A or 0x72)`);
}

// ---------------------------------------------------------------------------------------------
// Data records

export type FunctionField = 'instantaneous' | 'maximum' | 'minimum' | 'error';
const FUNCTIONS: readonly FunctionField[] = ['instantaneous', 'maximum', 'minimum', 'error'];

export type DataCoding =
  | { kind: 'none' }
  | { kind: 'int'; bytes: number }
  | { kind: 'real' }
  | { kind: 'bcd'; bytes: number }
  | { kind: 'lvar' }
  | { kind: 'selection' };

/** Data field (DIF bits 3–0) → coding. 0xF is handled as a special function before this. */
const CODINGS: Record<number, DataCoding> = {
  0x0: { kind: 'none' },
  0x1: { kind: 'int', bytes: 1 },
  0x2: { kind: 'int', bytes: 2 },
  0x3: { kind: 'int', bytes: 3 },
  0x4: { kind: 'int', bytes: 4 },
  0x5: { kind: 'real' },
  0x6: { kind: 'int', bytes: 6 },
  0x7: { kind: 'int', bytes: 8 },
  0x8: { kind: 'selection' },
  0x9: { kind: 'bcd', bytes: 1 },
  0xa: { kind: 'bcd', bytes: 2 },
  0xb: { kind: 'bcd', bytes: 3 },
  0xc: { kind: 'bcd', bytes: 4 },
  0xd: { kind: 'lvar' },
  0xe: { kind: 'bcd', bytes: 6 },
};

export type VifTable = 'primary' | 'fb' | 'fd' | 'manufacturer' | 'plain' | 'any';

export interface DataRecord {
  /** Offset of the DIF in the payload. */
  offset: number;
  dif: number;
  storage: number;
  tariff: number;
  subunit: number;
  func: FunctionField;
  coding: DataCoding;
  /** Which VIF table `code` belongs to. */
  table: VifTable;
  /** Primary: VIF & 0x7F; fb/fd/manufacturer: the first VIFE & 0x7F (manufacturer: -1 if none). */
  code: number;
  /** Combinable VIFEs (& 0x7F) after the code; for manufacturer VIFs the further VIFEs. */
  extensions: readonly number[];
  /** True when VIFE 0x7F said: further VIFEs and the data are manufacturer specific. */
  manufacturerExtension: boolean;
  /** Unit text of a plain-text VIF. */
  plainText?: string;
  /** LVAR length byte, when the coding is LVAR. */
  lvar?: number;
  /** The data field (for LVAR: after the length byte). */
  readonly data: Uint8Array;
  /** The payload the record was read from; the data field is `dataLength` bytes from `dataStart`. */
  frame: Uint8Array;
  dataStart: number;
  dataLength: number;
}

/**
 * A parsed record. `data` is a view made on demand: the parser's hot paths read the data field
 * in place (`frame`, `dataStart`, `dataLength`), because making a typed-array view per record
 * cost more than parsing the record. Every field is set in the constructor, `plainText` and
 * `lvar` too (undefined when absent): adding them afterwards gave records with them another
 * hidden class, and every function reading records saw two (polymorphic property loads).
 */
class ParsedRecord implements DataRecord {
  // `declare`: assigned in the constructor only (a class field would be defined, then assigned).
  declare offset: number;
  declare dif: number;
  declare storage: number;
  declare tariff: number;
  declare subunit: number;
  declare func: FunctionField;
  declare coding: DataCoding;
  declare table: VifTable;
  declare code: number;
  declare extensions: readonly number[];
  declare manufacturerExtension: boolean;
  declare frame: Uint8Array;
  declare dataStart: number;
  declare dataLength: number;
  declare plainText: string | undefined;
  declare lvar: number | undefined;

  constructor(
    offset: number,
    dif: number,
    storage: number,
    tariff: number,
    subunit: number,
    func: FunctionField,
    coding: DataCoding,
    table: VifTable,
    code: number,
    extensions: readonly number[],
    manufacturerExtension: boolean,
    frame: Uint8Array,
    dataStart: number,
    dataLength: number,
    plainText: string | undefined,
    lvar: number | undefined,
  ) {
    this.offset = offset;
    this.dif = dif;
    this.storage = storage;
    this.tariff = tariff;
    this.subunit = subunit;
    this.func = func;
    this.coding = coding;
    this.table = table;
    this.code = code;
    this.extensions = extensions;
    this.manufacturerExtension = manufacturerExtension;
    this.frame = frame;
    this.dataStart = dataStart;
    this.dataLength = dataLength;
    this.plainText = plainText;
    this.lvar = lvar;
  }

  get data(): Uint8Array {
    return this.frame.subarray(this.dataStart, this.dataStart + this.dataLength);
  }
}

export interface ParsedTelegram {
  header: TplHeader;
  records: DataRecord[];
  /** Bytes after a 0x0F / 0x1F DIF: manufacturer-specific data; `more` for 0x1F. */
  manufacturerData?: { offset: number; data: Uint8Array; more: boolean };
}

const MAX_DIFE = 10;
const MAX_VIFE = 10;

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** Number of data bytes an LVAR length byte announces (EN 13757-3 LVAR table). */
export function lvarDataLength(l: number): number {
  if (l <= 0xbf) return l; // text (or a compact profile's raw bytes)
  if (l >= 0xc0 && l <= 0xc9) return l - 0xc0; // positive BCD
  if (l >= 0xd0 && l <= 0xd9) return l - 0xd0; // negative BCD
  if (l >= 0xe0 && l <= 0xef) return l - 0xe0; // binary number
  if (l >= 0xf0 && l <= 0xf4) return 4 * (l - 0xec); // binary number, 16…32 bytes
  if (l === 0xf5) return 48;
  if (l === 0xf6) return 64;
  throw new PayloadError(`reserved LVAR length byte 0x${hex2(l)}`);
}

function fixedLength(c: DataCoding): number {
  switch (c.kind) {
    case 'int':
    case 'bcd':
      return c.bytes;
    case 'real':
      return 4;
    default:
      return 0;
  }
}

/**
 * Throws the reader's truncation error for `n` bytes described by `what`. Callers check
 * `r.remaining` first, so a record's description is only built for a record that is cut short.
 */
function truncated(r: ByteReader, n: number, what: string): never {
  r.skip(n, what);
  throw new PayloadError(`truncated payload: ${what}`); // not reached: skip throws when fewer than n bytes remain
}

/** The extensions of a record without (further) VIFEs: shared, immutable. */
const NO_EXTENSIONS: readonly number[] = Object.freeze([]);

/**
 * The extensions of a record with exactly one (further) VIFE, by its value: shared, immutable.
 * One VIFE is the common case (a compact profile's 0x13, a record error): an array of its own per
 * record was most of what parsing such a record allocated.
 */
const ONE_EXTENSION: readonly (readonly number[])[] = Array.from({ length: 0x80 }, (_, e) => Object.freeze([e]));

function readRecord(r: ByteReader, offset: number, dif: number): DataRecord {
  const func = FUNCTIONS[(dif >> 4) & 0x03] as FunctionField;
  const coding = CODINGS[dif & 0x0f] as DataCoding;
  let storage = (dif >> 6) & 0x01;
  let tariff = 0;
  let subunit = 0;
  let ext = (dif & 0x80) !== 0;
  for (let i = 0; ext; i++) {
    if (i >= MAX_DIFE) throw new PayloadError(`record at offset ${offset}: more than ${MAX_DIFE} DIFEs`);
    if (r.done) truncated(r, 1, `DIFE of the record at offset ${offset}`);
    const dife = r.u8();
    storage += (dife & 0x0f) * 2 ** (1 + 4 * i);
    tariff += ((dife >> 4) & 0x03) * 2 ** (2 * i);
    subunit += ((dife >> 6) & 0x01) * 2 ** i;
    ext = (dife & 0x80) !== 0;
  }

  if (r.done) truncated(r, 1, `VIF of the record at offset ${offset}`);
  const vif = r.u8();
  const low = vif & 0x7f;
  // The VIFEs without their extension bits: after 0xFB/0xFD/0xFF the first one is the code.
  const firstIsCode = low === 0x7b || low === 0x7d || low === 0x7f;
  let first = -1;
  let one = -1; // the only VIFE after the code, while there is only one
  let more: number[] | undefined; // the VIFEs after the code, made only for records with two or more
  let vifes = 0;
  let vext = (vif & 0x80) !== 0;
  while (vext) {
    if (vifes >= MAX_VIFE) throw new PayloadError(`record at offset ${offset}: more than ${MAX_VIFE} VIFEs`);
    if (r.done) truncated(r, 1, `VIFE of the record at offset ${offset}`);
    const vife = r.u8();
    if (firstIsCode && vifes === 0) first = vife & 0x7f;
    else if (more) more.push(vife & 0x7f);
    else if (one < 0) one = vife & 0x7f;
    else more = [one, vife & 0x7f];
    vifes++;
    vext = (vife & 0x80) !== 0;
  }

  let table: VifTable = 'primary';
  let code = low;
  let plainText: string | undefined;
  if (low === 0x7b || low === 0x7d) {
    if (vifes === 0) throw new PayloadError(`record at offset ${offset}: VIF 0x${hex2(vif)} needs a VIFE from its extension table`);
    table = low === 0x7b ? 'fb' : 'fd';
    code = first;
  } else if (low === 0x7f) {
    table = 'manufacturer';
    code = first; // -1 without VIFEs
  } else if (low === 0x7e) {
    table = 'any';
  } else if (low === 0x7c) {
    table = 'plain';
    const len = r.u8(`plain-text unit length of the record at offset ${offset}`);
    plainText = Array.from(r.take(len, `plain-text unit of the record at offset ${offset}`))
      .reverse()
      .map((c) => String.fromCharCode(c))
      .join('');
  }
  // A combinable VIFE 0x7F: everything after it (VIFEs, meaning of the data) is manufacturer specific.
  let rest: readonly number[] = more ?? (one < 0 ? NO_EXTENSIONS : (ONE_EXTENSION[one] as readonly number[]));
  const mfrAt = rest.length > 0 && (table === 'primary' || table === 'fb' || table === 'fd') ? rest.indexOf(0x7f) : -1;
  const manufacturerExtension = mfrAt >= 0;
  if (manufacturerExtension) rest = rest.slice(0, mfrAt);

  let lvar: number | undefined;
  let n: number;
  if (coding.kind === 'lvar') {
    if (r.done) truncated(r, 1, `LVAR length of the record at offset ${offset}`);
    lvar = r.u8();
    try {
      n = lvarDataLength(lvar);
    } catch (err) {
      throw new PayloadError(`record at offset ${offset}: ${(err as Error).message}`);
    }
  } else {
    n = fixedLength(coding);
  }
  if (r.remaining < n) truncated(r, n, `data of the record at offset ${offset} (DIF 0x${hex2(dif)}, VIF 0x${hex2(vif)})`);
  const dataStart = r.offset;
  r.skip(n);
  return new ParsedRecord(offset, dif, storage, tariff, subunit, func, coding, table, code, rest, manufacturerExtension, r.bytes, dataStart, n, plainText, lvar);
}

/** Splits the data records after the transport header (idle fillers skipped). */
export function parseRecords(r: ByteReader): Omit<ParsedTelegram, 'header'> {
  const records: DataRecord[] = [];
  while (!r.done) {
    const offset = r.offset;
    const dif = r.u8('DIF');
    if (dif === 0x2f) continue; // idle filler
    if (dif === 0x0f || dif === 0x1f) {
      return { records, manufacturerData: { offset, data: r.rest(), more: dif === 0x1f } };
    }
    if ((dif & 0x0f) === 0x0f) throw new PayloadError(`unsupported special DIF 0x${hex2(dif)} at offset ${offset}`);
    records.push(readRecord(r, offset, dif));
  }
  return { records };
}

export function parseTelegram(bytes: Uint8Array): ParsedTelegram {
  const r = new ByteReader(bytes);
  const header = parseTplHeader(r);
  const { records, manufacturerData } = parseRecords(r);
  return manufacturerData ? { header, records, manufacturerData } : { header, records };
}

// ---------------------------------------------------------------------------------------------
// Values

/** A decoded number, or why there is none (invalid marker, bad BCD digit, NaN …). */
export type RawNumber = { ok: true; value: number } | { ok: false; reason: string };

// The number readers work on `n` bytes of `data` from `start`, so that profile elements are read
// in place (a subarray per element would allocate a typed array each time).

/** 2^(8n) - 1 for n = 0..6: the all-ones (invalid) value of an n-byte unsigned integer. */
const ALL_ONES = [0, 0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff, 0xffffffffffff];

/** 2^(8n - 1) for n = 0..6: the sign bit of an n-byte integer. */
const SIGN_BIT = [0.5, 0x80, 0x8000, 0x800000, 0x80000000, 0x8000000000, 0x800000000000];

function signedLE(data: Uint8Array, start = 0, n = data.length - start): RawNumber {
  if (n >= 1 && n <= 6) {
    // Up to 48 bits: exact in a double, no BigInt needed.
    let v = 0;
    for (let i = start + n - 1; i >= start; i--) v = v * 256 + (data[i] as number);
    const half = SIGN_BIT[n] as number;
    if (v === half) return { ok: false, reason: 'invalid marker' }; // the most negative value
    return { ok: true, value: v > half ? v - 2 * half : v };
  }
  let u = 0n;
  for (let i = start + n - 1; i >= start; i--) u = (u << 8n) | BigInt(data[i] as number);
  const bits = BigInt(8 * n);
  const min = -(1n << (bits - 1n));
  const v = u >= 1n << (bits - 1n) ? u - (1n << bits) : u;
  // The most negative value is the "invalid" marker of OMS meters (0x80, 0x8000, …).
  if (v === min) return { ok: false, reason: 'invalid marker' };
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return { ok: false, reason: 'value beyond 2^53' };
  return { ok: true, value: Number(v) };
}

/** `signedLE` for 1..6 bytes as a number, NaN for the invalid marker (the most negative value). */
function signedNumberAt(data: Uint8Array, start: number, n: number): number {
  let v = 0;
  for (let i = start + n - 1; i >= start; i--) v = v * 256 + (data[i] as number);
  const half = SIGN_BIT[n] as number;
  if (v === half) return Number.NaN;
  return v > half ? v - 2 * half : v;
}

/** `bcdAt` (not negative) as a number, NaN for a non-decimal digit. */
export function bcdNumberAt(data: Uint8Array, start: number, n: number): number {
  let v = 0;
  let neg = false;
  for (let i = n - 1; i >= 0; i--) {
    const b = data[start + i] as number;
    let hi = b >> 4;
    const lo = b & 0x0f;
    if (i === n - 1 && hi === 0x0f) {
      neg = true;
      hi = 0;
    }
    if (hi > 9 || lo > 9) return Number.NaN;
    v = v * 100 + hi * 10 + lo;
  }
  return neg ? -v : v;
}

function numberOf(r: RawNumber): number {
  return r.ok ? r.value : Number.NaN;
}

export function unsignedAt(data: Uint8Array, start: number, n: number): number {
  let v = 0;
  for (let i = start + Math.min(n, 6) - 1; i >= start; i--) v = v * 256 + (data[i] as number);
  return v;
}

/** Unsigned little-endian integer (bit fields, identifiers). */
export function unsignedLE(data: Uint8Array): number {
  return unsignedAt(data, 0, data.length);
}

/** `unsignedLE` of a record's data field. */
export function recordUnsigned(rec: DataRecord): number {
  return unsignedAt(rec.frame, rec.dataStart, rec.dataLength);
}

function bcdAt(data: Uint8Array, start: number, n: number, negative: boolean): RawNumber {
  const v = bcdNumberAt(data, start, n);
  if (Number.isNaN(v)) return { ok: false, reason: 'non-decimal BCD digit' };
  // -Math.abs keeps -0 for a negative zero, as the digit loop gave it.
  return { ok: true, value: negative ? -Math.abs(v) : v };
}

/** Type A BCD, least significant byte first; a high nibble F in the top byte means negative. */
export function bcdValue(data: Uint8Array, negative = false): RawNumber {
  return bcdAt(data, 0, data.length, negative);
}

/** `bcdValue` of a record's data field. */
export function recordBcd(rec: DataRecord): RawNumber {
  return bcdAt(rec.frame, rec.dataStart, rec.dataLength, false);
}

/**
 * `rawNumber` as a plain number, NaN when it has none: for the decoder's hot path, which needs
 * no reason (a valid raw number is never NaN: reals are checked finite). Integer and BCD fields
 * are read without the result object; the rare kinds go through `rawNumber`.
 */
export function recordNumber(rec: DataRecord): number {
  const c = rec.coding;
  if (c.kind === 'int' && rec.dataLength >= 1 && rec.dataLength <= 6) return signedNumberAt(rec.frame, rec.dataStart, rec.dataLength);
  if (c.kind === 'bcd') return bcdNumberAt(rec.frame, rec.dataStart, rec.dataLength);
  return numberOf(rawNumber(rec));
}

/**
 * `recordNumber` of a data field given by its place: `n` bytes of `frame` from `start`, coded as
 * DIF data field `coding` (bits 3–0), `lvar` its LVAR length byte (-1 if none).
 */
export function numberAt(frame: Uint8Array, start: number, n: number, coding: number, lvar: number): number {
  if (coding >= 0x1 && coding <= 0x7 && coding !== 0x5) {
    return n <= 6 ? signedNumberAt(frame, start, n) : numberOf(signedLE(frame, start, n));
  }
  if (coding >= 0x9 && coding <= 0xe && coding !== 0xd) return bcdNumberAt(frame, start, n);
  if (coding === 0x5) {
    REAL_BYTES[0] = frame[start] as number;
    REAL_BYTES[1] = frame[start + 1] as number;
    REAL_BYTES[2] = frame[start + 2] as number;
    REAL_BYTES[3] = frame[start + 3] as number;
    const f = REAL_VIEW.getFloat32(0, true);
    return Number.isFinite(f) ? f : Number.NaN;
  }
  if (coding === 0xd) {
    if (lvar >= 0xc0 && lvar <= 0xc9) return bcdNumberAt(frame, start, n);
    if (lvar >= 0xd0 && lvar <= 0xd9) return numberOf(bcdAt(frame, start, n, true));
    if (lvar >= 0xe0 && lvar <= 0xef) return numberOf(signedLE(frame, start, n));
  }
  return Number.NaN;
}

/** Four bytes to read a real32 from (a DataView per record would be an allocation each). */
const REAL_BYTES = new Uint8Array(4);
const REAL_VIEW = new DataView(REAL_BYTES.buffer);

/** The record's data as a number (int, BCD, real32, numeric LVAR). */
export function rawNumber(rec: DataRecord): RawNumber {
  const c = rec.coding;
  if (c.kind === 'int') return signedLE(rec.frame, rec.dataStart, rec.dataLength);
  if (c.kind === 'bcd') return bcdAt(rec.frame, rec.dataStart, rec.dataLength, false);
  if (c.kind === 'real') {
    const f = new DataView(rec.data.buffer, rec.data.byteOffset, 4).getFloat32(0, true);
    return Number.isFinite(f) ? { ok: true, value: f } : { ok: false, reason: 'not a finite real' };
  }
  if (c.kind === 'lvar' && rec.lvar !== undefined) {
    if (rec.lvar >= 0xc0 && rec.lvar <= 0xc9) return bcdValue(rec.data);
    if (rec.lvar >= 0xd0 && rec.lvar <= 0xd9) return bcdValue(rec.data, true);
    if (rec.lvar >= 0xe0 && rec.lvar <= 0xef) return signedLE(rec.data);
  }
  return { ok: false, reason: `no number in ${c.kind} data` };
}

/** 10^k for small k, computed once (the same doubles as `10 ** k`). */
const POW10 = Array.from({ length: 32 }, (_, k) => 10 ** k);

/** raw × 10^exponent without binary noise (divide for negative exponents). */
export function scale(raw: number, exponent: number, isReal = false): number {
  return scaleBy(raw, exponent < 0, pow10(exponent), isReal);
}

/** 10^|exponent|: what `scale` divides or multiplies by. */
export function pow10(exponent: number): number {
  const k = exponent < 0 ? -exponent : exponent;
  return k < POW10.length ? (POW10[k] as number) : 10 ** k;
}

/** `scale` with its factor computed once (`pow10`), for the points of a profile, which share it. */
export function scaleBy(raw: number, divide: boolean, factor: number, isReal: boolean): number {
  const v = divide ? raw / factor : raw * factor;
  return isReal ? Number(v.toPrecision(7)) : v;
}

// ---------------------------------------------------------------------------------------------
// Quantities (VIF tables)

export interface Quantity {
  name: string;
  unit: string;
  /** value = raw × 10^exponent */
  exponent: number;
  kind: 'number' | 'datetime' | 'date' | 'bits' | 'text';
}

const DURATION_UNITS = ['s', 'min', 'h', 'd'] as const;
/** TTN's units of the averaging/actuality durations. */
const DURATION_WORDS = ['seconds', 'minutes', 'hours', 'days'] as const;

function q(name: string, unit: string, exponent = 0, kind: Quantity['kind'] = 'number'): Quantity {
  return Object.freeze({ name, unit, exponent, kind });
}

/** EN 13757-3 primary VIF table (VIF & 0x7F). */
function primaryQuantity(code: number): Quantity | undefined {
  const n3 = code & 0x07;
  const n2 = code & 0x03;
  if (code <= 0x07) return q('Energy', 'Wh', n3 - 3);
  if (code <= 0x0f) return q('Energy', 'J', n3);
  if (code <= 0x17) return q('Volume', 'm3', n3 - 6);
  if (code <= 0x1f) return q('Mass', 'kg', n3 - 3);
  if (code <= 0x23) return q('On time', DURATION_UNITS[n2] as string);
  if (code <= 0x27) return q('Operating time', DURATION_UNITS[n2] as string);
  if (code <= 0x2f) return q('Power', 'W', n3 - 3);
  if (code <= 0x37) return q('Power', 'J/h', n3);
  if (code <= 0x3f) return q('Volume flow', 'm3/h', n3 - 6);
  if (code <= 0x47) return q('Volume flow (ext.)', 'm3/min', n3 - 7);
  if (code <= 0x4f) return q('Volume flow (ext.)', 'm3/s', n3 - 9);
  if (code <= 0x57) return q('Mass flow', 'kg/h', n3 - 3);
  // Units as TTN's codec spells them ("C", not "°C": plain ASCII).
  if (code <= 0x5b) return q('Flow temperature', 'C', n2 - 3);
  if (code <= 0x5f) return q('Return temperature', 'C', n2 - 3);
  if (code <= 0x63) return q('Temperature difference', 'K', n2 - 3);
  if (code <= 0x67) return q('External temperature', 'C', n2 - 3);
  if (code <= 0x6b) return q('Pressure', 'bar', n2 - 3);
  if (code === 0x6c) return q('Date/time', 'NA', 0, 'date');
  if (code === 0x6d) return q('Date/time', 'NA', 0, 'datetime');
  if (code === 0x6e) return q('Units for HCA', 'H.C.A.');
  if (code === 0x6f) return undefined;
  if (code <= 0x73) return q('Averaging duration', DURATION_WORDS[n2] as string);
  if (code <= 0x77) return q('Actuality duration', DURATION_WORDS[n2] as string);
  if (code === 0x78) return q('Fabrication no', 'NA', 0, 'bits');
  if (code === 0x79) return q('Enhanced identification', 'NA', 0, 'bits');
  if (code === 0x7a) return q('Address', 'NA', 0, 'bits');
  return undefined;
}

/** The FD extension table: the codes OMS water meters use. */
const FD_NAMED: Record<number, Quantity> = {
  0x08: q('Access number', 'NA', 0, 'bits'),
  0x09: q('Medium', 'NA', 0, 'bits'),
  0x0a: q('Manufacturer', 'NA', 0, 'bits'),
  0x0b: q('Parameter set identification', 'NA', 0, 'bits'),
  0x0c: q('Model/Version', 'NA', 0, 'bits'),
  0x0d: q('Hardware version', 'NA', 0, 'bits'),
  0x0e: q('Firmware version', 'NA', 0, 'bits'),
  0x0f: q('Software version', 'NA', 0, 'bits'),
  0x17: q('Error flags', 'NA', 0, 'bits'),
  0x1a: q('Digital output', 'NA', 0, 'bits'),
  0x1b: q('Digital input', 'NA', 0, 'bits'),
  0x28: q('Storage interval', 'months'),
  0x29: q('Storage interval', 'years'),
  0x3a: q('Dimensionless', 'NA'),
  0x74: q('Remaining battery lifetime', 'd'),
};

function fdQuantity(code: number): Quantity | undefined {
  if (FD_NAMED[code]) return FD_NAMED[code];
  if (code >= 0x24 && code <= 0x27) return q('Storage interval', DURATION_UNITS[code & 0x03] as string);
  if (code >= 0x40 && code <= 0x4f) return q('Voltage', 'V', (code & 0x0f) - 9);
  if (code >= 0x50 && code <= 0x5f) return q('Current', 'A', (code & 0x0f) - 12);
  return undefined;
}

/** The FB extension table: only the large-unit volume and energy registers. */
function fbQuantity(code: number): Quantity | undefined {
  if (code <= 0x01) return q('Energy', 'MWh', (code & 0x01) - 1);
  if (code >= 0x10 && code <= 0x11) return q('Volume', 'm3', (code & 0x01) + 2);
  return undefined;
}

// The tables above as lookups by code (0..0x7F), built once: quantities are immutable.
const PRIMARY_TABLE = Array.from({ length: 0x80 }, (_, code) => primaryQuantity(code));
const FD_TABLE = Array.from({ length: 0x80 }, (_, code) => fdQuantity(code));
const FB_TABLE = Array.from({ length: 0x80 }, (_, code) => fbQuantity(code));

/** The standard quantity of a record, or undefined (manufacturer-specific or unknown code). */
export function recordQuantity(rec: DataRecord): Quantity | undefined {
  switch (rec.table) {
    case 'primary':
      return PRIMARY_TABLE[rec.code];
    case 'fd':
      return FD_TABLE[rec.code];
    case 'fb':
      return FB_TABLE[rec.code];
    case 'plain':
      return q(rec.plainText ?? '', rec.plainText ?? 'NA');
    default:
      return undefined;
  }
}

/** The quantity of a primary, FD or FB code (0..0x7F); undefined when the table has none. */
export function primaryQuantityOf(code: number): Quantity | undefined {
  return PRIMARY_TABLE[code];
}
export function fdQuantityOf(code: number): Quantity | undefined {
  return FD_TABLE[code];
}
export function fbQuantityOf(code: number): Quantity | undefined {
  return FB_TABLE[code];
}
/** The quantity of a plain-text VIF: its unit text is name and unit. */
export function plainQuantity(text: string): Quantity {
  return q(text, text);
}

// Combinable (orthogonal) VIFEs, EN 13757-3 table 15 (the ones that change a value's meaning).
export const VIFE_INVERSE_COMPACT_PROFILE = 0x13;
export const VIFE_COMPACT_PROFILE = 0x1f;
export const VIFE_COMPACT_PROFILE_REGISTERS = 0x1e;
export const RECORD_ERRORS: Record<number, string> = {
  0x15: 'no data available',
  0x16: 'data overflow',
  0x17: 'data underflow',
  0x18: 'data error',
  0x1c: 'premature end of record',
};
/** The combinable VIFEs that qualify a value, in TTN's reference codec's wording (prefixed to the type). */
export const QUALIFIERS: Record<number, string> = {
  0x12: 'Averaged value',
  0x3b: 'accumulation only if positive contributions (forward flow contribution)',
  0x3c: 'Reverse',
  0x3e: 'Value at base conditions',
  0x7e: 'Future value',
};

export interface Modifiers {
  profile?: 'inverse' | 'forward' | 'registers';
  /** Set when a record-error VIFE says the value is not valid. */
  recordError?: string;
  /** Qualifiers for the type name, e.g. ["Reverse"]. */
  qualifiers: readonly string[];
  /** Extra decimal exponent from multiplicative correction VIFEs. */
  exponent: number;
  /** VIFEs this parser does not interpret. */
  unknown: readonly number[];
}

/** The modifiers of a record without combinable VIFEs (most records): one shared, immutable value. */
const NO_MODIFIERS: Modifiers = Object.freeze({ qualifiers: Object.freeze([]), exponent: 0, unknown: Object.freeze([]) });

export function modifiers(rec: DataRecord): Modifiers {
  if (rec.table === 'manufacturer' || rec.extensions.length === 0) return NO_MODIFIERS;
  const m: Modifiers = { qualifiers: [], exponent: 0, unknown: [] };
  const qualifiers: string[] = [];
  const unknown: number[] = [];
  for (const e of rec.extensions) {
    if (e === VIFE_INVERSE_COMPACT_PROFILE) m.profile = 'inverse';
    else if (e === VIFE_COMPACT_PROFILE) m.profile = 'forward';
    else if (e === VIFE_COMPACT_PROFILE_REGISTERS) m.profile = 'registers';
    else if (RECORD_ERRORS[e]) m.recordError = RECORD_ERRORS[e];
    else if (QUALIFIERS[e]) qualifiers.push(QUALIFIERS[e] as string);
    else if (e >= 0x70 && e <= 0x77) m.exponent += (e & 0x07) - 6; // multiplicative correction 10^(nnn-6)
    else if (e === 0x7d) m.exponent += 3;
    else unknown.push(e);
  }
  m.qualifiers = qualifiers;
  m.unknown = unknown;
  return m;
}

// ---------------------------------------------------------------------------------------------
// Dates (types F and G): meter wall clock as "local milliseconds"

export type LocalTime = number;

function century(hundredYear: number, y: number): number {
  // Meters that leave the hundred-year bits 0 mean 2000–2080 (common practice of OMS meters).
  if (hundredYear > 0) return 1900 + 100 * hundredYear + y;
  return y < 81 ? 2000 + y : 1900 + y;
}

function validDate(year: number, month: number, day: number, hour = 0, minute = 0): LocalTime | undefined {
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59) return undefined;
  if (day > daysInMonth(year, month)) return undefined; // rejects 31 February
  return daysFromCivil(year, month, day) * MS_PER_DAY + hour * 3_600_000 + minute * 60_000; // = Date.UTC (year >= 1900 here)
}

/** Type F (4 bytes): minute, hour, day, month, year; bit 7 of byte 0 = invalid. */
export function typeF(d: Uint8Array): LocalTime | undefined {
  return typeFBytes(d[0] ?? 0, d[1] ?? 0, d[2] ?? 0, d[3] ?? 0);
}

function typeFBytes(b0: number, b1: number, b2: number, b3: number): LocalTime | undefined {
  if (b0 & 0x80) return undefined;
  const y = ((b3 >> 4) << 3) | (b2 >> 5);
  if (y > 99) return undefined;
  return validDate(century((b1 >> 5) & 0x03, y), b3 & 0x0f, b2 & 0x1f, b1 & 0x1f, b0 & 0x3f);
}

/** Type G (2 bytes): day, month, year. */
export function typeG(d: Uint8Array): LocalTime | undefined {
  return typeGBytes(d[0] ?? 0, d[1] ?? 0);
}

function typeGBytes(b0: number, b1: number): LocalTime | undefined {
  const y = ((b1 & 0xf0) >> 1) | ((b0 & 0xe0) >> 5);
  if (y > 99) return undefined;
  return validDate(century(0, y), b1 & 0x0f, b0 & 0x1f);
}

/** Type F bytes for a wall-clock time (seconds dropped); hundred-year bits set for 2000–2099. */
export function encodeTypeF(local: LocalTime): number[] {
  const t = new Date(local);
  const year = t.getUTCFullYear();
  if (year < 2000 || year > 2099) throw new PayloadError(`type F date: year ${year} outside 2000..2099`);
  const y = year - 2000;
  return [t.getUTCMinutes(), t.getUTCHours() | (1 << 5), t.getUTCDate() | ((y & 0x07) << 5), (t.getUTCMonth() + 1) | ((y >> 3) << 4)];
}

/** "YYYY-MM-DDTHH:MM:SS.sss" without a zone: how the meter's wall clock is printed. */
export function formatLocalTime(local: LocalTime): string {
  return isoTimeNoZone(local);
}

/** The wall-clock time of a date record, or undefined when it is not a valid type F/G time. */
export function recordTime(rec: DataRecord): LocalTime | undefined {
  if (rec.table !== 'primary') return undefined;
  const f = rec.frame;
  const at = rec.dataStart;
  if (rec.code === 0x6d && rec.coding.kind === 'int' && rec.coding.bytes === 4) {
    return typeFBytes(f[at] as number, f[at + 1] as number, f[at + 2] as number, f[at + 3] as number);
  }
  if (rec.code === 0x6c && rec.coding.kind === 'int' && rec.coding.bytes === 2) return typeGBytes(f[at] as number, f[at + 1] as number);
  return undefined;
}

/**
 * `recordTime` of a primary-table record given by its place: VIF code `code`, DIF data field
 * `coding`, data field from `at` in `frame`.
 */
export function timeAt(frame: Uint8Array, at: number, code: number, coding: number): LocalTime | undefined {
  if (code === 0x6d && coding === 0x4) return typeFBytes(frame[at] as number, frame[at + 1] as number, frame[at + 2] as number, frame[at + 3] as number);
  if (code === 0x6c && coding === 0x2) return typeGBytes(frame[at] as number, frame[at + 1] as number);
  return undefined;
}

/** Whether a record is a plain date/time that times the other records of its storage number. */
export function isStorageTime(rec: DataRecord): boolean {
  return (
    rec.table === 'primary' &&
    (rec.code === 0x6c || rec.code === 0x6d) &&
    rec.func === 'instantaneous' &&
    rec.tariff === 0 &&
    rec.subunit === 0 &&
    rec.extensions.length === 0
  );
}

// ---------------------------------------------------------------------------------------------
// Compact profiles (EN 13757-3 annex F)

export interface ProfilePoint {
  raw: number;
  time: LocalTime;
}

function addMonths(t: LocalTime, months: number): LocalTime {
  const days = Math.floor(t / MS_PER_DAY);
  const { year, month, day } = civilFromDays(days);
  const targetMonth0 = month - 1 + months;
  const targetYear = year + Math.floor(targetMonth0 / 12);
  if (Number.isInteger(t) && year >= 100 && year <= 9999 && targetYear >= 100 && targetYear <= 9999) {
    // The same result as the Date arithmetic below (where Date.UTC would read years 0..99 as 19xx).
    const targetMonth = targetMonth0 - 12 * Math.floor(targetMonth0 / 12) + 1;
    const last = daysInMonth(targetYear, targetMonth);
    const endOfMonth = day === daysInMonth(year, month);
    const minutes = Math.floor((t - days * MS_PER_DAY) / 60_000); // seconds are dropped, as Date.UTC(…, h, min) does
    return daysFromCivil(targetYear, targetMonth, endOfMonth ? last : Math.min(day, last)) * MS_PER_DAY + minutes * 60_000;
  }
  const d = new Date(t);
  const endOfMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate() === d.getUTCDate();
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes()));
  const last = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  // A series on month ends stays on month ends (31 May → 30 April → 31 March …).
  target.setUTCDate(endOfMonth ? last : Math.min(d.getUTCDate(), last));
  return target.getTime();
}

const UNIT_MS = [1_000, 60_000, 3_600_000, 86_400_000] as const;

/**
 * Expands a compact profile record: spacing control (bits 3–0 element coding as in a DIF, bits
 * 5–4 spacing unit s/min/h/d, bits 7–6 increment mode), spacing value (for days: 0xFE = one
 * month), then the elements. Increment modes: 00 absolute values, 01 positive increments, 10
 * negative increments, 11 signed differences. An inverse profile walks back in time from the
 * base value and time; a forward profile walks forward. Returns the points after the base.
 */
export function expandProfile(rec: DataRecord, direction: 'inverse' | 'forward', baseRaw: number, baseTime: LocalTime): ProfilePoint[] {
  const points = new ProfilePoints();
  expandProfileInto(rec, direction, baseRaw, baseTime, points);
  return points.list;
}

/** Takes the points of a compact profile as `expandProfileInto` walks it, oldest or newest first. */
export interface ProfileSink {
  point(raw: number, time: LocalTime): void;
}

/** A sink that keeps the points as a list. */
export class ProfilePoints implements ProfileSink {
  readonly list: ProfilePoint[] = [];
  point(raw: number, time: LocalTime): void {
    this.list.push({ raw, time });
  }
}

/**
 * `expandProfile` into a sink, point by point: a decoder turns each point into its value
 * directly, without arrays of raw values and times in between (they were a tenth of what a
 * decode allocated). Returns
 * false when the profile stopped early: an element with the invalid marker (all ones unsigned,
 * the most negative signed value, a non-decimal BCD digit) or a spacing value no time step has
 * (0, 0xFF, 0xFB–0xFD, 0xFE other than monthly) — as TTN's reference codec, which warns and
 * leaves that point and the ones after it out. The points before it are kept.
 */
export function expandProfileInto(
  rec: DataRecord,
  direction: 'inverse' | 'forward',
  baseRaw: number,
  baseTime: LocalTime,
  sink: ProfileSink,
): boolean {
  return expandProfileAt(rec.frame, rec.dataStart, rec.dataLength, rec.offset, direction, baseRaw, baseTime, sink);
}

/** `expandProfileInto` for the profile whose data field is `length` bytes of `frame` from `start` (its DIF at `offset`). */
export function expandProfileAt(
  frame: Uint8Array,
  start: number,
  length: number,
  offset: number,
  direction: 'inverse' | 'forward',
  baseRaw: number,
  baseTime: LocalTime,
  sink: ProfileSink,
): boolean {
  const where = `compact profile at offset ${offset}`;
  if (length < 2) {
    // Too short for the spacing bytes: the reader's error says which one is missing.
    const r = new ByteReader(frame.subarray(start, start + length));
    r.u8(`spacing control of the ${where}`);
    r.u8(`spacing value of the ${where}`);
  }
  const control = frame[start] as number;
  const spacing = frame[start + 1] as number;
  const end = start + length;
  const elementBytes = length - 2;
  const coding = CODINGS[control & 0x0f];
  const size = coding ? fixedLength(coding) : 0;
  if (!coding || (coding.kind !== 'int' && coding.kind !== 'bcd')) {
    throw new PayloadError(`${where}: unsupported element coding 0x${hex2(control & 0x0f)}`);
  }
  if (elementBytes % size !== 0) {
    throw new PayloadError(`${where}: ${elementBytes} element bytes are not a multiple of the ${size}-byte element size`);
  }
  const unit = (control >> 4) & 0x03;
  const mode = (control >> 6) & 0x03;
  if (spacing === 0 || spacing > 0xfe || (spacing > 250 && spacing !== 0xfe) || (spacing === 0xfe && unit !== 3)) return false;
  // The invalid marker of an unsigned element: all bits set. (A table: `2 ** (8 * size)` with a
  // variable exponent is a Math.pow call, which cost more than the rest of a short profile.)
  // An 8-byte element is read as its low 6 bytes (exact in a double), which are never 2^64 - 1.
  const allOnes = size <= 6 ? (ALL_ONES[size] as number) : -1;
  const sign = direction === 'inverse' ? -1 : 1;
  const stepMs = sign * spacing * (UNIT_MS[unit] as number); // unless monthly (0xFE)
  let value = baseRaw;
  let time = baseTime;
  const bcd = coding.kind === 'bcd';
  for (let at = start + 2; at < end; at += size) {
    // Elements are read as plain numbers, NaN when invalid: a result object per element was
    // most of what a profile allocated.
    let element: number;
    if (bcd) element = bcdNumberAt(frame, at, size);
    else if (mode === 3) element = size <= 6 ? signedNumberAt(frame, at, size) : numberOf(signedLE(frame, at, size));
    else {
      const v = unsignedAt(frame, at, size);
      element = v === allOnes ? Number.NaN : v;
    }
    if (Number.isNaN(element)) return false;
    if (mode === 0) value = element;
    else if (mode === 2) value = value - sign * element; // negative increments
    else value = value + sign * element; // positive increments / signed differences
    time = spacing === 0xfe ? addMonths(time, sign) : time + stepMs;
    sink.point(value, time);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Meter time zone

const OFFSET_RE = /^([+-])(\d{2}):(\d{2})$/;

/** What is kept per IANA zone: its formatter and the offsets already computed. */
interface ZoneState {
  format: Intl.DateTimeFormat;
  /**
   * Whether `format()` prints exactly month/day/year, hour:minute:second (checked once with
   * formatToParts): then its text is read, which is several times cheaper than formatToParts.
   */
  plainText: boolean;
  /**
   * Offsets (minutes) by UTC second. The offset depends only on floor(utcMs / 1000), so this memo
   * is exact; meters of one zone report the same instants (whole hours), so it is mostly hit.
   */
  offsets: Map<number, number>;
}

const ZONES = new Map<string, ZoneState | null>();
const MAX_MEMO = 50_000;
const PLAIN_PARTS = 'month/day/year, hour:minute:second';
const PLAIN_TEXT_RE = /^(\d+)\/(\d+)\/(\d+), (\d+):(\d+):(\d+)$/;

/** The cached formatter state of `zone`; null for an unknown zone. */
function zoneState(zone: string): ZoneState | null {
  let state = ZONES.get(zone);
  if (state === undefined) {
    let format: Intl.DateTimeFormat | undefined;
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      format = undefined;
    }
    if (format) {
      const layout = format
        .formatToParts(new Date(0))
        .map((p) => (p.type === 'literal' ? p.value : p.type))
        .join('');
      state = { format, plainText: layout === PLAIN_PARTS, offsets: new Map() };
    } else {
      state = null;
    }
    if (ZONES.size < 64) ZONES.set(zone, state); // bounded: zone names come from device variables
  }
  return state;
}

/** The offset as the wall-clock fields of `utcMs` in the zone give it. */
function computeOffset(state: ZoneState, utcMs: number): number {
  const date = new Date(utcMs);
  let year = 0;
  let month = 0;
  let day = 0;
  let hour = 0;
  let minute = 0;
  let second = 0;
  const m = state.plainText ? PLAIN_TEXT_RE.exec(state.format.format(date)) : null;
  if (m) {
    month = Number(m[1]);
    day = Number(m[2]);
    year = Number(m[3]);
    hour = Number(m[4]);
    minute = Number(m[5]);
    second = Number(m[6]);
  } else {
    // The first part of each type, as Array.find would pick it; a missing part reads as 0.
    const seen = new Set<string>();
    for (const p of state.format.formatToParts(date)) {
      if (seen.has(p.type)) continue;
      seen.add(p.type);
      const v = Number(p.value);
      if (p.type === 'year') year = v;
      else if (p.type === 'month') month = v;
      else if (p.type === 'day') day = v;
      else if (p.type === 'hour') hour = v;
      else if (p.type === 'minute') minute = v;
      else if (p.type === 'second') second = v;
    }
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  return Math.round((wall - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/** Offset (minutes) of a fixed ±HH:MM zone; undefined when out of range. */
function fixedOffset(m: RegExpExecArray): number | undefined {
  const [h, min] = [Number(m[2]), Number(m[3])];
  return h <= 14 && min < 60 ? (m[1] === '-' ? -1 : 1) * (h * 60 + min) : undefined;
}

/** Offset (minutes) of `zone` at the UTC instant `utcMs`; undefined for an unknown zone. */
export function zoneOffsetMinutes(zone: string, utcMs: number): number | undefined {
  if (zone === 'UTC' || zone === 'Z') return 0;
  const m = OFFSET_RE.exec(zone);
  if (m) return fixedOffset(m);
  const state = zoneState(zone);
  if (!state) return undefined;
  const key = Math.floor(utcMs / 1000);
  let offset = state.offsets.get(key);
  if (offset === undefined) {
    offset = computeOffset(state, utcMs);
    if (state.offsets.size >= MAX_MEMO) state.offsets.clear();
    state.offsets.set(key, offset);
  }
  return offset;
}

/** Equality as a Set sees it: 0 equals -0, NaN equals NaN. */
function sameValueZero(a: number, b: number): boolean {
  return a === b || (a !== a && b !== b);
}

/**
 * The UTC instant of a meter wall-clock time in `zone` (UTC, ±HH:MM or an IANA name). In the
 * repeated hour when summer time ends the earlier (summer-time) instant is taken.
 */
export function meterTimeToUtc(local: LocalTime, zone: string): number | undefined {
  // UTC and fixed offsets have one offset at every instant: the general rule below reduces to this.
  if (zone === 'UTC' || zone === 'Z') return local;
  const fixed = OFFSET_RE.exec(zone);
  if (fixed) {
    const offset = fixedOffset(fixed);
    return offset === undefined ? undefined : local - offset * 60_000;
  }
  const here = zoneOffsetMinutes(zone, local);
  if (here === undefined) return undefined;
  // Offsets in force around that day; a candidate instant is right when its own offset matches.
  const before = zoneOffsetMinutes(zone, local - 12 * 3_600_000) ?? here;
  const after = zoneOffsetMinutes(zone, local + 12 * 3_600_000) ?? here;
  let earliest = Number.POSITIVE_INFINITY;
  let found = false;
  for (let i = 0; i < 3; i++) {
    const o = i === 0 ? here : i === 1 ? before : after;
    // each distinct offset once, in that order (as a Set of them would give)
    if ((i === 1 && sameValueZero(o, here)) || (i === 2 && (sameValueZero(o, here) || sameValueZero(o, before)))) continue;
    const t = local - o * 60_000;
    if (zoneOffsetMinutes(zone, t) === (local - t) / 60_000) {
      earliest = Math.min(earliest, t);
      found = true;
    }
  }
  // None valid: the wall-clock time falls into the gap when summer time starts; keep the old offset.
  return found ? earliest : local - here * 60_000;
}

/** The meter's wall clock for a UTC instant. */
export function utcToMeterTime(utcMs: number, zone: string): LocalTime | undefined {
  const off = zoneOffsetMinutes(zone, utcMs);
  return off === undefined ? undefined : utcMs + off * 60_000;
}
