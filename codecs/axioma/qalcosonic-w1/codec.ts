/**
 * Axioma QALCOSONIC W1 ultrasonic water meter.
 *
 * Frames (all little-endian; layouts in README.md):
 * - fPort 100, 51 bytes, version byte 0x01: "enhanced 24h" — frame time, status, log volume and 23
 *   hourly deltas packed as 14-bit fields (the TTN community codec's only format; its key names
 *   are kept so the public vector matches);
 * - fPort 100, 48 bytes: "extended" — current time/volume, log time/volume, 15 × u16 deltas at
 *   20-minute spacing after the log time (layout of Axioma's extended payload as a second public
 *   decoder reads it);
 * - fPort 103, 5 bytes: alarm — time and status.
 * Anything else (other lengths, versions, fPort 101 parameters) is an error, never a guess.
 *
 * Time axis of the 24h frame (not stated by the community codec; our reading, documented):
 * the last hourly value is the current volume at the frame time T, so the log volume belongs to
 * T − 23 h and delta k is the consumption of the hour ending at T − (23 − k) h.
 */
import type { DecodeResult, JsonObject, NormalizeResult, Reading, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError } from '../../bytes.ts';
import { booleanValue, defineCodec, numberValue } from '../../define.ts';
import { isoTime as isoMillis } from '../../time.ts';

export const ENHANCED_LENGTH = 51;
export const EXTENDED_LENGTH = 48;
export const ALARM_LENGTH = 5;
export const HOURLY_DELTAS = 23;
export const EXTENDED_DELTAS = 15;
export const EXTENDED_INTERVAL_S = 1200;
const DELTA_BITS = 14;
const MAX_DELTA_L = (1 << DELTA_BITS) - 1;
const HOUR_MS = 3_600_000;

/**
 * Status byte. Bits 2, 3 and 4 are independent flags (low battery, permanent error, temporary
 * error). Bits 5–7 are ONE 3-bit event code, not three flags: 0x20 leakage, 0x60 backflow,
 * 0xA0 burst, 0x80 low temperature (freeze) — Axioma's alarm list names them as separate,
 * exclusive alarm types, and 0x60/0xA0 only make sense as codes (as flags they would "contain"
 * leakage and freeze). So a burst frame is not also a leakage and a freeze, which the TTN codec's
 * mask tests `(status & code) == code` report (README: the TTN deviation and its evidence).
 */
const LOW_BATTERY = 0x04;
const PERMANENT_ERROR = 0x08;
const TEMPORARY_ERROR = 0x10;
const EVENT_SHIFT = 5;
/** Event code (bits 5–7) → its flag in `data`. */
const EVENT_FLAG: Readonly<Record<number, 'leakage' | 'backflow' | 'burst' | 'low_temperature'>> = {
  1: 'leakage', // 0x20
  3: 'backflow', // 0x60
  4: 'low_temperature', // 0x80
  5: 'burst', // 0xA0
};
const EVENT_CODE = { leakage: 1, backflow: 3, low_temperature: 4, burst: 5 } as const;

/**
 * The status fields of every frame, in the order of TTN's keys; an event code no document names
 * (0x40, 0xC0, 0xE0) sets no event flag and gives a warning with the raw byte.
 */
function statusFields(status: number, warnings: string[]): JsonObject {
  const code = status >> EVENT_SHIFT;
  const event = EVENT_FLAG[code];
  if (code !== 0 && event === undefined) {
    warnings.push(`status 0x${status.toString(16).padStart(2, '0')}: event code 0x${(code << EVENT_SHIFT).toString(16)} (bits 5-7) is not a known event (0x20 leakage, 0x60 backflow, 0x80 low temperature, 0xA0 burst): no event flag set`);
  }
  return {
    status,
    low_battery: (status & LOW_BATTERY) !== 0,
    permanent_error: (status & PERMANENT_ERROR) !== 0,
    temporary_error: (status & TEMPORARY_ERROR) !== 0,
    backflow: event === 'backflow',
    burst: event === 'burst',
    leakage: event === 'leakage',
    low_temperature: event === 'low_temperature',
    // Kept for TTN compatibility only (reference: true iff status == 0x10); never normalized.
    pipe_empty: status === 0x10,
  };
}

function litresToM3(litres: number): number {
  return litres / 1000;
}

function m3ToLitres(m3: unknown, what: string): number {
  if (typeof m3 !== 'number' || !Number.isFinite(m3)) throw new PayloadError(`data.${what} must be a number`);
  return Math.round(m3 * 1000);
}

