/**
 * Cayenne Low Power Payload (LPP v1 plus the extended IPSO types of ElectronicCats' CayenneLPP
 * and ChirpStack's built-in decoder).
 *
 * Uplink: a chain of `[channel u8][type u8][value, big-endian]` records on any fPort
 * (devices-and-payload-formats.md §8). `data` uses The Things Stack naming, `<type>_<channel>`
 * (`temperature_7: -15.6`, `gps_12: {latitude, longitude, altitude}`), so dashboards built on
 * TTS keep working. Normalized readings carry the channel as a suffix: `temperature_c_ch7`.
 *
 * Downlink: `[channel u8][i16 × 100]` records, optionally ended by 0xFF; keys `value_<channel>`.
 *
 * Errors use the strings The Things Stack / go-cayenne-lib give (`cayennelpp: unknown type`,
 * `unexpected EOF`) so the public vectors match; what exactly was wrong (type, offset, bytes
 * missing) is added as a warning next to the error.
 */
import type {
  DecodeResult,
  DownlinkEncodeResult,
  JsonObject,
  JsonValue,
  NormalizeResult,
  ReadingValue,
  UplinkEncodeInput,
  UplinkEncodeResult,
} from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError } from '../../bytes.ts';
import { defineCodec, latestReading } from '../../define.ts';

interface LppField {
  /** Sub-key in `data` for multi-value types (`x`, `latitude`, …); '' for scalar types. */
  name: string;
  /** data value = raw / scale */
  scale: number;
  /** Normalized reading base name (suffixed `_ch<N>`). */
  reading: string;
}

export interface LppType {
  code: number;
  /** `data` key prefix (The Things Stack naming for LPP v1; same style for the extended types). */
  key: string;
  /** Bytes per field. */
  size: number;
  signed: boolean;
  fields: readonly LppField[];
  /** How the normalized reading differs from the data value: boolean (non-zero = true) or m → mm. */
  normalizedAs?: 'boolean' | 'mm';
}

function scalar(code: number, key: string, size: number, signed: boolean, scale: number, reading: string, normalizedAs?: LppType['normalizedAs']): LppType {
  return { code, key, size, signed, fields: [{ name: '', scale, reading }], ...(normalizedAs ? { normalizedAs } : {}) };
}

function xyz(code: number, key: string, scale: number, reading: (axis: string) => string): LppType {
  return { code, key, size: 2, signed: true, fields: ['x', 'y', 'z'].map((a) => ({ name: a, scale, reading: reading(a) })) };
}

