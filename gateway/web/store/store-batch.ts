/**
 * What the local store takes from a log record (`StoreRecord`), and the compact binary form in
 * which sink `local` hands a batch of them to its worker thread (one `ArrayBuffer`, transferred,
 * not copied).
 *
 * Why not postMessage of the records themselves: the structured clone of a batch of pipeline
 * records cost 4.6 µs per record to write on the gateway's main thread and 12 µs to read in the
 * worker, plus the garbage of ~650 bytes of object graph per record — more than the SQLite work
 * (bench/web/store-apply.ts). The store needs a third of a record's fields (`data`, `csObject`,
 * `adr`, … stay behind), and the readings' values arrive in the worker both as an object (for the
 * latest-state and alarm rules) and as the JSON text the `readings` table stores, built while
 * decoding, so neither thread runs `JSON.stringify` on them.
 *
 * `LocalStore.apply()` (tests, tools) goes through this same encoding, so the tests exercise
 * what the worker receives.
 *
 * Layout (little endian): u32 count, then per record a u8 kind and f64 log id, then
 *   up:      str id, f64 time, f64 rxAt, str devEui, str devAddr, f64 fCnt, f64 fPort, f64 dr,
 *            f64 sf (NaN = none), f64 frequency (NaN = none), bytes payload, device,
 *            u32 n × (sym id, f64 rssi, f64 snr), u8 decoded, [sym model, u32 n × reading,
 *            strs warnings, strs errors]
 *   join:    f64 time, str devEui, str devAddr, device
 *   status:  f64 time, str devEui, device, f64 margin, u8 externalPower, u8 batteryUnavailable,
 *            f64 batteryPct
 *   gateway: str JSON of the record
 *   skip:    nothing (a record that could not be encoded: the store marks its id as done)
 *   device  = sym name, sym|null model, sym|null category, u32 n × (sym key, sym value)
 *   reading = f64 time, u32 n × (sym key, u8 type, value): type 0 f64, 1 true, 2 false, 3 str
 *   str = u32 byte length (0xffffffff = null) + UTF-8; strs = u32 n × str;
 *   sym = a string that repeats within the batch: u32 number (0xffffffff = null), on its first
 *   use followed by its str (numbers are given in order of first use).
 */
import type { ReadingValue } from '../../../codecs/api.ts';
import type { DeviceSnapshot, GatewayStatusRecord, PipelineRecord } from '../../pipeline/record.ts';

export interface StoreDevice {
  name: string;
  model: string | null;
  category: string | null;
  /** the tags as [key, value, key, value, …] (an object is built only for a device not seen yet) */
  tags: string[];
}

export interface StoreReading {
  time: number;
  values: Record<string, ReadingValue>;
  /** the same values as JSON text (what the `readings` table stores) */
  valuesJson: string;
}

export interface StoreUplink {
  kind: 'up';
  logId: number;
  id: string;
  time: number;
  rxAt: number;
  devEui: string;
  devAddr: string;
  fCnt: number;
  fPort: number;
  dr: number;
  sf: number | null;
  frequency: number | null;
  payload: Uint8Array;
  device: StoreDevice;
  gateways: { id: string; rssi: number; snr: number }[];
  /** the codec's model when the uplink was decoded, else undefined (and no readings) */
  decodedModel: string | undefined;
  readings: StoreReading[];
  warnings: string[];
  errors: string[];
}

export interface StoreJoin {
  kind: 'join';
  logId: number;
  time: number;
  devEui: string;
  devAddr: string;
  device: StoreDevice;
}

export interface StoreStatus {
  kind: 'status';
  logId: number;
  time: number;
  devEui: string;
  device: StoreDevice;
  margin: number;
  externalPower: boolean;
  batteryUnavailable: boolean;
  batteryPct: number;
}

export interface StoreGatewayStat {
  kind: 'gateway';
  logId: number;
  record: GatewayStatusRecord;
}

/** A record the main thread could not convert: the store marks its id as done. */
export interface StoreSkip {
  kind: 'skip';
  logId: number;
}

export type StoreRecord = StoreUplink | StoreJoin | StoreStatus | StoreGatewayStat | StoreSkip;

export function tagsObject(tags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < tags.length; i += 2) out[tags[i] as string] = tags[i + 1] as string;
  return out;
}

