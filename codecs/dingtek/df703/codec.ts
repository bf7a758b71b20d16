/**
 * Dingtek DF703 ultrasonic waste-bin sensor (level, fire, tilt, optional GPS), fPort 3.
 * Format: devices-and-payload-formats.md §5.2 (from Dingtek's DF702/DF703 LoRaWAN protocol).
 *
 * Uplink frames are `80 .. .. <type> <length> … 81`, integers big-endian:
 *
 *   data, 17 bytes (type 01, no GPS)      data, 25 bytes (type 01, GPS)
 *   5-6   level u16 mm                    5-6   level u16 mm
 *   7     GPS present 0                   7     GPS present 1
 *                                         8-11  longitude float32 LE
 *                                         12-15 latitude  float32 LE
 *   8     temperature i8 °C               16    temperature
 *   9     angle sign (low nibble ≠ 0: −)  17    angle sign
 *   10    angle degrees u8                18    angle degrees
 *   11    full alarm (hi) / fire (lo)     19
 *   12    tilt alarm (hi) / low bat (lo)  20
 *   13-14 frame counter u16               21-22 frame counter
 *   15    reserved                        23    reserved
 *   16    81                              24    81
 *
 *   parameters, 25 bytes (type 03): 5-6 firmware major.minor, 7 upload interval h,
 *   8 detect interval min, 9 full threshold cm, 10 fire threshold °C, 11 tilt threshold °,
 *   12 tilt detection on/off, 13 work mode, 14-23 reserved.
 *
 * `data` keeps the TTN codec's field names; unlike that codec GPS is decoded as IEEE-754
 * float32 (numbers, 6 decimals), temperature is signed and the angle sign is applied.
 *
 * Downlinks (fPort 3) are ASCII text: "80029999" <cmd 2 hex> <value 2 hex> "81".
 */
import type {
  DecodeResult,
  DownlinkEncodeResult,
  JsonObject,
  NormalizeResult,
  Reading,
  UplinkEncodeInput,
  UplinkEncodeResult,
} from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError, round } from '../../bytes.ts';
import { booleanValue, defineCodec, firstReading, numberValue } from '../../define.ts';
import { distanceForFill, fillPercent } from '../../readings.ts';

const PORT = 3;
const START = 0x80;
const END = 0x81;
const TYPE_DATA = 0x01;
const TYPE_PARAMETERS = 0x03;
const LEN_PLAIN = 17;
const LEN_GPS = 25;

const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** Checks markers and the length byte; returns the frame type. */
function checkFrame(bytes: Uint8Array): number {
  if (bytes[0] !== START) throw new PayloadError(`bad start marker ${hex2(bytes[0] ?? 0)} at offset 0: expected 0x80`);
  if (bytes.length < 5) throw new PayloadError(`truncated payload: ${bytes.length} byte(s), a DF703 frame header needs 5`);
  const declared = bytes[4] as number;
  if (declared !== bytes.length) {
    throw new PayloadError(`length mismatch: length byte at offset 4 says ${declared} bytes, frame has ${bytes.length}`);
  }
  const last = bytes[bytes.length - 1] as number;
  if (last !== END) throw new PayloadError(`bad end marker ${hex2(last)} at offset ${bytes.length - 1}: expected 0x81`);
  return bytes[3] as number;
}

/** float32 LE coordinate rounded to 6 decimals (~0.1 m), or undefined when not a valid angle. */
function coordinate(r: ByteReader, what: string, limit: number): number | undefined {
  const v = r.f32le(what);
  return Number.isFinite(v) && Math.abs(v) <= limit ? round(v, 6) : undefined;
}

function decodeData(bytes: Uint8Array): DecodeResult {
  const warnings: string[] = [];
  const r = new ByteReader(bytes, 5);
  const data: JsonObject = { level: r.u16be('level') };
  const gps = r.u8('GPS flag');
  if (gps > 1) throw new PayloadError(`bad GPS flag ${gps} at offset 7: expected 0 or 1`);
  const expectedLength = gps === 1 ? LEN_GPS : LEN_PLAIN;
  if (bytes.length !== expectedLength) {
    throw new PayloadError(`GPS flag ${gps} at offset 7 needs a ${expectedLength}-byte data frame, got ${bytes.length} bytes`);
  }
  if (gps === 1) {
    const longitude = coordinate(r, 'longitude', 180);
    const latitude = coordinate(r, 'latitude', 90);
    if (longitude === undefined || latitude === undefined) {
      warnings.push('GPS position at offsets 8-15 is not a valid longitude/latitude (float32 LE); omitted');
    } else {
      data['longitude'] = longitude;
      data['latitude'] = latitude;
    }
  }
  const temperature = r.i8('temperature');
  const sign = r.u8('angle sign');
  const degrees = r.u8('angle');
  const alarms1 = r.u8('alarm byte 1');
  const alarms2 = r.u8('alarm byte 2');
  data['alarmLevel'] = alarms1 >> 4 !== 0;
  data['alarmFire'] = (alarms1 & 0x0f) !== 0;
  data['alarmFall'] = alarms2 >> 4 !== 0;
  data['alarmBattery'] = (alarms2 & 0x0f) !== 0;
  // The sign byte's low nibble marks a negative angle (the reference codec always negates).
  data['angle'] = (sign & 0x0f) !== 0 && degrees !== 0 ? -degrees : degrees;
  data['temperature'] = temperature;
  data['frameCounter'] = r.u16be('frame counter');
  return warnings.length ? { data, warnings } : { data };
}