/** The IPSO type table. Sizes and resolutions: reference §8 (LPP v1) and the extended LPP set. */
export const LPP_TYPES: readonly LppType[] = [
  scalar(0, 'digital_in', 1, false, 1, 'digital_input', 'boolean'),
  scalar(1, 'digital_out', 1, false, 1, 'digital_output', 'boolean'),
  scalar(2, 'analog_in', 2, true, 100, 'analog_input'),
  scalar(3, 'analog_out', 2, true, 100, 'analog_output'),
  scalar(100, 'generic_sensor', 4, false, 1, 'generic_value'),
  scalar(101, 'luminosity', 2, false, 1, 'light_lux'),
  scalar(102, 'presence', 1, false, 1, 'occupied', 'boolean'),
  scalar(103, 'temperature', 2, true, 10, 'temperature_c'),
  scalar(104, 'relative_humidity', 1, false, 2, 'humidity_pct'),
  xyz(113, 'accelerometer', 1000, (a) => `acceleration_${a}_g`),
  scalar(115, 'barometric_pressure', 2, false, 10, 'pressure_hpa'),
  scalar(116, 'voltage', 2, false, 100, 'voltage_v'),
  scalar(117, 'current', 2, false, 1000, 'current_a'),
  scalar(118, 'frequency', 4, false, 1, 'frequency_hz'),
  scalar(120, 'percentage', 1, false, 1, 'percentage_pct'),
  scalar(121, 'altitude', 2, true, 1, 'altitude_m'),
  scalar(125, 'concentration', 2, false, 1, 'concentration_ppm'),
  scalar(128, 'power', 2, false, 1, 'power_w'),
  scalar(130, 'distance', 4, false, 1000, 'distance_mm', 'mm'),
  scalar(131, 'energy', 4, false, 1000, 'energy_kwh'),
  scalar(132, 'direction', 2, false, 1, 'direction_deg'),
  scalar(133, 'unix_time', 4, false, 1, 'unix_time_s'),
  xyz(134, 'gyrometer', 100, (a) => `angular_velocity_${a}_dps`),
  {
    code: 135,
    key: 'colour',
    size: 1,
    signed: false,
    fields: [
      { name: 'r', scale: 1, reading: 'color_red' },
      { name: 'g', scale: 1, reading: 'color_green' },
      { name: 'b', scale: 1, reading: 'color_blue' },
    ],
  },
  {
    code: 136,
    key: 'gps',
    size: 3,
    signed: true,
    fields: [
      { name: 'latitude', scale: 10000, reading: 'latitude_deg' },
      { name: 'longitude', scale: 10000, reading: 'longitude_deg' },
      { name: 'altitude', scale: 100, reading: 'altitude_m' },
    ],
  },
  scalar(142, 'switch', 1, false, 1, 'switch_on', 'boolean'),
];

const BY_KEY = new Map(LPP_TYPES.map((t) => [t.key, t]));

const ERR_UNKNOWN_TYPE = 'cayennelpp: unknown type';
const ERR_EOF = 'unexpected EOF';

function rawRange(t: LppType): [number, number] {
  const span = 256 ** t.size;
  return t.signed ? [-span / 2, span / 2 - 1] : [0, span - 1];
}

/** A type's decoding data: the raw value span and its `data` keys by channel (made on first use). */
interface LppDecoder {
  type: LppType;
  /** 256 ** size */
  span: number;
  keys: (string | undefined)[];
  /** For the three-field types: builds the value object as a literal (keyed stores are slow). */
  object3?: (a: number, b: number, c: number) => JsonObject;
}

/** Object literals for the known three-field layouts, by their field names. */
const OBJECT3: Record<string, (a: number, b: number, c: number) => JsonObject> = {
  'x,y,z': (x, y, z) => ({ x, y, z }),
  'r,g,b': (r, g, b) => ({ r, g, b }),
  'latitude,longitude,altitude': (latitude, longitude, altitude) => ({ latitude, longitude, altitude }),
};

const DECODERS: (LppDecoder | undefined)[] = [];
for (const t of LPP_TYPES) {
  const object3 = OBJECT3[t.fields.map((f) => f.name).join(',')];
  DECODERS[t.code] = { type: t, span: 256 ** t.size, keys: [], ...(object3 ? { object3 } : {}) };
}

/** `<type>_<channel>`, e.g. `temperature_7`: built once per type and channel, not per record. */
function dataKey(d: LppDecoder, channel: number): string {
  let key = d.keys[channel];
  if (key === undefined) {
    key = `${d.type.key}_${channel}`;
    d.keys[channel] = key;
  }
  return key;
}

/** One field of a record whose bytes are known to be there (checked for the whole record). */
function readRaw(r: ByteReader, d: LppDecoder): number {
  const u = r.uintBE(d.type.size);
  return d.type.signed && u >= d.span / 2 ? u - d.span : u;
}

/** A failure with the vector's error string plus a precise explanation (reported as a warning). */
function failure(error: string, detail: string): DecodeResult {
  return { errors: [error], warnings: [detail] };
}

/** `<type>_<channel>` → [type, channel], or undefined. */
function parseDataKey(key: string): [LppType, number] | undefined {
  const m = /^(.+)_(\d{1,3})$/.exec(key);
  const t = m ? BY_KEY.get(m[1] as string) : undefined;
  const ch = m ? Number(m[2]) : NaN;
  return t && ch <= 255 ? [t, ch] : undefined;
}

