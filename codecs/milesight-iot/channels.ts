/**
 * The Milesight record format shared by EM310-UDL, EM300-DI and AM319 (and most Milesight
 * sensors), uplinks and downlinks alike:
 *
 *   payload = record*      record = [channel id: u8][channel type: u8][value: n bytes, LE]
 *
 * There is no length byte: the value's length follows from (channel, type). So an unknown record
 * cannot be skipped — decoding stops there with an error that names it (the vendor decoders stop
 * silently). A record cut short is an error naming the record, the offset and the bytes missing.
 * Either way the records decoded before it stay in `data` (the TS013 rule: a frame that cannot be
 * decoded completely has errors, and nothing decoded is hidden); the fields a cut-short record
 * had already set are taken back, so nothing half-read is reported. A frame of which nothing could
 * be decoded has errors and no data.
 *
 * Channel 0xFF carries device information (versions, serial, power-on and reset events) and the
 * device's answers to configuration downlinks, which use the same bytes as the downlink
 * commands themselves (0xFE and 0xFD are used the same way). A codec therefore declares its
 * downlink commands once (`Command`) and gets `encodeDownlink`, `decodeDownlink` and the decoding
 * of configuration answers inside uplinks from the same table.
 *
 * Field names: `naming` selects TTN's names, types and scales (default: exactly what the TTN
 * Device Repository codec returns) or Milesight's own current decoder's (device variable
 * `naming: milesight`), where the two differ. Normalized readings are the same for both.
 */
import { variable } from '../variables.ts';
import type { DecodeResult, JsonObject, JsonValue, Variables } from '../api.ts';
import { ByteReader, ByteWriter, PayloadError, toHex } from '../bytes.ts';
import { isoTime as isoMillis } from '../time.ts';

/** Milesight's default application port. */
export const MILESIGHT_FPORT = 85;

export type Naming = 'ttn' | 'milesight';

/** What a record reader writes into. */
export interface RecordContext {
  readonly data: JsonObject;
  readonly warnings: string[];
  readonly naming: Naming;
  readonly variables: Readonly<Record<string, unknown>>;
  /** Sets a field; a later record setting the same field wins, with a warning. */
  set(key: string, value: JsonValue): void;
  /** Appends to an array field (history records). */
  push(key: string, value: JsonValue): void;
}

export interface RecordSpec {
  channel: number;
  type: number;
  /** What the record holds, for messages ("distance"). */
  name: string;
  read(r: ByteReader, ctx: RecordContext): void;
}

/**
 * A downlink command (and the device's answer to it inside an uplink): a fixed header, then
 * arguments. `encode` writes the arguments and returns false when the value asks for nothing
 * to be sent (`reboot: false`).
 */
export interface Command {
  key: string;
  header: readonly number[];
  encode(value: unknown, w: ByteWriter): boolean;
  decode(r: ByteReader): JsonValue;
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function recordLabel(bytes: Uint8Array, at: number, name: string): string {
  return `record ${hex2(bytes[at] ?? 0)} ${hex2(bytes[at + 1] ?? 0)} (${name}) at offset ${at}`;
}

export function namingOf(variables: Readonly<Record<string, unknown>>, warnings: string[]): Naming {
  const v = variables['naming'];
  if (v === undefined || v === '' || v === 'ttn') return 'ttn';
  if (v === 'milesight') return 'milesight';
  warnings.push(`device variable naming=${String(v)} is not "ttn" or "milesight": using ttn`);
  return 'ttn';
}

/** The command whose header matches the bytes at `at` (longest header wins). */
function matchCommand(bytes: Uint8Array, at: number, commands: readonly Command[], channelAlias?: number): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (at + c.header.length > bytes.length) continue;
    const ok = c.header.every((b, i) => {
      const actual = bytes[at + i] as number;
      return actual === b || (i === 0 && channelAlias !== undefined && actual === channelAlias && b === 0xff);
    });
    if (ok && (!best || c.header.length > best.header.length)) best = c;
  }
  return best;
}

function decodeCommand(bytes: Uint8Array, at: number, command: Command): { value: JsonValue; next: number } {
  const r = new ByteReader(bytes, at + command.header.length);
  try {
    return { value: command.decode(r), next: r.offset };
  } catch (err) {
    if (err instanceof PayloadError) throw new PayloadError(`${recordLabel(bytes, at, command.key)}: ${err.message}`);
    throw err;
  }
}

export interface DecodeRecordsOptions {
  variables: Readonly<Record<string, unknown>>;
  /** Configuration answers the device may send on channels 0xFF/0xFE/0xFD. */
  commands?: readonly Command[];
}