function decodeParameters(bytes: Uint8Array): DecodeResult {
  if (bytes.length !== LEN_GPS) throw new PayloadError(`parameter frame must be 25 bytes, got ${bytes.length}`);
  const r = new ByteReader(bytes, 5);
  const major = r.u8('firmware major');
  const minor = r.u8('firmware minor');
  return {
    data: {
      firmware: `${major}.${minor}`,
      uploadInterval: r.u8('upload interval'),
      detectInterval: r.u8('detect interval'),
      levelThreshold: r.u8('full threshold'),
      fireThreshold: r.u8('fire threshold'),
      fallThreshold: r.u8('tilt threshold'),
      fallEnable: r.u8('tilt detection') !== 0,
      workMode: r.u8('work mode'),
    },
  };
}

// ---- normalize ----

function field(data: JsonObject, key: string, type: 'number' | 'boolean'): number | boolean | undefined {
  const v = data[key];
  if (v === undefined) return undefined;
  if (typeof v !== type || (typeof v === 'number' && !Number.isFinite(v))) throw new PayloadError(`data.${key} must be a ${type}`);
  return v as number | boolean;
}

function normalize(data: JsonObject, variables: Record<string, unknown> | undefined): NormalizeResult {
  const level = field(data, 'level', 'number');
  if (level === undefined) return { readings: [] }; // parameter frame: settings, no measurement
  const values: Reading['values'] = { distance_mm: level as number };
  const warnings: string[] = [];
  const fill = fillPercent(level as number, variables);
  if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
  else if (fill.warning) warnings.push(fill.warning);
  const map: [string, string, 'number' | 'boolean'][] = [
    ['temperature', 'temperature_c', 'number'],
    ['angle', 'tilt_deg', 'number'],
    ['alarmLevel', 'alarm_full', 'boolean'],
    ['alarmFire', 'alarm_fire', 'boolean'],
    ['alarmFall', 'alarm_tilt', 'boolean'],
    ['alarmBattery', 'alarm_low_battery', 'boolean'],
    ['latitude', 'latitude_deg', 'number'],
    ['longitude', 'longitude_deg', 'number'],
  ];
  for (const [from, to, type] of map) {
    const v = field(data, from, type);
    if (v !== undefined) values[to] = v;
  }
  return { readings: [{ values }], ...(warnings.length ? { warnings } : {}) };
}

// ---- encodeUplink (device side) ----

function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  if (input.fPort !== undefined && input.fPort !== PORT) throw new PayloadError(`DF703 sends on fPort 3 only, not ${input.fPort}`);
  const v = firstReading(input);
  let distance = typeof v['distance_mm'] === 'number' ? v['distance_mm'] : undefined;
  if (distance === undefined && typeof v['fill_pct'] === 'number') distance = distanceForFill(v['fill_pct'], input.variables);
  if (distance === undefined) throw new PayloadError('encodeUplink needs distance_mm (or fill_pct with container_depth_mm set)');
  const tilt = Math.round(numberValue(v, 'tilt_deg', 0));
  const hasGps = v['latitude_deg'] !== undefined || v['longitude_deg'] !== undefined;
  const w = new ByteWriter();
  w.u8(START).u8(0x00).u8(0x01).u8(TYPE_DATA).u8(hasGps ? LEN_GPS : LEN_PLAIN);
  w.u16be(Math.round(distance), 'distance_mm').u8(hasGps ? 1 : 0);
  if (hasGps) w.f32le(numberValue(v, 'longitude_deg')).f32le(numberValue(v, 'latitude_deg'));
  w.i8(Math.round(numberValue(v, 'temperature_c', 20)), 'temperature_c');
  w.u8(tilt < 0 ? 0x01 : 0x00).u8(Math.abs(tilt), 'tilt_deg');
  w.u8((booleanValue(v, 'alarm_full') ? 0x10 : 0) | (booleanValue(v, 'alarm_fire') ? 0x01 : 0));
  w.u8((booleanValue(v, 'alarm_tilt') ? 0x10 : 0) | (booleanValue(v, 'alarm_low_battery') ? 0x01 : 0));
  w.u16be(0, 'frame counter').u8(0x00).u8(END);
  return { bytes: w.toArray(), fPort: PORT };
}

// ---- downlinks: ASCII "80029999" + cmd + value + "81" ----

interface Setting {
  key: string;
  cmd: number;
  min: number;
  max: number;
  unit: string;
}

