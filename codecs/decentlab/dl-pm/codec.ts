/**
 * Decentlab DL-PM: particulate matter (PM1.0/2.5/4/10 mass and number concentrations, typical
 * particle size), air temperature/humidity (Sensirion SHT) and barometric pressure.
 *
 * Decentlab's protocol v2 and downlink command set (../protocol.ts), sensor groups: bit 0 battery
 * (1 word), bit 1 PM (10 words), bit 2 T/RH (2 words), bit 3 pressure (1 word).
 */
import type { DecodeResult, JsonObject, NormalizeResult, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { PayloadError } from '../../bytes.ts';
import { defineCodec, latestReading, numberValue } from '../../define.ts';
import { decodeDownlink, encodeDownlink, encodeFrame, uplinkDecoder, uplinkPort, valueOf, type SensorGroup } from '../protocol.ts';

const MODEL = 'DL-PM';

/** Conversions from the raw u16 words, written exactly as the reference codec computes them. */
export const convert = {
  battery: (x: number): number => x / 1000,
  tenth: (x: number): number => x / 10,
  temperature: (x: number): number => (175.72 * x) / 65536 - 46.85,
  humidity: (x: number): number => (125 * x) / 65536 - 6,
  pressurePa: (x: number): number => x * 2,
};

/** Raw humidity words whose value lies within 0..100 %RH (the formula spans −6..119 %). */
export const HUMIDITY_RAW_MIN = Math.ceil((6 * 65536) / 125);
export const HUMIDITY_RAW_MAX = Math.floor((106 * 65536) / 125);

const MASS = 'µg⋅m⁻³';
const NUMBER = '1⋅cm⁻³';

/** Sensor groups in flag-bit order; each word of a group is one quantity. */
const GROUPS: readonly SensorGroup[] = [
  { bit: 0, name: 'battery', quantities: [{ key: 'battery_voltage', displayName: 'Battery voltage', unit: 'V', convert: convert.battery }] },
  {
    bit: 1,
    name: 'PM sensor',
    quantities: [
      { key: 'pm1_0_mass_concentration', displayName: 'PM1.0 mass concentration', unit: MASS, convert: convert.tenth },
      { key: 'pm2_5_mass_concentration', displayName: 'PM2.5 mass concentration', unit: MASS, convert: convert.tenth },
      { key: 'pm4_mass_concentration', displayName: 'PM4 mass concentration', unit: MASS, convert: convert.tenth },
      { key: 'pm10_mass_concentration', displayName: 'PM10 mass concentration', unit: MASS, convert: convert.tenth },
      { key: 'typical_particle_size', displayName: 'Typical particle size', unit: 'nm', convert: (x) => x },
      { key: 'pm0_5_number_concentration', displayName: 'PM0.5 number concentration', unit: NUMBER, convert: convert.tenth },
      { key: 'pm1_0_number_concentration', displayName: 'PM1.0 number concentration', unit: NUMBER, convert: convert.tenth },
      { key: 'pm2_5_number_concentration', displayName: 'PM2.5 number concentration', unit: NUMBER, convert: convert.tenth },
      { key: 'pm4_number_concentration', displayName: 'PM4 number concentration', unit: NUMBER, convert: convert.tenth },
      { key: 'pm10_number_concentration', displayName: 'PM10 number concentration', unit: NUMBER, convert: convert.tenth },
    ],
  },
  {
    bit: 2,
    name: 'temperature/humidity',
    quantities: [
      { key: 'air_temperature', displayName: 'Air temperature', unit: '°C', convert: convert.temperature },
      { key: 'air_humidity', displayName: 'Air humidity', unit: '%', convert: convert.humidity },
    ],
  },
  { bit: 3, name: 'pressure', quantities: [{ key: 'barometric_pressure', displayName: 'Barometric pressure', unit: 'Pa', convert: convert.pressurePa }] },
];

const decodeFrame = uplinkDecoder(MODEL, GROUPS);

/** The shared frame decoder, plus the warning for a humidity outside the physical range. */
function decodeUplink(bytes: Uint8Array, fPort: number, variables: Record<string, unknown>): DecodeResult {
  const result = decodeFrame(bytes, fPort, variables);
  const rh = result.data ? valueOf(result.data, 'air_humidity') : undefined;
  if (rh === undefined || (rh >= 0 && rh <= 100)) return result;
  return { ...result, warnings: [...(result.warnings ?? []), `air humidity ${rh} % is outside 0..100 (condensation or sensor fault)`] };
}

/**
 * data key → normalized reading name, and the divisor from the data unit to the reading unit
 * (a division, because Pa × 0.01 adds binary noise: 96800 × 0.01 = 968.0000000000001).
 */
const NORMALIZED: readonly [string, string, number][] = [
  ['battery_voltage', 'battery_v', 1],
  ['pm1_0_mass_concentration', 'pm1_ugm3', 1],
  ['pm2_5_mass_concentration', 'pm2_5_ugm3', 1],
  ['pm4_mass_concentration', 'pm4_ugm3', 1],
  ['pm10_mass_concentration', 'pm10_ugm3', 1],
  ['air_temperature', 'temperature_c', 1],
  ['air_humidity', 'humidity_pct', 1],
  ['barometric_pressure', 'pressure_hpa', 100],
];

function normalizeUplink(data: JsonObject): NormalizeResult {
  const values: Record<string, number> = {};
  const warnings: string[] = [];
  for (const [key, name, divisor] of NORMALIZED) {
    const v = valueOf(data, key);
    if (v !== undefined) values[name] = v / divisor;
  }
  const rh = values['humidity_pct'];
  if (rh !== undefined && (rh < 0 || rh > 100)) {
    // Sensirion's SHT formula spans −6..119 %RH; the datasheet says to clip to the physical range.
    values['humidity_pct'] = Math.min(100, Math.max(0, rh));
    warnings.push(`humidity ${rh} %RH clipped to ${values['humidity_pct']}`);
  }
  const readings = Object.keys(values).length ? [{ values }] : [];
  return warnings.length ? { readings, warnings } : { readings };
}

/** A u16 word from a value: `raw = round(value × scale + offset)`, range-checked. */
function word(value: number, toRaw: (v: number) => number, name: string, min = 0, max = 0xffff): number {
  const raw = Math.round(toRaw(value));
  if (raw < min || raw > max) {
    throw new PayloadError(`encodeUplink: ${name} ${value} is out of range for DL-PM`);
  }
  return raw;
}

/**
 * The device side. Groups are sent when any of their readings is given; battery always (default
 * 3.0 V). PM: a missing mass fraction takes the value of the next smaller given one (PM mass is
 * cumulative: PM1 ≤ PM2.5 ≤ PM4 ≤ PM10), or 0; particle size and number concentrations are 0
 * (the normalized vocabulary has no names for them). T/RH: a missing partner defaults to
 * 20 °C / 50 %RH. The device id comes from variable `device_id` (default 0).
 */
function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  const v = latestReading(input);
  const has = (...names: string[]): boolean => names.some((n) => v[n] !== undefined);
  const idVar = input.variables?.['device_id'];
  const deviceId = typeof idVar === 'number' ? idVar : 0;
  const port = uplinkPort(input.variables);
  if (input.fPort !== undefined && input.fPort !== port) {
    throw new PayloadError(`encodeUplink: DL-PM has one frame type, sent on fPort ${port}, not ${input.fPort}`);
  }

  const words: number[] = [];
  let flags = 0;
  words.push(word(numberValue(v, 'battery_v', 3.0), (x) => x * 1000, 'battery_v'));
  flags |= 1;

  const pmNames = ['pm1_ugm3', 'pm2_5_ugm3', 'pm4_ugm3', 'pm10_ugm3'];
  if (has(...pmNames)) {
    let previous = 0;
    for (const name of pmNames) {
      previous = numberValue(v, name, previous);
      words.push(word(previous, (x) => x * 10, name));
    }
    words.push(0, 0, 0, 0, 0, 0);
    flags |= 2;
  }
  if (has('temperature_c', 'humidity_pct')) {
    const t = numberValue(v, 'temperature_c', 20);
    const rh = numberValue(v, 'humidity_pct', 50);
    words.push(word(t, (x) => ((x + 46.85) * 65536) / 175.72, 'temperature_c'));
    if (rh < 0 || rh > 100) throw new PayloadError(`encodeUplink: humidity_pct ${rh} is outside 0..100`);
    // Stay on words that decode within 0..100 %RH, so 0 and 100 survive the round trip.
    const raw = Math.round(((rh + 6) * 65536) / 125);
    words.push(Math.min(HUMIDITY_RAW_MAX, Math.max(HUMIDITY_RAW_MIN, raw)));
    flags |= 4;
  }
  if (has('pressure_hpa')) {
    words.push(word(numberValue(v, 'pressure_hpa'), (x) => x * 50, 'pressure_hpa'));
    flags |= 8;
  }

  return { bytes: encodeFrame(deviceId, flags, words), fPort: port };
}

export const codec = defineCodec({
  id: 'decentlab/dl-pm',
  name: 'Decentlab DL-PM',
  category: 'air-quality',
  fPorts: [1],
  decodeUplink: ({ bytes, fPort, variables }) => decodeUplink(bytes, fPort, variables),
  normalizeUplink: (data) => normalizeUplink(data),
  encodeUplink,
  encodeDownlink: ({ data }) => encodeDownlink(data),
  decodeDownlink: ({ bytes, fPort }) => decodeDownlink(bytes, fPort, MODEL),
});
