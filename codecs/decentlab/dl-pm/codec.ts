/**
 * Decentlab DL-PM: particulate matter (PM1.0/2.5/4/10 mass and number concentrations, typical
 * particle size), air temperature/humidity (Sensirion SHT) and barometric pressure.
 *
 * Uplink, fPort 1, all words u16 big-endian (devices-and-payload-formats.md §7.3):
 *
 *   0       protocol version (2)
 *   1..2    device id
 *   3..4    sensor flags: bit 0 battery (1 word), bit 1 PM (10 words), bit 2 T/RH (2 words),
 *           bit 3 pressure (1 word); the groups follow in bit order
 *
 * The frame length is fully determined by the flags (5 + 2 × words), so a frame of any other
 * length is rejected instead of being read half way. `data` follows the TTN reference codec:
 * `{displayName, unit, value}` per quantity plus `device_id` and `protocol_version`.
 *
 * Downlink, fPort 1, 6 bytes: command u16 BE, parameter u16 BE, CRC-16/MODBUS of those four
 * bytes written big-endian. Command names are Decentlab's (`set period + save`, `reset`, …).
 */
import type {
  DecodeResult,
  DownlinkEncodeResult,
  JsonObject,
  JsonValue,
  NormalizeResult,
  UplinkEncodeInput,
  UplinkEncodeResult,
} from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError, toHex } from '../../bytes.ts';
import { defineCodec, latestReading, numberValue } from '../../define.ts';

const PROTOCOL_VERSION = 2;
const DEFAULT_FPORT = 1;

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

interface Quantity {
  key: string;
  displayName: string;
  unit: string;
  convert: (raw: number) => number;
}

const MASS = 'µg⋅m⁻³';
const NUMBER = '1⋅cm⁻³';