/** The record context of one decode: a class, so no closures are made per uplink. */
class Context implements RecordContext {
  // `declare`: assigned in the constructor only (a class field would be defined, then assigned).
  declare readonly data: JsonObject;
  declare readonly warnings: string[];
  declare readonly naming: Naming;
  declare readonly variables: Readonly<Record<string, unknown>>;

  constructor(data: JsonObject, warnings: string[], naming: Naming, variables: Readonly<Record<string, unknown>>) {
    this.data = data;
    this.warnings = warnings;
    this.naming = naming;
    this.variables = variables;
  }

  /** Keys this decode added to `data`, in order: what a cut-short record is rolled back by. */
  readonly added: string[] = [];

  set(key: string, value: JsonValue): void {
    if (Object.prototype.hasOwnProperty.call(this.data, key)) this.warnings.push(`${key} appears twice in the frame: the later value is kept`);
    else this.added.push(key);
    this.data[key] = value;
  }

  push(key: string, value: JsonValue): void {
    const list = this.data[key];
    if (Array.isArray(list)) list.push(value);
    else {
      this.data[key] = [value];
      this.added.push(key);
    }
  }

  /** Removes the keys added since `mark` (the fields of a record that could not be read whole). */
  rollback(mark: number): void {
    while (this.added.length > mark) delete this.data[this.added.pop() as string];
  }
}

/** Record specs by `channel << 8 | type`, built once per spec table (codecs pass module constants). */
const SPEC_INDEX = new WeakMap<readonly RecordSpec[], Map<number, RecordSpec>>();

function specIndex(specs: readonly RecordSpec[]): Map<number, RecordSpec> {
  let index = SPEC_INDEX.get(specs);
  if (!index) {
    index = new Map(specs.map((s) => [(s.channel << 8) | s.type, s]));
    SPEC_INDEX.set(specs, index);
  }
  return index;
}

/** What `decodeRecords` found: `errors` is non-empty when the frame could not be decoded whole. */
export interface RecordsResult {
  data: JsonObject;
  warnings: string[];
  errors: string[];
}

/**
 * Reads a whole uplink. Never throws for bad bytes: an unknown record or a record cut short ends
 * decoding with an error; the records before it stay in `data`.
 */
export function decodeRecords(bytes: Uint8Array, specs: readonly RecordSpec[], options: DecodeRecordsOptions): RecordsResult {
  const warnings: string[] = [];
  const errors: string[] = [];
  const data: JsonObject = {};
  const naming = namingOf(options.variables, warnings);
  const ctx = new Context(data, warnings, naming, options.variables);
  const byId = specIndex(specs);
  // One reader walks the frame; record readers advance it (a command answer restarts it after the answer).
  let r = new ByteReader(bytes);
  while (!r.done) {
    const at = r.offset;
    const channel = bytes[at] as number;
    if (at + 1 >= bytes.length) {
      errors.push(`truncated payload: record at offset ${at} has channel id 0x${hex2(channel)} but no type byte`);
      break;
    }
    const type = bytes[at + 1] as number;
    r.skip(2, 'record id');
    const spec = byId.get((channel << 8) | type);
    if (spec) {
      const mark = ctx.added.length;
      try {
        spec.read(r, ctx);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
        ctx.rollback(mark);
        errors.push(`${recordLabel(bytes, at, spec.name)}: ${err.message}`);
        break;
      }
      continue;
    }
    const command =
      options.commands && (channel === 0xff || channel === 0xfe || channel === 0xfd)
        ? matchCommand(bytes, at, options.commands, channel === 0xfe ? 0xfe : undefined)
        : undefined;
    if (command) {
      let answer: { value: JsonValue; next: number };
      try {
        answer = decodeCommand(bytes, at, command);
      } catch (err) {
        if (!(err instanceof PayloadError)) throw err;
        errors.push(err.message);
        break;
      }
      ctx.set(command.key, answer.value);
      r = new ByteReader(bytes, answer.next);
      continue;
    }
    const message = `unknown record: channel 0x${hex2(channel)} type 0x${hex2(type)} at offset ${at}`;
    errors.push(at === 0 ? `${message}: nothing decoded (not a Milesight frame?)` : `${message}: the remaining ${bytes.length - at} byte(s) were not decoded`);
    break;
  }
  return { data, warnings, errors };
}

/**
 * The TS013 result of `decodeRecords`: data when something was decoded (also beside errors),
 * warnings and errors when there are any.
 */
