/**
 * `defineCodec` wraps a codec implementation so that the contract holds for every registered
 * codec, whatever its author forgot:
 *
 * - the decoder never throws: a `PayloadError` becomes its message in `errors`, any other
 *   exception becomes `internal decoder error: …` (a bug, but the pipeline keeps the raw frame);
 * - `bytes` may be a Uint8Array, a Buffer or a number array; anything else is an error;
 * - an empty payload (MAC-only uplink) and fPort 0 (MAC commands) are errors unless the codec
 *   says it handles them;
 * - results are JSON-compatible: a NaN/Infinity or a non-plain value in `data` is reported as an
 *   error instead of leaking into InfluxDB as a broken number.
 *
 * Implementations read with `ByteReader` and throw `PayloadError` freely; this layer is what
 * turns that into TS013 results.
 */
import type {
  Category,
  Codec,
  DecodeResult,
  DownlinkDecodeInput,
  DownlinkEncodeInput,
  DownlinkEncodeResult,
  JsonObject,
  NormalizeContext,
  NormalizeResult,
  UplinkEncodeInput,
  UplinkEncodeResult,
  UplinkInput,
} from './api.ts';
import { PayloadError, toBytes } from './bytes.ts';
import { withWaterLevel } from './readings.ts';

export interface CodecImplementation {
  id: string;
  name: string;
  category: Category;
  fPorts: readonly number[];
  /** Whether an empty FRMPayload is a valid frame for this device (default: no). */
  acceptsEmpty?: boolean;
  /**
   * The decoder builds `data` only from finite numbers, strings and booleans in plain objects and
   * arrays of its own (nothing copied from input, no NaN or Infinity), so the per-call JSON check
   * is skipped. The contract test still checks it on fuzzed input (`codecs/contract.test.ts`).
   * For codecs whose output is large enough that the check is a real share of a decode
   * (Kamstrup flowIQ: a value object per profile point).
   */
  dataIsJson?: true;
  decodeUplink(input: { bytes: Uint8Array; fPort: number; recvTime?: Date; variables: Record<string, unknown> }): DecodeResult;
  normalizeUplink(data: JsonObject, context: NormalizeContext): NormalizeResult;
  encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult;
  encodeDownlink?(input: DownlinkEncodeInput): DownlinkEncodeResult;
  decodeDownlink?(input: { bytes: Uint8Array; fPort: number; variables: Record<string, unknown> }): DecodeResult;
}

function describe(err: unknown): string {
  if (err instanceof PayloadError) return err.message;
  const msg = err instanceof Error ? err.message : String(err);
  return `internal decoder error: ${msg}`;
}

const MAX_DEPTH = 64;

/**
 * Whether `value` (found at `depth`) is JSON-compatible, by the same rules as `findNonJson`.
 * This runs on every decode, so it builds no strings (the path is only built by `findNonJson`
 * once a problem is known to exist), checks the scalars of a container inline (a call per value
 * cost more than the check), compares `typeof` directly (a `switch (typeof …)` compiles to a
 * builtin call per value) and walks arrays and objects in separate small functions, which V8
 * optimizes (for-in included) much better than one function doing both.
 */
function isJson(value: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === 'object') return value === null || (Array.isArray(value) ? arrayIsJson(value, depth) : objectIsJson(value, depth));
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' || typeof value === 'boolean';
}

/** An array at `depth` (<= MAX_DEPTH) holds only JSON-compatible values. */
function arrayIsJson(value: readonly unknown[], depth: number): boolean {
  const deep = depth >= MAX_DEPTH; // then any element would be nested too deep
  for (let i = 0; i < value.length; i++) {
    if (deep) return false;
    const v = value[i];
    if (typeof v === 'object') {
      if (v !== null && !(Array.isArray(v) ? arrayIsJson(v, depth + 1) : objectIsJson(v, depth + 1))) return false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (typeof v !== 'string' && typeof v !== 'boolean') {
      return false;
    }
  }
  return true;
}

/** A non-array object at `depth` (<= MAX_DEPTH) is plain and holds only JSON-compatible values. */
function objectIsJson(value: object, depth: number): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  const deep = depth >= MAX_DEPTH;
  for (const k in value) {
    if (deep) return false;
    const v: unknown = (value as Record<string, unknown>)[k];
    if (typeof v === 'object') {
      if (v !== null && !(Array.isArray(v) ? arrayIsJson(v, depth + 1) : objectIsJson(v, depth + 1))) return false;
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return false;
    } else if (typeof v !== 'string' && typeof v !== 'boolean') {
      return false;
    }
  }
  return true;
}

/** Returns the path of the first value that is not JSON-compatible, or undefined. */
export function findNonJson(value: unknown, path = 'data', depth = 0): string | undefined {
  if (isJson(value, depth)) return undefined;
  return describeNonJson(value, path, depth);
}