export function decodeLpp(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const data: JsonObject = {};
  const warnings: string[] = [];
  try {
    while (!r.done) {
      const at = r.offset;
      const channel = r.u8('channel');
      if (r.done) r.u8(`type of channel ${channel}`); // throws: the message names the channel
      const code = r.u8();
      const d = DECODERS[code];
      if (!d) {
        const hex = code.toString(16).padStart(2, '0');
        return failure(ERR_UNKNOWN_TYPE, `unknown LPP type 0x${hex} (${code}) at offset ${at + 1} (channel ${channel})`);
      }
      const t = d.type;
      const key = dataKey(d, channel);
      // Check the whole record first, so the detail names the record rather than one field.
      if (r.remaining < t.size * t.fields.length) {
        r.skip(t.size * t.fields.length, `${key} (type ${code})`);
      }
      let value: JsonValue;
      const fields = t.fields;
      if (fields.length === 1) {
        value = readRaw(r, d) / (fields[0] as LppField).scale;
      } else if (d.object3) {
        const a = readRaw(r, d) / (fields[0] as LppField).scale;
        const b = readRaw(r, d) / (fields[1] as LppField).scale;
        value = d.object3(a, b, readRaw(r, d) / (fields[2] as LppField).scale);
      } else {
        const obj: JsonObject = {};
        for (const f of fields) obj[f.name] = readRaw(r, d) / f.scale;
        value = obj;
      }
      // (values are never undefined, and a lookup is cheaper than `in`)
      if (data[key] !== undefined) warnings.push(`duplicate ${key} at offset ${at}: the later value is kept`);
      data[key] = value;
    }
  } catch (err) {
    if (err instanceof PayloadError) return failure(ERR_EOF, err.message);
    throw err;
  }
  return warnings.length ? { data, warnings } : { data };
}

/** A parsed `data` key: its type and, per field, the normalized reading name (`<reading>_ch<N>`). */
interface DataKey {
  type: LppType;
  names: readonly string[];
}

/** Parsed valid keys (a bounded set: known types × channels 0..255 written with 1–3 digits). */
const DATA_KEYS = new Map<string, DataKey>();

function dataKeyInfo(key: string): DataKey | undefined {
  let info = DATA_KEYS.get(key);
  if (info === undefined) {
    const parsed = parseDataKey(key);
    if (!parsed) return undefined;
    const [type, ch] = parsed;
    info = { type, names: type.fields.map((f) => `${f.reading}_ch${ch}`) };
    if (DATA_KEYS.size < 16_384) DATA_KEYS.set(key, info);
  }
  return info;
}

function normalizeUplink(data: JsonObject): NormalizeResult {
  const values: Record<string, ReadingValue> = {};
  const warnings: string[] = [];
  for (const key of Object.keys(data)) {
    const value = data[key] as JsonValue;
    const info = dataKeyInfo(key);
    if (!info) {
      warnings.push(`${key}: not a Cayenne LPP key, not normalized`);
      continue;
    }
    const t = info.type;
    for (let i = 0; i < t.fields.length; i++) {
      const f = t.fields[i] as LppField;
      const v = f.name === '' ? value : value && typeof value === 'object' && !Array.isArray(value) ? value[f.name] : undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        warnings.push(`${key}${f.name ? `.${f.name}` : ''} is not a number, not normalized`);
        continue;
      }
      const name = info.names[i] as string;
      if (name in values) warnings.push(`${name} given twice: the later value is kept`);
      values[name] = t.normalizedAs === 'boolean' ? v !== 0 : t.normalizedAs === 'mm' ? Math.round(v * 1000) : v;
    }
  }
  const readings = Object.keys(values).length ? [{ values }] : [];
  return warnings.length ? { readings, warnings } : { readings };
}