const SETTINGS: readonly Setting[] = [
  { key: 'uploadInterval', cmd: 0x01, min: 1, max: 168, unit: 'h' },
  { key: 'levelThreshold', cmd: 0x02, min: 15, max: 255, unit: 'cm' },
  { key: 'fireThreshold', cmd: 0x03, min: 0, max: 255, unit: '°C' },
  { key: 'fallThreshold', cmd: 0x04, min: 15, max: 90, unit: '°' },
  { key: 'detectInterval', cmd: 0x08, min: 1, max: 60, unit: 'min' },
];
const CMD_OPTION = 0x09;
const OPTION_TILT_ON = 0x0a;
const OPTION_TILT_OFF = 0x09;
/** Option 09 with any value, for the GPS / ABP-OTAA / work-mode values the reference does not give. */
const RAW_OPTION: Setting = { key: 'optionValue', cmd: CMD_OPTION, min: 0, max: 255, unit: '' };
const PREFIX = '80029999';
const SUFFIX = '81';

function ascii(cmd: number, value: number): number[] {
  const text = `${PREFIX}${cmd.toString(16).padStart(2, '0')}${value.toString(16).padStart(2, '0')}${SUFFIX}`.toUpperCase();
  return Array.from(text, (c) => c.charCodeAt(0));
}

function encodeDownlink(data: JsonObject): DownlinkEncodeResult {
  const keys = Object.keys(data);
  const known = [...SETTINGS.map((s) => s.key), 'fallEnable', RAW_OPTION.key];
  if (keys.length !== 1) {
    return { errors: [`one setting per downlink, got ${keys.length} (${keys.join(', ') || 'none'}); settings: ${known.join(', ')}`] };
  }
  const key = keys[0] as string;
  const value = data[key];
  if (key === 'fallEnable') {
    if (typeof value !== 'boolean') return { errors: ['fallEnable must be true or false'] };
    return { bytes: ascii(CMD_OPTION, value ? OPTION_TILT_ON : OPTION_TILT_OFF), fPort: PORT };
  }
  const setting = key === RAW_OPTION.key ? RAW_OPTION : SETTINGS.find((s) => s.key === key);
  if (!setting) return { errors: [`unknown setting "${key}"; settings: ${known.join(', ')}`] };
  const { min, max, unit } = setting;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return { errors: [`${key} must be an integer ${min}..${max}${unit ? ` ${unit}` : ''}, got ${JSON.stringify(value)}`] };
  }
  return { bytes: ascii(setting.cmd, value), fPort: PORT };
}

function decodeDownlink(bytes: Uint8Array, fPort: number): DecodeResult {
  if (fPort !== PORT) return { errors: [`DF703 downlinks use fPort 3, not ${fPort}`] };
  const text = String.fromCharCode(...bytes);
  const m = /^80029999([0-9A-Fa-f]{2})([0-9A-Fa-f]{2})81$/.exec(text);
  if (!m) {
    return { errors: [`not a DF703 command: expected 14 ASCII characters "80029999<cmd><value>81" (hex digits), got ${bytes.length} byte(s)`] };
  }
  const cmd = parseInt(m[1] as string, 16);
  const value = parseInt(m[2] as string, 16);
  const setting = SETTINGS.find((s) => s.cmd === cmd);
  if (setting) {
    const warnings = value < setting.min || value > setting.max ? [`${setting.key} ${value} is outside ${setting.min}..${setting.max} ${setting.unit}`] : [];
    return { data: { [setting.key]: value }, ...(warnings.length ? { warnings } : {}) };
  }
  if (cmd === CMD_OPTION) {
    if (value === OPTION_TILT_ON || value === OPTION_TILT_OFF) return { data: { fallEnable: value === OPTION_TILT_ON } };
    return {
      data: { optionValue: value },
      warnings: [`option value ${hex2(value)} (GPS, ABP/OTAA or work-mode setting) is not documented in the reference; not interpreted`],
    };
  }
  return { errors: [`unknown DF703 command ${hex2(cmd)}: expected 01, 02, 03, 04, 08 or 09`] };
}

export const codec = defineCodec({
  id: 'dingtek/df703',
  name: 'Dingtek DF703',
  category: 'bin-fill',
  fPorts: [PORT],
  decodeUplink({ bytes, fPort }) {
    if (fPort !== PORT) return { errors: ['unknown FPort'] };
    const type = checkFrame(bytes);
    if (type === TYPE_DATA) return decodeData(bytes);
    if (type === TYPE_PARAMETERS) return decodeParameters(bytes);
    throw new PayloadError(`unknown frame type ${hex2(type)} at offset 3: expected 0x01 (data) or 0x03 (parameters)`);
  },
  normalizeUplink(data, { variables }) {
    return normalize(data, variables);
  },
  encodeUplink,
  encodeDownlink({ data }) {
    return encodeDownlink(data);
  },
  decodeDownlink({ bytes, fPort }) {
    return decodeDownlink(bytes, fPort);
  },
});
