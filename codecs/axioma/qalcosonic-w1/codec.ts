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
 * Status byte. 0x60 (backflow) and 0xA0 (burst) are two-bit codes that contain 0x20 (leakage),
 * so every flag is tested as `(status & code) === code`, as the reference codec and the second
 * public decoder do. The mapping is unverified against an Axioma specification.
 */
const STATUS_FLAGS = [
  ['low_battery', 0x04],
  ['permanent_error', 0x08],
  ['temporary_error', 0x10],
  ['backflow', 0x60],
  ['burst', 0xa0],
  ['leakage', 0x20],
  ['low_temperature', 0x80],
] as const;

function statusFields(status: number): JsonObject {
  const out: JsonObject = { status };
  for (const [name, code] of STATUS_FLAGS) out[name] = (status & code) === code;
  // Kept for TTN compatibility only (reference: true iff status == 0x10); never normalized.
  out['pipe_empty'] = status === 0x10;
  return out;
}

function litresToM3(litres: number): number {
  return litres / 1000;
}

function m3ToLitres(m3: unknown, what: string): number {
  if (typeof m3 !== 'number' || !Number.isFinite(m3)) throw new PayloadError(`data.${what} must be a number`);
  return Math.round(m3 * 1000);
}

function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}

function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected) throw new PayloadError(`${what} must be ${expected} bytes, got ${bytes.length}`);
}

/** An unsigned field of `bits` bits starting at bit `start` of a little-endian, LSB-first bit stream. */
export function readBits(bytes: Uint8Array, start: number, bits: number): number {
  let v = 0;
  for (let b = 0; b < bits; b++) {
    const bit = start + b;
    if (((bytes[bit >> 3] ?? 0) >> (bit & 7)) & 1) v |= 1 << b;
  }
  return v;
}

/** `count` consecutive `bits`-bit fields from the start of `bytes`. */
export function unpackBits(bytes: Uint8Array, count: number, bits: number): number[] {
  return Array.from({ length: count }, (_, i) => readBits(bytes, i * bits, bits));
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

function decodeEnhanced(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const version = r.u8('frame version');
  if (version !== 0x01) throw new PayloadError(`unsupported 51-byte frame version 0x${version.toString(16).padStart(2, '0')} at offset 0 (only 0x01, enhanced 24h, is known)`);
  const time = r.u32le('timestamp');
  const status = r.u8('status');
  const logLitres = r.u32le('log volume');
  const packed = r.take(41, 'hourly deltas');
  const deltas = unpackBits(packed, HOURLY_DELTAS, DELTA_BITS);
  // The 6 bits after the 23 deltas (23 × 14 + 6 = 328 bits = 41 bytes): the "history multiplier".
  const multiplier = readBits(packed, HOURLY_DELTAS * DELTA_BITS, 6);
  const total = deltas.reduce((a, b) => a + b, 0);
  const data: JsonObject = {
    payload_format: 'AXIOMA_W1_ENHANCED_24H',
    frame_version: version,
    payload_bytes: bytes.length,
    timestamp_unix: time,
    timestamp_utc: isoTime(time),
    ...statusFields(status),
    log_volume_m3: litresToM3(logLitres),
  };
  deltas.forEach((d, i) => {
    data[`delta_${i + 1}_m3`] = litresToM3(d);
  });
  data['history_count'] = HOURLY_DELTAS;
  data['history_total_m3'] = litresToM3(total);
  data['current_volume_m3'] = litresToM3(logLitres + total);
  data['history_multiplier'] = multiplier;
  const warnings =
    multiplier === 0 ? [] : [`history multiplier ${multiplier} is not applied: its meaning is unverified, hourly deltas may be scaled`];
  return { data, warnings };
}

function decodeExtended(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const time = r.u32le('current timestamp');
  const status = r.u8('status');
  const current = r.u32le('current volume');
  const logTime = r.u32le('log timestamp');
  const logLitres = r.u32le('log volume');
  const data: JsonObject = {
    payload_format: 'AXIOMA_W1_EXTENDED',
    payload_bytes: bytes.length,
    timestamp_unix: time,
    timestamp_utc: isoTime(time),
    ...statusFields(status),
    current_volume_m3: litresToM3(current),
    log_timestamp_unix: logTime,
    log_timestamp_utc: isoTime(logTime),
    log_volume_m3: litresToM3(logLitres),
  };
  for (let i = 1; i <= EXTENDED_DELTAS; i++) data[`delta_${i}_m3`] = litresToM3(r.u16le(`delta ${i}`));
  data['history_count'] = EXTENDED_DELTAS;
  data['history_interval_s'] = EXTENDED_INTERVAL_S;
  // Byte 47 is not described by the public decoder; it is ignored.
  return { data, warnings: [] };
}

function decodeAlarm(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const time = r.u32le('timestamp');
  const status = r.u8('status');
  return { data: { payload_format: 'AXIOMA_W1_ALARM', timestamp_unix: time, timestamp_utc: isoTime(time), ...statusFields(status) } };
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
 * Alarm readings. A bit that belongs to a fully set two-bit code is not reported again on its
 * own: backflow (0x60) or burst (0xA0) is not also a leak, burst is not also a freeze.
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

/** Cumulative volumes in whole litres (never summing floats): start, start + d1, start + d1 + d2 … */
function cumulative(startLitres: number, data: JsonObject, count: number): number[] {
  const out = [startLitres];
  for (let i = 1; i <= count; i++) out.push((out[i - 1] as number) + m3ToLitres(data[`delta_${i}_m3`], `delta_${i}_m3`));
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
      time: new Date(t - (HOURLY_DELTAS - k) * HOUR_MS).toISOString(),
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

/** Status byte from alarm readings (the inverse of `alarms`); device errors become "permanent". */
function statusByte(values: Record<string, unknown>): number {
  let s = 0;
  if (booleanValue(values, 'alarm_low_battery')) s |= 0x04;
  if (booleanValue(values, 'alarm_device_error')) s |= 0x08;
  if (booleanValue(values, 'alarm_leak')) s |= 0x20;
  if (booleanValue(values, 'alarm_backflow')) s |= 0x60;
  if (booleanValue(values, 'alarm_burst')) s |= 0xa0;
  if (booleanValue(values, 'alarm_low_temperature')) s |= 0x80;
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
    .u8(statusByte(last.values))
    .u32le(litres[0] as number, 'log volume (L)')
    .bytes(packBits(deltas, DELTA_BITS, 41)); // multiplier 0
  return { bytes: w.toArray(), fPort: 100, ...(warnings.length ? { warnings } : {}) };
}

function encodeAlarm(input: UplinkEncodeInput): UplinkEncodeResult {
  const r = input.readings?.[input.readings.length - 1];
  if (!r) throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const ms = r.time !== undefined ? Date.parse(r.time) : input.time?.getTime();
  if (ms === undefined || !Number.isFinite(ms)) throw new PayloadError('encodeUplink: the alarm reading needs a time (or pass input.time)');
  const w = new ByteWriter().u32le(unixSeconds(ms), 'alarm time (unix s)').u8(statusByte(r.values));
  return { bytes: w.toArray(), fPort: 103 };
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