export function recordsResult(result: RecordsResult): DecodeResult {
  const { data, warnings, errors } = result;
  const out: DecodeResult = {};
  for (const _ in data) {
    out.data = data;
    break;
  }
  if (errors.length) out.errors = errors;
  else out.data = data; // a frame decoded whole is data, even when it set nothing
  if (warnings.length) out.warnings = warnings;
  return out;
}

/** Builds a downlink from `data` (keys of `commands`); unknown keys and bad values are errors. */
export function encodeCommands(data: JsonObject, commands: readonly Command[]): number[] {
  const byKey = new Map(commands.map((c) => [c.key, c]));
  const w = new ByteWriter();
  for (const [key, value] of Object.entries(data)) {
    const command = byKey.get(key);
    if (!command) throw new PayloadError(`unknown downlink command "${key}" (known: ${[...byKey.keys()].join(', ')})`);
    const body = new ByteWriter();
    if (command.encode(value, body)) w.bytes(command.header).bytes(body.toArray());
  }
  if (w.length === 0) throw new PayloadError('nothing to send: every command in data is off (e.g. reboot: false)');
  return w.toArray();
}

/** Reads a downlink built by `encodeCommands`; anything unknown is an error. */
export function decodeCommands(bytes: Uint8Array, commands: readonly Command[]): JsonObject {
  const data: JsonObject = {};
  let pos = 0;
  while (pos < bytes.length) {
    const command = matchCommand(bytes, pos, commands);
    if (!command) {
      const id = bytes[pos + 1] === undefined ? hex2(bytes[pos] ?? 0) : `${hex2(bytes[pos] ?? 0)} ${hex2(bytes[pos + 1] ?? 0)}`;
      throw new PayloadError(`unknown downlink command ${id} at offset ${pos}`);
    }
    const { value, next } = decodeCommand(bytes, pos, command);
    data[command.key] = value;
    pos = next;
  }
  return data;
}

// ---- value helpers -------------------------------------------------------------------------

/** Text of an enumerated byte; an unlisted value gives "unknown" and a warning with the raw value. */
export function enumText(map: Readonly<Record<number, string>>, value: number, what: string, ctx: { warnings: string[] }): string {
  const text = map[value];
  if (text !== undefined) return text;
  ctx.warnings.push(`${what}: unknown value ${value} (0x${hex2(value)})`);
  return 'unknown';
}

/**
 * A float32 as the shortest decimal that reads back as the same float32 (12.3, not
 * 12.300000190734863): what the device meant, without float noise. Undefined for NaN/Infinity.
 */
export function float32Value(f: number): number | undefined {
  if (!Number.isFinite(f)) return undefined;
  const single = Math.fround(f);
  if (single === 0) return 0; // "0" at one digit (also for -0)
  // The definition, Number(single.toPrecision(d)) for d = 1, 2, … until it reads back as
  // `single`, costs a bignum conversion per length (see the test).
  // Here each length is rounded in double arithmetic instead: |single| × 10^k is off by at most
  // half an ulp (< 2^-22 for the ≤ 9-digit results), so unless it lies within 1e-6 of a rounding
  // midpoint its rounding is the exact one; near a midpoint of an inexact product, or beyond the
  // exact powers of ten, toPrecision decides.
  const magnitude = Math.abs(single);
  let e = Math.floor(Math.log10(magnitude)); // decimal exponent of the leading digit (maybe off by one)
  for (let d = 1; d <= 9; d++) {
    let candidate: number | undefined;
    for (let attempt = 0; attempt < 2 && candidate === undefined; attempt++) {
      const k = d - 1 - e;
      if (k > 22 || k < -22) break;
      const x = k >= 0 ? magnitude * (EXACT_POW10[k] as number) : magnitude / (EXACT_POW10[-k] as number);
      const low = EXACT_POW10[d - 1] as number;
      if (x < low || x >= 10 * low) {
        e += x < low ? -1 : 1; // log10 was off by one near a power of ten: rescale and retry
        continue;
      }
      const floor = Math.floor(x);
      const fraction = x - floor;
      // For 0 <= k <= 12 the product is exact (24-bit mantissa × 5^k of at most 28 bits), so even
      // a midpoint is decided here: half up, as toPrecision rounds.
      const exact = k >= 0 && k <= 12;
      if (!exact && fraction > 0.5 - 1e-6 && fraction < 0.5 + 1e-6) break;
      candidate = scaled(fraction >= 0.5 ? floor + 1 : floor, -k);
    }
    if (candidate === undefined) candidate = Math.abs(Number(single.toPrecision(d)));
    if (single < 0) candidate = -candidate;
    if (Math.fround(candidate) === single) return candidate;
  }
  return single;
}