export interface EncodeLppOptions {
  /**
   * `nearest` (default): round half away from zero, so decode(encode(x)) is within half a step.
   * `truncate`: toward zero like go-cayenne-lib, byte-compatible with its encoder (−4.1 °/s →
   * −409 instead of −410, because −4.1 × 100 = −409.99999999999994 in binary floating point).
   */
  rounding?: 'nearest' | 'truncate';
}

/** Encodes vendor-shaped LPP data (`{temperature_7: -15.6, gps_12: {...}}`) into an uplink. */
export function encodeLpp(data: Record<string, unknown>, options: EncodeLppOptions = {}): number[] {
  const quantize = options.rounding === 'truncate' ? Math.trunc : (x: number) => Math.sign(x) * Math.round(Math.abs(x));
  const w = new ByteWriter();
  for (const [key, value] of Object.entries(data)) {
    const parsed = parseDataKey(key);
    if (!parsed) throw new PayloadError(`encodeLpp: ${key} is not a <type>_<channel> key of a known LPP type`);
    const [t, ch] = parsed;
    const [min, max] = rawRange(t);
    w.u8(ch, `channel of ${key}`).u8(t.code);
    for (const f of t.fields) {
      const v = f.name === '' ? value : value && typeof value === 'object' ? (value as Record<string, unknown>)[f.name] : undefined;
      const label = f.name ? `${key}.${f.name}` : key;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new PayloadError(`encodeLpp: ${label} must be a finite number, got ${String(v)}`);
      const raw = quantize(v * f.scale) || 0; // || 0: no -0
      if (raw < min || raw > max) {
        throw new PayloadError(`encodeLpp: ${label} = ${v} is out of range ${min / f.scale}..${max / f.scale}`);
      }
      w.uintBE(raw < 0 ? raw + 256 ** t.size : raw, t.size, label);
    }
  }
  return w.toArray();
}

/** Reading base name → the LPP types and field that carry it (altitude_m: GPS or altitude). */
const BY_READING = new Map<string, { type: LppType; field: LppField }[]>();
for (const type of LPP_TYPES) {
  for (const field of type.fields) BY_READING.set(field.reading, [...(BY_READING.get(field.reading) ?? []), { type, field }]);
}

const DEFAULT_CHANNEL = 1;

/**
 * The device side: the latest reading's `<name>_ch<N>` values → LPP data → bytes (rounded to the
 * nearest step). A name without suffix goes to channel 1, a name no LPP type carries (co2_ppm) is
 * skipped, both with a warning. Within a channel, latitude,
 * longitude and altitude_m form one GPS record (a missing part is 0); altitude_m alone is the
 * altitude type; missing axes of an accelerometer/gyrometer/colour record are 0.
 */