function isoTime(unixSeconds: number): string {
  return isoMillis(unixSeconds * 1000);
}

function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected) throw new PayloadError(`${what} must be ${expected} bytes, got ${bytes.length}`);
}

/** An unsigned field of `bits` bits starting at bit `start` of a little-endian, LSB-first bit stream. */
export function readBits(bytes: Uint8Array, start: number, bits: number): number {
  if (bits <= 24) {
    // The field lies within the 32-bit little-endian word at its first byte (bytes past the end read as 0).
    const i = start >> 3;
    const word = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
    return (word >>> (start & 7)) & ((1 << bits) - 1);
  }
  let v = 0;
  for (let b = 0; b < bits; b++) {
    const bit = start + b;
    if (((bytes[bit >> 3] ?? 0) >> (bit & 7)) & 1) v |= 1 << b;
  }
  return v;
}

/** `count` consecutive `bits`-bit fields from the start of `bytes`. */
export function unpackBits(bytes: Uint8Array, count: number, bits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(readBits(bytes, i * bits, bits));
  return out;
}

/** The inverse of `unpackBits`: values must fit `bits` bits. */
export function packBits(values: readonly number[], bits: number, byteLength: number): number[] {
  const out = new Array<number>(byteLength).fill(0);
  values.forEach((v, i) => {
    for (let b = 0; b < bits; b++) {
      const bit = i * bits + b;
      if ((v >> b) & 1) out[bit >> 3] = (out[bit >> 3] as number) | (1 << (bit & 7));
    }
  });
  return out;
}

// The decoders below build `data` as one object literal each, in the documented key order. Adding
// the ~40 fields one by one under computed names (`delta_${i}_m3`) puts V8 objects into
// dictionary mode, which made every decode (and every consumer of `data`) several times slower.

/**
 * The deltas of the frame being decoded, in litres. Decoding is synchronous and reads them all
 * into `data` before it returns, so one scratch array serves every decode (no array per frame).
 */
const DELTAS = new Uint32Array(Math.max(HOURLY_DELTAS, EXTENDED_DELTAS));

/** Delta `i` (0-based) of `deltas`, in m³. */
function deltaM3(deltas: Uint32Array, i: number): number {
  return litresToM3(deltas[i] as number);
}

function decodeEnhanced(bytes: Uint8Array): DecodeResult {
  const warnings: string[] = [];
  const r = new ByteReader(bytes);
  const version = r.u8('frame version');
  if (version !== 0x01) throw new PayloadError(`unsupported 51-byte frame version 0x${version.toString(16).padStart(2, '0')} at offset 0 (only 0x01, enhanced 24h, is known)`);
  const time = r.u32le('timestamp');
  const status = r.u8('status');
  const logLitres = r.u32le('log volume');
  const packed = r.offset; // 41 bytes of packed fields, read in place
  r.skip(41, 'hourly deltas');
  const d = DELTAS;
  let total = 0;
  for (let i = 0; i < HOURLY_DELTAS; i++) {
    // 14-bit fields, LSB first: each lies within the 3 bytes from its first byte (offsets 10..50).
    const bit = i * DELTA_BITS;
    const at = packed + (bit >> 3);
    const word = (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16);
    const delta = (word >>> (bit & 7)) & MAX_DELTA_L;
    d[i] = delta;
    total += delta;
  }
  // The 6 bits after the 23 deltas (23 × 14 + 6 = 328 bits = 41 bytes): the "history multiplier".
  const multiplier = readBits(bytes, 8 * packed + HOURLY_DELTAS * DELTA_BITS, 6);
  const data: JsonObject = {
    payload_format: 'AXIOMA_W1_ENHANCED_24H',
    frame_version: version,
    payload_bytes: bytes.length,
    timestamp_unix: time,
    timestamp_utc: isoTime(time),
    ...statusFields(status, warnings),
    log_volume_m3: litresToM3(logLitres),
    delta_1_m3: deltaM3(d, 0),
    delta_2_m3: deltaM3(d, 1),
    delta_3_m3: deltaM3(d, 2),
    delta_4_m3: deltaM3(d, 3),
    delta_5_m3: deltaM3(d, 4),
    delta_6_m3: deltaM3(d, 5),
    delta_7_m3: deltaM3(d, 6),
    delta_8_m3: deltaM3(d, 7),
    delta_9_m3: deltaM3(d, 8),
    delta_10_m3: deltaM3(d, 9),
    delta_11_m3: deltaM3(d, 10),
    delta_12_m3: deltaM3(d, 11),
    delta_13_m3: deltaM3(d, 12),
    delta_14_m3: deltaM3(d, 13),
    delta_15_m3: deltaM3(d, 14),
    delta_16_m3: deltaM3(d, 15),
    delta_17_m3: deltaM3(d, 16),
    delta_18_m3: deltaM3(d, 17),
    delta_19_m3: deltaM3(d, 18),
    delta_20_m3: deltaM3(d, 19),
    delta_21_m3: deltaM3(d, 20),
    delta_22_m3: deltaM3(d, 21),
    delta_23_m3: deltaM3(d, 22),
    history_count: HOURLY_DELTAS,
    history_total_m3: litresToM3(total),
    current_volume_m3: litresToM3(logLitres + total),
    history_multiplier: multiplier,
  };
  if (multiplier !== 0) warnings.push(`history multiplier ${multiplier} is not applied: its meaning is unverified, hourly deltas may be scaled`);
  return { data, warnings };
}