/** 10^k for k = 0..22: exact doubles. */
const EXACT_POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/** n × 10^k as the nearest double (what Number(`${n}e${k}`) gives) for an integer n < 2^53. */
function scaled(n: number, k: number): number {
  // An exact integer times or divided by an exact power of ten rounds once: correctly.
  if (k >= 0 && k <= 22) return n * (EXACT_POW10[k] as number);
  if (k < 0 && k >= -22) return n / (EXACT_POW10[-k] as number);
  return Number(`${n}e${k}`);
}

/** Unix seconds (device clock, UTC) → RFC 3339 string. */
export function isoTime(seconds: number): string {
  return isoMillis(seconds * 1000);
}

/** Before 2015 a Milesight history timestamp means the device clock was never set. */
export const PLAUSIBLE_EPOCH_S = 1_420_070_400;

/**
 * A numeric device variable (ChirpStack passes variables as strings); undefined when absent.
 * An unusable value throws, or becomes a warning and undefined when `warnings` is given.
 */
export function numberVariable(variables: Variables | undefined, name: string, warnings?: string[]): number | undefined {
  const raw = variable(variables, name);
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return n;
  const message = `device variable ${name} must be a non-negative number, got ${JSON.stringify(raw)}`;
  if (!warnings) throw new PayloadError(message);
  if (!warnings.includes(message)) warnings.push(message);
  return undefined;
}