/** The empty list of warnings/errors, shared (the store never changes these arrays). */
const NONE: string[] = [];

const KIND = { up: 1, join: 2, status: 3, gateway: 4, skip: 5 } as const;
const NULL_STR = 0xffffffff;

/** A growable little-endian byte writer; strings are written with a fast path for ASCII. */
class Writer {
  buf: Buffer;
  pos = 0;
  /** strings that repeat within a batch (field names, tags, models, gateways), by first use */
  private readonly syms = new Map<string, number>();
  private readonly symOrder: string[] = [];

  /** Where a record starts: `rollback` to it forgets its bytes and the strings it introduced. */
  mark(): { pos: number; syms: number } {
    return { pos: this.pos, syms: this.symOrder.length };
  }

  rollback(m: { pos: number; syms: number }): void {
    this.pos = m.pos;
    for (const s of this.symOrder.splice(m.syms)) this.syms.delete(s);
  }

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  str(s: string | null): void {
    if (s === null) return this.u32(NULL_STR);
    const n = s.length;
    this.room(4 + 3 * n); // UTF-8 needs at most 3 bytes per UTF-16 unit
    const buf = this.buf;
    const start = this.pos + 4;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + i] = c;
    }
    const len = i === n ? n : buf.write(s, start, 'utf8');
    buf.writeUInt32LE(len, this.pos);
    this.pos = start + len;
  }

  /** A string that repeats: its number in the batch, followed by the text on first use. */
  sym(s: string | null): void {
    if (s === null) return this.u32(NULL_STR);
    const n = this.syms.get(s);
    if (n !== undefined) return this.u32(n);
    this.u32(this.symOrder.length);
    this.syms.set(s, this.symOrder.length);
    this.symOrder.push(s);
    this.str(s);
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  device(d: DeviceSnapshot): void {
    this.sym(d.name);
    this.sym(d.model ?? null);
    this.sym(d.category ?? null);
    const keys = Object.keys(d.tags);
    this.u32(keys.length);
    for (const k of keys) {
      this.sym(k);
      this.sym(String(d.tags[k]));
    }
  }

  values(v: Record<string, ReadingValue>): void {
    const keys = Object.keys(v);
    this.u32(keys.length);
    for (const k of keys) {
      const x = v[k];
      this.sym(k);
      if (typeof x === 'number') {
        this.u8(0);
        this.f64(x);
      } else if (typeof x === 'boolean') this.u8(x ? 1 : 2);
      else if (typeof x === 'string') {
        this.u8(3);
        this.str(x);
      } else throw new Error(`reading value ${k} is not a number, boolean or string`);
    }
  }

  strs(a: readonly string[]): void {
    this.u32(a.length);
    for (const s of a) this.str(s);
  }
}

/** Field names repeat from record to record: their JSON form is kept (bounded). */
const keyTexts = new Map<string, string>();
function keyJson(k: string): string {
  let t = keyTexts.get(k);
  if (t === undefined) {
    if (keyTexts.size >= 4096) keyTexts.clear();
    t = JSON.stringify(k);
    keyTexts.set(k, t);
  }
  return t;
}

/** Buffer's own slice decoder: `toString('utf8', a, b)` without its argument checks per call. */
interface Utf8Slice {
  utf8Slice(start: number, end: number): string;
}