/** The path-building walk behind `findNonJson`, run only when a problem exists. */
function describeNonJson(value: unknown, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path} (nested too deep)`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} = ${value}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = describeNonJson(value[i], `${path}[${i}]`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return `${path} (not a plain object)`;
    for (const k in value) {
      const bad = describeNonJson((value as Record<string, unknown>)[k], `${path}.${k}`, depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  return `${path} (${typeof value})`;
}

function checkPort(fPort: unknown): string | undefined {
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 0 || fPort > 255) {
    return `invalid fPort ${String(fPort)}: must be an integer 0..255`;
  }
  if (fPort === 0) return 'fPort 0 carries MAC commands, not application data';
  if (fPort >= 224) return `fPort ${fPort} is reserved (224..255 are for LoRaWAN test and future use)`;
  return undefined;
}

function guarded(result: DecodeResult): DecodeResult {
  if (result.data !== undefined) {
    const bad = findNonJson(result.data);
    if (bad) return { errors: [...(result.errors ?? []), `decoder produced a non-JSON value at ${bad}`], warnings: result.warnings ?? [] };
  }
  return result;
}

function variablesOf(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

export function defineCodec(impl: CodecImplementation): Codec {
  const codec: Codec = {
    id: impl.id,
    name: impl.name,
    category: impl.category,
    fPorts: impl.fPorts,
    decodeUplink(input: UplinkInput): DecodeResult {
      try {
        if (!input || typeof input !== 'object') return { errors: ['input must be an object {bytes, fPort}'] };
        const bytes = toBytes(input.bytes);
        if (typeof bytes === 'string') return { errors: [bytes] };
        const portError = checkPort(input.fPort);
        if (portError) return { errors: [portError] };
        if (bytes.length === 0 && !impl.acceptsEmpty) {
          return { errors: ['empty payload: no application data (MAC-only uplink?)'] };
        }
        const recvTime = input.recvTime instanceof Date && !Number.isNaN(input.recvTime.getTime()) ? input.recvTime : undefined;
        const fPort = input.fPort;
        const variables = variablesOf(input.variables);
        const result = impl.decodeUplink(recvTime ? { bytes, fPort, variables, recvTime } : { bytes, fPort, variables });
        return impl.dataIsJson ? result : guarded(result);
      } catch (err) {
        return { errors: [describe(err)] };
      }
    },
    normalizeUplink(data: JsonObject, context: NormalizeContext = {}): NormalizeResult {
      try {
        if (!data || typeof data !== 'object') return { readings: [], errors: ['data must be an object'] };
        return withWaterLevel(impl.normalizeUplink(data, context), context.variables);
      } catch (err) {
        return { readings: [], errors: [describe(err)] };
      }
    },
    encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
      try {
        return impl.encodeUplink(input);
      } catch (err) {
        return { errors: [describe(err)] };
      }
    },
  };
  const encodeDownlink = impl.encodeDownlink;
  if (encodeDownlink) {
    codec.encodeDownlink = (input: DownlinkEncodeInput): DownlinkEncodeResult => {
      try {
        if (!input || typeof input !== 'object' || !input.data || typeof input.data !== 'object') {
          return { errors: ['input must be an object {data: {...}}'] };
        }
        return encodeDownlink(input);
      } catch (err) {
        return { errors: [describe(err)] };
      }
    };
  }
  const decodeDownlink = impl.decodeDownlink;
  if (decodeDownlink) {
    codec.decodeDownlink = (input: DownlinkDecodeInput): DecodeResult => {
      try {
        const bytes = toBytes(input?.bytes);
        if (typeof bytes === 'string') return { errors: [bytes] };
        const portError = checkPort(input.fPort);
        if (portError) return { errors: [portError] };
        if (bytes.length === 0) return { errors: ['empty downlink payload'] };
        return guarded(decodeDownlink({ bytes, fPort: input.fPort, variables: variablesOf(input.variables) }));
      } catch (err) {
        return { errors: [describe(err)] };
      }
    };
  }
  return Object.freeze(codec);
}

/**
 * The values a single-reading device sends: the most recent (last) reading of the input, which
 * holds readings oldest first. Throws a clear error when there is none.
 */
export function firstReading(input: UplinkEncodeInput): Record<string, unknown> {
  const list = input?.readings;
  const r = Array.isArray(list) ? list[list.length - 1] : undefined;
  if (!r || typeof r !== 'object' || !r.values || typeof r.values !== 'object') {
    throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  }
  return r.values;
}

/** Alias of `firstReading` with the name that says what it returns. */
export const latestReading = firstReading;

/** Reads a required numeric value from a reading for an encoder. */
export function numberValue(values: Record<string, unknown>, name: string, fallback?: number): number {
  const v = values[name];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new PayloadError(`encodeUplink: reading ${name} must be a finite number, got ${String(v)}`);
}

/** Reads a boolean value (absent = false) from a reading for an encoder. */
export function booleanValue(values: Record<string, unknown>, name: string): boolean {
  const v = values[name];
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  throw new PayloadError(`encodeUplink: reading ${name} must be a boolean, got ${String(v)}`);
}