function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  const values = latestReading(input);
  const fPort = input.fPort ?? 1;
  if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new PayloadError(`encodeUplink: fPort ${fPort} is not 1..223`);
  const warnings: string[] = [];
  const byChannel = new Map<number, Map<string, unknown>>();
  for (const [name, value] of Object.entries(values)) {
    const m = /^(.+)_ch(\d{1,3})$/.exec(name);
    const base = m ? (m[1] as string) : name;
    const ch = m ? Number(m[2]) : DEFAULT_CHANNEL;
    if (ch > 255) throw new PayloadError(`encodeUplink: channel of ${name} must be 0..255`);
    if (!BY_READING.has(base)) {
      warnings.push(`no Cayenne LPP type carries reading ${name}: not sent`);
      continue;
    }
    if (!m) warnings.push(`${name} has no _ch<N> suffix: sent on channel ${DEFAULT_CHANNEL}`);
    const channel = byChannel.get(ch) ?? new Map<string, unknown>();
    if (channel.has(base)) throw new PayloadError(`encodeUplink: ${base} given twice for channel ${ch}`);
    byChannel.set(ch, channel.set(base, value));
  }

  const data: Record<string, unknown> = {};
  for (const [ch, channel] of byChannel) {
    const hasGps = channel.has('latitude_deg') || channel.has('longitude_deg');
    for (const [base, value] of channel) {
      const candidates = BY_READING.get(base) ?? [];
      const pick = candidates.find((c) => candidates.length === 1 || (c.type.key === 'gps') === hasGps);
      if (!pick) throw new PayloadError(`encodeUplink: no Cayenne LPP type carries reading ${base}`);
      const { type, field } = pick;
      const key = `${type.key}_${ch}`;
      let v: number;
      if (type.normalizedAs === 'boolean') {
        if (typeof value !== 'boolean') throw new PayloadError(`encodeUplink: ${base}_ch${ch} must be a boolean, got ${String(value)}`);
        v = value ? 1 : 0;
      } else {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          throw new PayloadError(`encodeUplink: ${base}_ch${ch} must be a finite number, got ${String(value)}`);
        }
        v = type.normalizedAs === 'mm' ? value / 1000 : value;
      }
      if (field.name === '') {
        data[key] = v;
      } else {
        const obj = (data[key] as Record<string, number> | undefined) ?? Object.fromEntries(type.fields.map((f) => [f.name, 0]));
        obj[field.name] = v;
        data[key] = obj;
      }
    }
  }
  const bytes = encodeLpp(data);
  if (bytes.length === 0) throw new PayloadError(`encodeUplink: no value the LPP types can carry (${warnings.join('; ') || 'empty reading'})`);
  return warnings.length ? { bytes, fPort, warnings } : { bytes, fPort };
}

// ---------------------------------------------------------------------------------------------
// Downlink: [channel][i16 × 100] …, optionally ended by 0xFF.

const DOWNLINK_FPORT = 1;
const TERMINATOR = 0xff;

function encodeDownlink(data: JsonObject): DownlinkEncodeResult {
  const w = new ByteWriter();
  for (const [key, value] of Object.entries(data)) {
    const m = /^value_(\d{1,3})$/.exec(key);
    const ch = m ? Number(m[1]) : NaN;
    if (!(ch >= 0 && ch < TERMINATOR)) return { errors: [`${key}: downlink keys are value_<channel>, channel 0..254 (255 ends the list)`] };
    if (typeof value !== 'number' || !Number.isFinite(value)) return { errors: [`${key} must be a finite number, got ${JSON.stringify(value)}`] };
    const raw = (Math.sign(value) * Math.round(Math.abs(value * 100))) || 0;
    if (raw < -0x8000 || raw > 0x7fff) return { errors: [`${key} = ${value} is out of range -327.68..327.67`] };
    w.u8(ch).i16be(raw);
  }
  if (w.length === 0) return { errors: ['no value_<channel> keys to send'] };
  return { bytes: w.toArray(), fPort: DOWNLINK_FPORT };
}

function decodeDownlink(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const data: JsonObject = {};
  const warnings: string[] = [];
  try {
    while (!r.done) {
      const ch = r.u8('channel');
      if (ch === TERMINATOR) {
        if (!r.done) warnings.push(`${r.remaining} byte(s) after the 0xFF terminator ignored`);
        break;
      }
      data[`value_${ch}`] = r.i16be(`value_${ch}`) / 100;
    }
  } catch (err) {
    if (err instanceof PayloadError) return { errors: [ERR_EOF], warnings: [err.message] };
    throw err;
  }
  return warnings.length ? { data, warnings } : { data };
}

export const codec = defineCodec({
  id: 'generic/cayenne-lpp',
  name: 'Cayenne LPP',
  category: 'generic',
  fPorts: [],
  decodeUplink: ({ bytes }) => decodeLpp(bytes),
  normalizeUplink: (data) => normalizeUplink(data),
  encodeUplink,
  encodeDownlink: ({ data }) => encodeDownlink(data),
  decodeDownlink: ({ bytes }) => decodeDownlink(bytes),
});