class Reader {
  pos = 0;
  private readonly syms: string[] = [];
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    return this.buf[this.pos++] as number;
  }

  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const s = this.strOrNull();
    if (s === null) throw new Error('store batch: a string is missing');
    return s;
  }

  strOrNull(): string | null {
    const n = this.u32();
    if (n === NULL_STR) return null;
    const s = (this.buf as Buffer & Utf8Slice).utf8Slice(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  sym(): string {
    const s = this.symOrNull();
    if (s === null) throw new Error('store batch: a string is missing');
    return s;
  }

  symOrNull(): string | null {
    const n = this.u32();
    if (n === NULL_STR) return null;
    if (n < this.syms.length) return this.syms[n] as string;
    if (n !== this.syms.length) throw new Error('store batch: a string refers forward');
    const s = this.str();
    this.syms.push(s);
    return s;
  }

  bytes(): Uint8Array {
    const n = this.u32();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  device(): StoreDevice {
    const d: StoreDevice = { name: this.sym(), model: this.symOrNull(), category: this.symOrNull(), tags: [] };
    for (let n = this.u32(); n > 0; n--) d.tags.push(this.sym(), this.sym());
    return d;
  }

  /** A reading's values, as an object and as the JSON text JSON.stringify would give. */
  reading(): StoreReading {
    const time = this.f64();
    const values: Record<string, ReadingValue> = {};
    let text = '{';
    for (let n = this.u32(); n > 0; n--) {
      const k = this.sym();
      const type = this.u8();
      let v: ReadingValue;
      let vText: string;
      if (type === 0) {
        v = this.f64();
        vText = Number.isFinite(v) ? String(v) : 'null';
      } else if (type === 1 || type === 2) {
        v = type === 1;
        vText = v ? 'true' : 'false';
      } else if (type === 3) {
        v = this.str();
        vText = JSON.stringify(v);
      } else throw new Error(`store batch: unknown value type ${type}`);
      if (k === '__proto__') Object.defineProperty(values, k, { value: v, enumerable: true, writable: true, configurable: true });
      else values[k] = v;
      text += `${text.length > 1 ? ',' : ''}${keyJson(k)}:${vText}`;
    }
    return { time, values, valuesJson: `${text}}` };
  }

  strs(): string[] {
    const n = this.u32();
    if (n === 0) return NONE;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.str());
    return out;
  }
}

const orNull = (v: number): number | null => (Number.isNaN(v) ? null : v);

function readingTime(t: string | undefined, fallback: number): number {
  if (t === undefined) return fallback;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : fallback;
}

/** Writes what the store keeps of one log record. Throws on a record it cannot take. */
function writeRecord(w: Writer, logId: number, r: PipelineRecord): void {
  switch (r.kind) {
    case 'up': {
      w.u8(KIND.up);
      w.f64(logId);
      w.str(r.id);
      w.f64(r.time);
      w.f64(r.rxAt);
      w.str(r.devEui);
      w.str(r.devAddr);
      w.f64(r.fCnt);
      w.f64(r.fPort);
      w.f64(r.dr);
      w.f64(r.sf ?? NaN);
      w.f64(r.frequency ?? NaN);
      w.bytes(r.payload);
      w.device(r.device);
      w.u32(r.gateways.length);
      for (const g of r.gateways) {
        w.sym(g.id);
        w.f64(g.rssi);
        w.f64(g.snr);
      }
      const d = r.decoded;
      if (d === undefined) return w.u8(0);
      w.u8(1);
      w.sym(d.model);
      w.u32(d.readings.length);
      for (const x of d.readings) {
        w.f64(readingTime(x.time, r.time));
        w.values(x.values);
      }
      w.strs(d.warnings);
      w.strs(d.errors);
      return;
    }
    case 'join':
      w.u8(KIND.join);
      w.f64(logId);
      w.f64(r.time);
      w.str(r.devEui);
      w.str(r.devAddr);
      w.device(r.device);
      return;
    case 'status':
      w.u8(KIND.status);
      w.f64(logId);
      w.f64(r.time);
      w.str(r.devEui);
      w.device(r.device);
      w.f64(r.margin);
      w.u8(r.externalPower ? 1 : 0);
      w.u8(r.batteryUnavailable ? 1 : 0);
      w.f64(r.batteryPct);
      return;
    case 'gateway':
      w.u8(KIND.gateway);
      w.f64(logId);
      w.str(JSON.stringify(r));
      return;
    default:
      throw new Error(`unknown record kind ${JSON.stringify((r as { kind?: unknown }).kind)}`);
  }
}

function readRecord(r: Reader): StoreRecord {
  const kind = r.u8();
  const logId = r.f64();
  switch (kind) {
    case KIND.up: {
      // One object literal in field order (a spread of a partial object cost 5 µs per record).
      const u: StoreUplink = {
        kind: 'up',
        logId,
        id: r.str(),
        time: r.f64(),
        rxAt: r.f64(),
        devEui: r.str(),
        devAddr: r.str(),
        fCnt: r.f64(),
        fPort: r.f64(),
        dr: r.f64(),
        sf: orNull(r.f64()),
        frequency: orNull(r.f64()),
        payload: r.bytes(),
        device: r.device(),
        gateways: [],
        decodedModel: undefined,
        readings: [],
        warnings: NONE,
        errors: NONE,
      };
      for (let i = r.u32(); i > 0; i--) u.gateways.push({ id: r.sym(), rssi: r.f64(), snr: r.f64() });
      if (r.u8() === 0) return u;
      u.decodedModel = r.sym();
      for (let i = r.u32(); i > 0; i--) u.readings.push(r.reading());
      u.warnings = r.strs();
      u.errors = r.strs();
      return u;
    }
    case KIND.join:
      return { kind: 'join', logId, time: r.f64(), devEui: r.str(), devAddr: r.str(), device: r.device() };
    case KIND.status:
      return { kind: 'status', logId, time: r.f64(), devEui: r.str(), device: r.device(), margin: r.f64(), externalPower: r.u8() === 1, batteryUnavailable: r.u8() === 1, batteryPct: r.f64() };
    case KIND.gateway:
      return { kind: 'gateway', logId, record: JSON.parse(r.str()) as GatewayStatusRecord };
    case KIND.skip:
      return { kind: 'skip', logId };
    default:
      throw new Error(`store batch: unknown record kind ${kind}`);
  }
}

/** A record that could not be converted on the main thread (it goes as `skip`). */
export interface UnreadableRecord {
  logId: number;
  devEui: unknown;
  reason: string;
}

/**
 * Builds one batch for the store worker from records added in log order, possibly in several
 * reads (the sink reads the log in small chunks and lets their objects go as soon as they are
 * encoded, so a large batch never sits in the main thread's heap). A record that cannot be
 * encoded is reported in `unreadable` and goes as `skip`, so the rest of its batch is applied.
 */
export class BatchEncoder {
  private readonly w: Writer;
  private n = 0;
  private last = 0;
  readonly unreadable: UnreadableRecord[] = [];

  constructor(expectedRecords: number) {
    // ~290 B per bench record; grows (doubling) if needed. Pages never written to are not
    // resident, so sizing for the whole batch up front costs address space, not RSS.
    this.w = new Writer(320 * expectedRecords + 64);
    this.w.u32(0); // the count, filled in by finish()
  }

  get count(): number {
    return this.n;
  }

  /** Id of the last record added (0 when none). */
  get lastId(): number {
    return this.last;
  }

  add(records: readonly { id: number; value: PipelineRecord }[]): void {
    const w = this.w;
    for (const { id, value } of records) {
      const start = w.mark();
      try {
        writeRecord(w, id, value);
      } catch (err) {
        w.rollback(start);
        w.u8(KIND.skip);
        w.f64(id);
        this.unreadable.push({ logId: id, devEui: (value as { devEui?: unknown } | null)?.devEui, reason: (err as Error).message });
      }
      this.n++;
      this.last = id;
    }
  }

  /** Bytes written so far. */
  get size(): number {
    return this.w.pos;
  }

  /**
   * The batch: the writer's own ArrayBuffer (transferable), the bytes written followed by the
   * room it did not use (the count at the start says where the records end). Not a copy: a
   * 10,000-record batch is ~3 MB, and copying it out cost a second buffer of that size per batch.
   */
  finish(): ArrayBuffer {
    const buf = this.w.buf;
    buf.writeUInt32LE(this.n, 0);
    // allocUnsafeSlow: never a slice of Node's shared pool, so the whole ArrayBuffer is ours.
    if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf.buffer as ArrayBuffer;
    return (buf.buffer as ArrayBuffer).slice(buf.byteOffset, buf.byteOffset + this.w.pos);
  }
}

export function encodeBatch(records: readonly { id: number; value: PipelineRecord }[]): { bytes: ArrayBuffer; size: number; unreadable: UnreadableRecord[] } {
  const e = new BatchEncoder(records.length);
  e.add(records);
  return { bytes: e.finish(), size: e.size, unreadable: e.unreadable };
}

/** The records of a batch, decoded one at a time as they are consumed. */
export function* decodeRecords(bytes: ArrayBuffer): Generator<StoreRecord> {
  const r = new Reader(Buffer.from(bytes));
  for (let n = r.u32(); n > 0; n--) yield readRecord(r);
}

export function decodeBatch(bytes: ArrayBuffer): StoreRecord[] {
  return [...decodeRecords(bytes)];
}