function decodeExtended(bytes: Uint8Array): DecodeResult {
  const warnings: string[] = [];
  const r = new ByteReader(bytes);
  const time = r.u32le('current timestamp');
  const status = r.u8('status');
  const current = r.u32le('current volume');
  const logTime = r.u32le('log timestamp');
  const logLitres = r.u32le('log volume');
  // 15 × u16 deltas at offsets 17..46 (the frame is exactly 48 bytes, so they are all there).
  const d = DELTAS;
  for (let i = 0; i < EXTENDED_DELTAS; i++) d[i] = r.u16le('delta');
  const data: JsonObject = {
    payload_format: 'AXIOMA_W1_EXTENDED',
    payload_bytes: bytes.length,
    timestamp_unix: time,
    timestamp_utc: isoTime(time),
    ...statusFields(status, warnings),
    current_volume_m3: litresToM3(current),
    log_timestamp_unix: logTime,
    log_timestamp_utc: isoTime(logTime),
    log_volume_m3: litresToM3(logLitres),
    delta_1_m3: deltaM3(d, 0),
    delta_2_m3: deltaM3(d, 1),
    delta_3_m3: deltaM3(d, 2),
    delta_4_m3: deltaM3(d, 3),
    delta_5_m3: deltaM3(d, 4),
    delta_6_m3: deltaM3(d, 5),
    delta_7_m3: deltaM3(d, 6),
    delta_8_m3: deltaM3(d, 7),
    delta_9_m3: deltaM3(d, 8),
    delta_10_m3: deltaM3(d, 9),
    delta_11_m3: deltaM3(d, 10),
    delta_12_m3: deltaM3(d, 11),
    delta_13_m3: deltaM3(d, 12),
    delta_14_m3: deltaM3(d, 13),
    delta_15_m3: deltaM3(d, 14),
    history_count: EXTENDED_DELTAS,
    history_interval_s: EXTENDED_INTERVAL_S,
  };
  // Byte 47 is not described by the public decoder; it is ignored.
  return { data, warnings };
}

function decodeAlarm(bytes: Uint8Array): DecodeResult {
  const warnings: string[] = [];
  const r = new ByteReader(bytes);
  const time = r.u32le('timestamp');
  const status = r.u8('status');
  return {
    data: {
      payload_format: 'AXIOMA_W1_ALARM',
      timestamp_unix: time,
      timestamp_utc: isoTime(time),
      ...statusFields(status, warnings),
    },
    ...(warnings.length ? { warnings } : {}),
  };
}

function decodeUplink(bytes: Uint8Array, fPort: number): DecodeResult {
  if (fPort === 100) {
    if (bytes.length === ENHANCED_LENGTH) return decodeEnhanced(bytes);
    if (bytes.length === EXTENDED_LENGTH) return decodeExtended(bytes);
    throw new PayloadError(
      `unknown fPort 100 frame of ${bytes.length} bytes: expected ${ENHANCED_LENGTH} (enhanced 24h, version 0x01) or ${EXTENDED_LENGTH} (extended)`,
    );
  }
  if (fPort === 103) {
    checkLength(bytes, ALARM_LENGTH, 'an fPort 103 alarm frame');
    return decodeAlarm(bytes);
  }
  if (fPort === 101) return { errors: ['fPort 101 (parameter frame) is not decoded: its layout is not published'] };
  return { errors: [`unknown fPort ${fPort}: the W1 sends data on fPort 100 and alarms on fPort 103`] };
}