/** The finite number at `key` of decoded data, or undefined. */
export function numberField(obj: JsonObject, key: string): number | undefined {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function stringField(obj: JsonObject, key: string): string | undefined {
  const v = obj[key];
  return typeof v === 'string' ? v : undefined;
}

/** The plain objects in an array field (e.g. `history`). */
export function objectList(obj: JsonObject, key: string): JsonObject[] {
  const v = obj[key];
  if (!Array.isArray(v)) return [];
  return v.filter((x): x is JsonObject => x !== null && typeof x === 'object' && !Array.isArray(x));
}

/** A raw device integer from a reading value in device units, e.g. 21.34 °C at step 0.1 → 213. */
export function quantize(value: number, step: number): number {
  return Math.round(value / step);
}

// ---- encode-side coercion for downlink data ---------------------------------------------------

export function asBoolean(value: unknown, key: string): boolean {
  if (value === true || value === 1 || value === 'yes' || value === 'enable') return true;
  if (value === false || value === 0 || value === 'no' || value === 'disable') return false;
  throw new PayloadError(`${key} must be true or false, got ${JSON.stringify(value)}`);
}

export function asInteger(value: unknown, key: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new PayloadError(`${key} must be an integer ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function asObject(value: unknown, key: string): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PayloadError(`${key} must be an object`);
  return value as Record<string, unknown>;
}

export function asChoice(value: unknown, key: string, choices: readonly string[]): number {
  const i = typeof value === 'string' ? choices.indexOf(value) : -1;
  if (i < 0) throw new PayloadError(`${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return i;
}

/** Reads a 0/1 byte as a boolean; anything else is malformed. */
export function readFlag(r: ByteReader, what: string): boolean {
  const at = r.offset;
  const v = r.u8(what);
  if (v > 1) throw new PayloadError(`${what} at offset ${at} must be 0 or 1, got ${v}`);
  return v === 1;
}

// ---- command builders --------------------------------------------------------------------------

/** A command without a value (`reboot: true`); `arg` are fixed bytes after the header. */
export function action(key: string, header: readonly number[], arg: readonly number[] = []): Command {
  return {
    key,
    header,
    encode(value, w) {
      if (!asBoolean(value, key)) return false;
      w.bytes(arg);
      return true;
    },
    decode(r) {
      r.skip(arg.length, key);
      return true;
    },
  };
}

/** An unsigned little-endian integer argument of 1, 2 or 4 bytes. */
export function uintCommand(key: string, header: readonly number[], size: 1 | 2 | 4, min: number, max: number): Command {
  return {
    key,
    header,
    encode(value, w) {
      w.uintLE(asInteger(value, key, min, max), size, key);
      return true;
    },
    decode: (r) => r.uintLE(size, key),
  };
}

/** An enable/disable byte. */
export function flagCommand(key: string, header: readonly number[]): Command {
  return {
    key,
    header,
    encode(value, w) {
      w.u8(asBoolean(value, key) ? 1 : 0);
      return true;
    },
    decode: (r) => readFlag(r, key),
  };
}

/** Time zone in tenths of an hour (UTC+8 = 80, UTC-3:30 = -35), i16. */
export function timeZoneCommand(header: readonly number[] = [0xff, 0x17]): Command {
  return {
    key: 'time_zone',
    header,
    encode(value, w) {
      w.i16le(asInteger(value, 'time_zone', -120, 140), 'time_zone');
      return true;
    },
    decode: (r) => r.i16le('time_zone'),
  };
}

// ---- device information records (channel 0xFF), the same on every Milesight device ---------------

const LORAWAN_CLASS: Record<number, string> = { 0: 'Class A', 1: 'Class B', 2: 'Class C', 3: 'Class CtoB' };

export const DEVICE_INFO_RECORDS: readonly RecordSpec[] = [
  {
    channel: 0xff,
    type: 0x01,
    name: 'ipso_version',
    read(r, ctx) {
      const v = r.u8('ipso_version');
      ctx.set('ipso_version', `v${v >> 4}.${v & 0x0f}`);
    },
  },
  {
    // 01 10 → v1.1: major byte as hex digits, minor in the high nibble.
    channel: 0xff,
    type: 0x09,
    name: 'hardware_version',
    read(r, ctx) {
      const b = r.take(2, 'hardware_version');
      ctx.set('hardware_version', `v${(b[0] as number).toString(16)}.${(b[1] as number) >> 4}`);
    },
  },
  {
    // 01 10 → v1.10: both bytes as hex digits (vendor README).
    channel: 0xff,
    type: 0x0a,
    name: 'firmware_version',
    read(r, ctx) {
      const b = r.take(2, 'firmware_version');
      ctx.set('firmware_version', `v${(b[0] as number).toString(16)}.${(b[1] as number).toString(16)}`);
    },
  },
  {
    channel: 0xff,
    type: 0xff,
    name: 'tsl_version',
    read(r, ctx) {
      const b = r.take(2, 'tsl_version');
      ctx.set('tsl_version', `v${b[0] as number}.${b[1] as number}`);
    },
  },
  {
    channel: 0xff,
    type: 0x16,
    name: 'sn',
    read(r, ctx) {
      ctx.set('sn', toHex(r.take(8, 'serial number')));
    },
  },
  {
    channel: 0xff,
    type: 0x0f,
    name: 'lorawan_class',
    read(r, ctx) {
      ctx.set('lorawan_class', enumText(LORAWAN_CLASS, r.u8('lorawan_class'), 'lorawan_class', ctx));
    },
  },
  {
    // The record itself is the event (sent once after a reset); its byte carries nothing.
    channel: 0xff,
    type: 0xfe,
    name: 'reset_event',
    read(r, ctx) {
      r.skip(1, 'reset_event');
      ctx.set('reset_event', 'reset');
    },
  },
  {
    // Sent once at power-on, like reset_event.
    channel: 0xff,
    type: 0x0b,
    name: 'device_status',
    read(r, ctx) {
      r.skip(1, 'device_status');
      ctx.set('device_status', 'on');
    },
  },
];

/** Battery level record 01 75, shared by all three devices. */
export const BATTERY_RECORD: RecordSpec = {
  channel: 0x01,
  type: 0x75,
  name: 'battery',
  read(r, ctx) {
    const v = r.u8('battery');
    if (v > 100) ctx.warnings.push(`battery ${v} % is above 100 %`);
    ctx.set('battery', v);
  },
};

/** The common configuration commands (answers to them appear in uplinks too). */
export const REBOOT = action('reboot', [0xff, 0x10], [0xff]);
export const REPORT_INTERVAL = uintCommand('report_interval', [0xff, 0x03], 2, 60, 64800);

/** `03 67`: temperature, i16 LE in 0.1 °C (EM300 series, AM319). */
export const TEMPERATURE_RECORD: RecordSpec = { channel: 0x03, type: 0x67, name: 'temperature', read: (r, ctx) => ctx.set('temperature', r.i16le('temperature') / 10) };

/** `04 68`: relative humidity, u8 in 0.5 %RH (EM300 series, AM319). */
export const HUMIDITY_RECORD: RecordSpec = {
  channel: 0x04,
  type: 0x68,
  name: 'humidity',
  read(r, ctx) {
    const v = r.u8('humidity') / 2;
    if (v > 100) ctx.warnings.push(`humidity ${v} % is above 100 %`);
    ctx.set('humidity', v);
  },
};