/** Sensor groups in flag-bit order; each word of a group is one quantity. */
const GROUPS: readonly { bit: number; name: string; quantities: readonly Quantity[] }[] = [
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

const KNOWN_FLAGS = GROUPS.reduce((m, g) => m | (1 << g.bit), 0);

/** For each combination of known flags: the quantities the frame carries, in order, and its length. */
const LAYOUTS = Array.from({ length: KNOWN_FLAGS + 1 }, (_, flags) => {
  const present = GROUPS.filter((g) => flags & (1 << g.bit));
  const quantities = present.flatMap((g) => g.quantities);
  return { quantities, expected: 5 + 2 * quantities.length };
});

function hex16(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** The uplink port: 1 unless the device was moved with `set port` (variable `uplink_fport`). */
function uplinkPort(variables: Record<string, unknown> | undefined): number {
  const p = variables?.['uplink_fport'];
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 223 ? p : DEFAULT_FPORT;
}

function decodeUplink(bytes: Uint8Array, fPort: number, variables: Record<string, unknown>): DecodeResult {
  const port = uplinkPort(variables);
  if (fPort !== port) {
    return { errors: [`unknown fPort ${fPort}: DL-PM reports on fPort ${port} (variable uplink_fport if the device was reconfigured)`] };
  }
  const r = new ByteReader(bytes);
  const version = r.u8('protocol version');
  if (version !== PROTOCOL_VERSION) {
    throw new PayloadError(`unsupported protocol version ${version} at offset 0 (expected ${PROTOCOL_VERSION})`);
  }
  const deviceId = r.u16be('device id');
  const flags = r.u16be('sensor flags');
  if (flags & ~KNOWN_FLAGS) {
    throw new PayloadError(`unknown sensor flags ${hex16(flags & ~KNOWN_FLAGS)} in ${hex16(flags)} at offset 3: frame layout unknown`);
  }
  const { quantities, expected } = LAYOUTS[flags] as (typeof LAYOUTS)[number];
  if (bytes.length !== expected) {
    const kind = bytes.length < expected ? 'truncated' : 'over-long';
    throw new PayloadError(`${kind} payload: sensor flags ${hex16(flags)} need ${expected} bytes, got ${bytes.length}`);
  }

  const data: JsonObject = { device_id: deviceId, protocol_version: version };
  for (const q of quantities) {
    const raw = r.u16be(q.key);
    data[q.key] = { displayName: q.displayName, unit: q.unit, value: q.convert(raw) };
  }
  const warnings: string[] = [];
  if (quantities.length === 0) warnings.push('sensor flags 0x0000: the frame carries no measurements');
  const rh = valueOf(data, 'air_humidity');
  if (rh !== undefined && (rh < 0 || rh > 100)) warnings.push(`air humidity ${rh} % is outside 0..100 (condensation or sensor fault)`);
  return warnings.length ? { data, warnings } : { data };
}

/** `data[key].value` when it is a finite number. */
function valueOf(data: JsonObject, key: string): number | undefined {
  const q: JsonValue | undefined = data[key];
  if (!q || typeof q !== 'object' || Array.isArray(q)) return undefined;
  const v = q['value'];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
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

  const w = new ByteWriter().u8(PROTOCOL_VERSION).u16be(deviceId, 'variable device_id').u16be(flags);
  for (const x of words) w.u16be(x);
  return { bytes: w.toArray(), fPort: port };
}

// ---------------------------------------------------------------------------------------------
// Downlink

interface Command {
  name: string;
  /** Commands without a parameter send 0x0000 in its place. */
  noParam?: true;
}

/** Decentlab's shared downlink command set (dl-downlink-codec), keyed by command code. */
const COMMANDS: ReadonlyMap<number, Command> = (() => {
  const m = new Map<number, Command>();
  const withSave = (code: number, name: string, noParam?: true): void => {
    m.set(code, { name, ...(noParam ? { noParam } : {}) });
    m.set(code + 1, { name: `${name} + save`, ...(noParam ? { noParam } : {}) });
  };
  withSave(0x01, 'set period');
  withSave(0x03, 'set dr');
  withSave(0x05, 'set adr on', true);
  withSave(0x07, 'set adr off', true);
  withSave(0x09, 'set dr_min');
  withSave(0x0b, 'set dr_max');
  withSave(0x0d, 'set pwridx_min');
  withSave(0x0f, 'set pwridx_max');
  withSave(0x11, 'set send_period');
  withSave(0x13, 'set join_period');
  withSave(0x15, 'set pwridx');
  withSave(0x17, 'set linkcheck_period');
  withSave(0x19, 'set linkcheck_tolerance');
  withSave(0x1b, 'set linkcheck_limit');
  withSave(0x1d, 'set port');
  for (let i = 0; i < 16; i++) {
    m.set(0x20 + i, { name: `set param ${i}` });
    m.set(0x30 + i, { name: `set param ${i} + save` });
  }
  for (let i = 0; i < 10; i++) {
    m.set(0x50 + i, { name: `set sensor_period ${i}` });
    m.set(0x60 + i, { name: `set sensor_period ${i} + save` });
  }
  m.set(0xfefe, { name: 'reset', noParam: true });
  m.set(0xfef0, { name: 'factory reset', noParam: true });
  m.set(0xfef1, { name: 'sleep', noParam: true });
  return m;
})();

const COMMAND_BY_NAME = new Map([...COMMANDS].map(([code, c]) => [c.name, code]));

/** CRC-16/MODBUS: init 0xFFFF, reflected polynomial 0xA001, no final XOR. */
export function crc16Modbus(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

function encodeDownlink(data: JsonObject): DownlinkEncodeResult {
  const name = data['command'];
  const code = typeof name === 'string' ? COMMAND_BY_NAME.get(name) : undefined;
  if (code === undefined) {
    return { errors: [`unknown command ${JSON.stringify(name)}: expected one of ${[...COMMAND_BY_NAME.keys()].join(', ')}`] };
  }
  const command = COMMANDS.get(code) as Command;
  const warnings: string[] = [];
  let parameter = 0;
  if (command.noParam) {
    if (data['parameter'] !== undefined) warnings.push(`command "${command.name}" takes no parameter; ignored`);
  } else {
    const p = data['parameter'];
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 0xffff) {
      return { errors: [`command "${command.name}" needs an integer parameter 0..65535, got ${JSON.stringify(p)}`] };
    }
    parameter = p;
  }
  const body = new ByteWriter().u16be(code).u16be(parameter).toArray();
  const bytes = new ByteWriter().bytes(body).u16be(crc16Modbus(body)).toArray();
  return warnings.length ? { bytes, fPort: DEFAULT_FPORT, warnings } : { bytes, fPort: DEFAULT_FPORT };
}

function decodeDownlink(bytes: Uint8Array, fPort: number): DecodeResult {
  if (fPort !== DEFAULT_FPORT) return { errors: [`invalid fPort ${fPort}: DL-PM downlinks use fPort ${DEFAULT_FPORT}`] };
  if (bytes.length !== 6) return { errors: [`invalid downlink length ${bytes.length}: expected 6 bytes (command, parameter, CRC)`] };
  const r = new ByteReader(bytes);
  const code = r.u16be('command');
  const parameter = r.u16be('parameter');
  const crc = r.u16be('CRC');
  const command = COMMANDS.get(code);
  if (!command) return { errors: [`unknown command ${hex16(code)} at offset 0`] };
  const want = crc16Modbus(bytes.subarray(0, 4));
  if (crc !== want) return { errors: [`invalid CRC ${hex16(crc)} (expected ${hex16(want)} for ${toHex(bytes.subarray(0, 4))})`] };
  if (command.noParam) {
    const data: JsonObject = { command: command.name };
    return parameter === 0 ? { data } : { data, warnings: [`command "${command.name}" takes no parameter but carries ${parameter}`] };
  }
  return { data: { command: command.name, parameter } };
}

export const codec = defineCodec({
  id: 'decentlab/dl-pm',
  name: 'Decentlab DL-PM',
  category: 'air-quality',
  fPorts: [DEFAULT_FPORT],
  decodeUplink: ({ bytes, fPort, variables }) => decodeUplink(bytes, fPort, variables),
  normalizeUplink: (data) => normalizeUplink(data),
  encodeUplink,
  encodeDownlink: ({ data }) => encodeDownlink(data),
  decodeDownlink: ({ bytes, fPort }) => decodeDownlink(bytes, fPort),
});