// ---------------------------------------------------------------------------------------------
// Normalization

function flag(data: JsonObject, key: string): boolean {
  return data[key] === true;
}

/**
 * Alarm readings. `data` of this codec sets at most one event flag; data decoded by TTN's codec
 * (mask tests) also says leakage for backflow/burst and low temperature for burst, which is not
 * reported again here: backflow or burst is not also a leak, burst is not also a freeze.
 */
function alarms(data: JsonObject): Reading['values'] {
  const backflow = flag(data, 'backflow');
  const burst = flag(data, 'burst');
  return {
    alarm_low_battery: flag(data, 'low_battery'),
    alarm_device_error: flag(data, 'permanent_error') || flag(data, 'temporary_error'),
    alarm_leak: flag(data, 'leakage') && !backflow && !burst,
    alarm_backflow: backflow,
    alarm_burst: burst,
    alarm_low_temperature: flag(data, 'low_temperature') && !burst,
  };
}

function num(data: JsonObject, key: string): number {
  const v = data[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PayloadError(`data.${key} must be a number`);
  return v;
}

/** `delta_1_m3` … `delta_23_m3`: index i holds the key of delta i + 1. */
const DELTA_KEYS: readonly string[] = Array.from({ length: Math.max(HOURLY_DELTAS, EXTENDED_DELTAS) }, (_, i) => `delta_${i + 1}_m3`);

/** Cumulative volumes in whole litres (never summing floats): start, start + d1, start + d1 + d2 … */
function cumulative(startLitres: number, data: JsonObject, count: number): number[] {
  const out = [startLitres];
  for (let i = 1; i <= count; i++) {
    const key = DELTA_KEYS[i - 1] as string;
    out.push((out[i - 1] as number) + m3ToLitres(data[key], key));
  }
  return out;
}

function normalizeUplink(data: JsonObject): NormalizeResult {
  const format = data['payload_format'];
  if (format === 'AXIOMA_W1_ALARM') {
    return { readings: [{ time: isoTime(num(data, 'timestamp_unix')), values: alarms(data) }] };
  }
  if (format === 'AXIOMA_W1_ENHANCED_24H') {
    const t = num(data, 'timestamp_unix') * 1000;
    const volumes = cumulative(m3ToLitres(data['log_volume_m3'], 'log_volume_m3'), data, HOURLY_DELTAS);
    if (num(data, 'history_multiplier') !== 0) {
      // Unknown scaling: only the current volume (log + Σ deltas, as the reference computes it) is
      // certain enough to keep, so hourly history is dropped.
      return {
        readings: [{ time: isoTime(t / 1000), values: { volume_m3: num(data, 'current_volume_m3'), ...alarms(data) } }],
        warnings: ['hourly history dropped: history multiplier is not 0 and its meaning is unverified'],
      };
    }
    const readings: Reading[] = volumes.map((litres, k) => ({
      time: isoMillis(t - (HOURLY_DELTAS - k) * HOUR_MS),
      values: { volume_m3: litresToM3(litres) },
    }));
    Object.assign((readings[HOURLY_DELTAS] as Reading).values, alarms(data));
    return { readings };
  }
  if (format === 'AXIOMA_W1_EXTENDED') {
    const now = num(data, 'timestamp_unix');
    const logTime = num(data, 'log_timestamp_unix');
    const volumes = cumulative(m3ToLitres(data['log_volume_m3'], 'log_volume_m3'), data, EXTENDED_DELTAS);
    const readings: Reading[] = [];
    volumes.forEach((litres, k) => {
      const at = logTime + k * EXTENDED_INTERVAL_S;
      // History points not before the current time are covered by the current reading.
      if (at < now) readings.push({ time: isoTime(at), values: { volume_m3: litresToM3(litres) } });
    });
    readings.push({ time: isoTime(now), values: { volume_m3: num(data, 'current_volume_m3'), ...alarms(data) } });
    return { readings };
  }
  return { readings: [] };
}

// ---------------------------------------------------------------------------------------------
// Device side

/**
 * Status byte from alarm readings (the inverse of `alarms`); device errors become "permanent".
 * Bits 5–7 hold one event: when several are true the most severe is sent (burst, backflow,
 * leak, low temperature), as a meter can only report one, with a warning.
 */
function statusByte(values: Record<string, unknown>, warnings: string[]): number {
  let s = 0;
  if (booleanValue(values, 'alarm_low_battery')) s |= LOW_BATTERY;
  if (booleanValue(values, 'alarm_device_error')) s |= PERMANENT_ERROR;
  const events = (
    [
      ['alarm_burst', EVENT_CODE.burst],
      ['alarm_backflow', EVENT_CODE.backflow],
      ['alarm_leak', EVENT_CODE.leakage],
      ['alarm_low_temperature', EVENT_CODE.low_temperature],
    ] as const
  ).filter(([name]) => booleanValue(values, name));
  const event = events[0];
  if (events.length > 1) warnings.push(`the status byte carries one event: ${events.map(([name]) => name).join(', ')} given, ${event?.[0]} sent`);
  if (event) s |= event[1] << EVENT_SHIFT;
  return s;
}

/** The device counts whole seconds. */
function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

/**
 * The 51-byte enhanced 24h frame from the hourly readings, oldest first; the last is the current
 * one (at `time` of that reading, else `input.time`). Fewer than 24 readings: the missing oldest
 * hours repeat the oldest volume (zero consumption). Volumes are rounded to whole litres.
 */
function encodeEnhanced(input: UplinkEncodeInput): UplinkEncodeResult {
  const readings = input.readings ?? [];
  if (readings.length === 0) throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const warnings: string[] = [];
  const used = readings.slice(-(HOURLY_DELTAS + 1));
  if (used.length < readings.length) warnings.push(`only the last ${HOURLY_DELTAS + 1} readings fit the 24h frame`);
  const last = used[used.length - 1] as Reading;
  const timeMs = last.time !== undefined ? Date.parse(last.time) : input.time?.getTime();
  if (timeMs === undefined || !Number.isFinite(timeMs)) throw new PayloadError('encodeUplink: the last reading needs a time (or pass input.time)');
  const t = unixSeconds(timeMs);
  const litres = used.map((r, i) => {
    const hoursBack = used.length - 1 - i;
    if (r.time !== undefined && Date.parse(r.time) !== timeMs - hoursBack * HOUR_MS) {
      throw new PayloadError(`encodeUplink: reading ${i} is not ${hoursBack} h before the last one (${r.time})`);
    }
    return Math.round(numberValue(r.values, 'volume_m3') * 1000);
  });
  while (litres.length < HOURLY_DELTAS + 1) litres.unshift(litres[0] as number);
  const deltas = litres.slice(1).map((v, i) => {
    const d = v - (litres[i] as number);
    if (d < 0 || d > MAX_DELTA_L) throw new PayloadError(`encodeUplink: hourly consumption ${d} L before reading ${i + 1} is outside 0..${MAX_DELTA_L} L (14 bits)`);
    return d;
  });
  const w = new ByteWriter()
    .u8(0x01)
    .u32le(t, 'frame time (unix s)')
    .u8(statusByte(last.values, warnings))
    .u32le(litres[0] as number, 'log volume (L)')
    .bytes(packBits(deltas, DELTA_BITS, 41)); // multiplier 0
  return { bytes: w.toArray(), fPort: 100, ...(warnings.length ? { warnings } : {}) };
}

function encodeAlarm(input: UplinkEncodeInput): UplinkEncodeResult {
  const r = input.readings?.[input.readings.length - 1];
  if (!r) throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const ms = r.time !== undefined ? Date.parse(r.time) : input.time?.getTime();
  if (ms === undefined || !Number.isFinite(ms)) throw new PayloadError('encodeUplink: the alarm reading needs a time (or pass input.time)');
  const warnings: string[] = [];
  const w = new ByteWriter().u32le(unixSeconds(ms), 'alarm time (unix s)').u8(statusByte(r.values, warnings));
  return { bytes: w.toArray(), fPort: 103, ...(warnings.length ? { warnings } : {}) };
}

export const codec = defineCodec({
  id: 'axioma/qalcosonic-w1',
  name: 'Axioma QALCOSONIC W1',
  category: 'water-meter',
  fPorts: [100, 103],
  decodeUplink: ({ bytes, fPort }) => decodeUplink(bytes, fPort),
  normalizeUplink: (data) => normalizeUplink(data),
  encodeUplink: (input) => {
    const port = input.fPort ?? 100;
    if (port === 100) return encodeEnhanced(input);
    if (port === 103) return encodeAlarm(input);
    throw new PayloadError(`encodeUplink: fPort ${port} is not a W1 uplink (100 data, 103 alarm)`);
  },
});
