/**
 * Elsys TLV payload, shared by every Elsys sensor (here the ERS CO2 room sensor and the ELT
 * Ultrasonic level sensor); the port is ignored. Format: devices-and-payload-formats.md §5.4,
 * §7.2 and Elsys' type table. A payload is a sequence of `<type u8><value, big-endian>`
 * records; the value size follows from the type:
 *
 *   01 temperature i16/10 °C   0B pulseAbs u32            15 soundPeak, soundAvg u8 dB
 *   02 humidity u8 %           0C externalTemperature     16 pulse2 u16 (relative)
 *   03 x, y, z i8 (63 = 1 g)      i16/10 °C               17 pulseAbs2 u32
 *   04 light u16 lx            0D digital u8              18 analog2 u16 mV
 *   05 motion u8 (PIR count)   0E distance u16 mm         19 externalTemperature2 i16/10
 *   06 co2 u16 ppm             0F accMotion u8               (an array when repeated)
 *   07 vdd u16 mV              10 irInternalTemperature,  1A digital2 u8
 *   08 analog1 u16 mV             irExternalTemperature   1B analogUv i32 µV
 *   09 lat, long u24 each         i16/10 °C each          1C tvoc u16 ppb
 *      (raw, as TTN's codec)   11 occupancy u8            3D debug 4 bytes (hex)
 *   0A pulse1 u16 (relative)   12 waterleak u8
 *                              13 grideye: ref u8 + 64 × u8/10 °C
 *                              14 pressure u32/1000 hPa
 *
 * Field names are those of TTN's elsys.js. Because lengths are implicit, an unknown type ends
 * decoding: the fields before it are kept with an error naming the type and offset (an error
 * when it is the first byte). A truncated record is an error.
 */
import type { DecodeResult, JsonObject, JsonValue, NormalizeResult, Reading, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError, round, toHex } from '../../bytes.ts';
import { booleanValue, defineCodec, firstReading, numberValue } from '../../define.ts';
import { distanceForFill, fillPercent } from '../../readings.ts';

const DEFAULT_PORT = 5;
const GRIDEYE_PIXELS = 64;
/** Accelerometer scale: ±63 counts = ±1 g. */
const COUNTS_PER_G = 63;
/** Elsys occupancy: 0 unoccupied, 1 pending (entering/leaving), 2 occupied. */
const OCCUPIED = 2;
/** Barometric pressure outside this range is not a real reading (the ELT vector is synthetic). */
const PRESSURE_HPA = { min: 300, max: 1100 };

type Fields = Record<string, JsonValue>;
/**
 * Reads a value and sets its TTN-named fields on `d`, in field order. Each reader stores by
 * name: one store site per field keeps V8's property caches small, where one shared
 * `data[key] = value` site would be megamorphic. `w` describes the record for messages.
 */
type Reader = (r: ByteReader, d: Fields, w: string) => void;

interface TypeSpec {
  /** For messages. */
  name: string;
  /** Bytes of the value. */
  size: number;
  read: Reader;
}

const tenths = (v: number): number => v / 10;

/** The type table: name (for messages), value size, and how to read the value into TTN-named fields. */
const TYPES = new Map<number, TypeSpec>([
  [0x01, { name: 'temperature', size: 2, read: (r, d, w) => { d.temperature = tenths(r.i16be(w)); } }],
  [0x02, { name: 'humidity', size: 1, read: (r, d, w) => { d.humidity = r.u8(w); } }],
  [
    0x03,
    {
      name: 'acceleration',
      size: 3,
      read: (r, d, w) => {
        const x = r.i8(w);
        const y = r.i8(w);
        const z = r.i8(w);
        d.x = x;
        d.y = y;
        d.z = z;
      },
    },
  ],
  [0x04, { name: 'light', size: 2, read: (r, d, w) => { d.light = r.u16be(w); } }],
  [0x05, { name: 'motion', size: 1, read: (r, d, w) => { d.motion = r.u8(w); } }],
  [0x06, { name: 'co2', size: 2, read: (r, d, w) => { d.co2 = r.u16be(w); } }],
  [0x07, { name: 'vdd', size: 2, read: (r, d, w) => { d.vdd = r.u16be(w); } }],
  [0x08, { name: 'analog1', size: 2, read: (r, d, w) => { d.analog1 = r.u16be(w); } }],
  [
    0x09,
    {
      name: 'gps',
      size: 6,
      read: (r, d, w) => {
        const lat = r.u24be(w);
        const long = r.u24be(w);
        d.lat = lat;
        d.long = long;
      },
    },
  ],
  [0x0a, { name: 'pulse1', size: 2, read: (r, d, w) => { d.pulse1 = r.u16be(w); } }],
  [0x0b, { name: 'pulse1 absolute', size: 4, read: (r, d, w) => { d.pulseAbs = r.u32be(w); } }],
  [0x0c, { name: 'external temperature', size: 2, read: (r, d, w) => { d.externalTemperature = tenths(r.i16be(w)); } }],
  [0x0d, { name: 'digital input', size: 1, read: (r, d, w) => { d.digital = r.u8(w); } }],
  [0x0e, { name: 'distance', size: 2, read: (r, d, w) => { d.distance = r.u16be(w); } }],
  [0x0f, { name: 'acceleration motion', size: 1, read: (r, d, w) => { d.accMotion = r.u8(w); } }],
  [
    0x10,
    {
      name: 'IR temperature',
      size: 4,
      read: (r, d, w) => {
        const internal = tenths(r.i16be(w));
        const external = tenths(r.i16be(w));
        d.irInternalTemperature = internal;
        d.irExternalTemperature = external;
      },
    },
  ],
  [0x11, { name: 'occupancy', size: 1, read: (r, d, w) => { d.occupancy = r.u8(w); } }],
  [0x12, { name: 'water leak', size: 1, read: (r, d, w) => { d.waterleak = r.u8(w); } }],
  [
    0x13,
    {
      name: 'Grid-EYE',
      size: 1 + GRIDEYE_PIXELS,
      read: (r, d, w) => {
        const ref = r.u8(w);
        const pixels = Array.from(r.take(GRIDEYE_PIXELS, w), (p) => round(ref + p / 10, 1));
        d.grideye = pixels;
      },
    },
  ],
  [0x14, { name: 'pressure', size: 4, read: (r, d, w) => { d.pressure = r.u32be(w) / 1000; } }],
  [
    0x15,
    {
      name: 'sound',
      size: 2,
      read: (r, d, w) => {
        const peak = r.u8(w);
        const avg = r.u8(w);
        d.soundPeak = peak;
        d.soundAvg = avg;
      },
    },
  ],
  [0x16, { name: 'pulse2', size: 2, read: (r, d, w) => { d.pulse2 = r.u16be(w); } }],
  [0x17, { name: 'pulse2 absolute', size: 4, read: (r, d, w) => { d.pulseAbs2 = r.u32be(w); } }],
  [0x18, { name: 'analog2', size: 2, read: (r, d, w) => { d.analog2 = r.u16be(w); } }],
  [0x19, { name: 'external temperature 2', size: 2, read: (r, d, w) => { d.externalTemperature2 = tenths(r.i16be(w)); } }],
  [0x1a, { name: 'digital input 2', size: 1, read: (r, d, w) => { d.digital2 = r.u8(w); } }],
  [0x1b, { name: 'analog µV', size: 4, read: (r, d, w) => { d.analogUv = r.i32be(w); } }],
  [0x1c, { name: 'TVOC', size: 2, read: (r, d, w) => { d.tvoc = r.u16be(w); } }],
  [0x3d, { name: 'debug', size: 4, read: (r, d, w) => { d.debug = toHex(r.take(4, w)); } }],
]);

/** The same table by type code, for the decode loop. */
const BY_CODE: (TypeSpec | undefined)[] = [];
for (const [code, spec] of TYPES) BY_CODE[code] = spec;

const hex2 = (v: number): string => `0x${v.toString(16).padStart(2, '0')}`;

/** The message of the read that fails on a record cut short. */
function truncationMessage(r: ByteReader, def: TypeSpec, label: string): string {
  try {
    def.read(r, {}, label);
  } catch (err) {
    if (err instanceof PayloadError) return err.message;
    throw err;
  }
  return `truncated payload: ${label} needs ${def.size} byte(s), ${r.remaining} left`;
}

function decode(bytes: Uint8Array): DecodeResult {
  const r = new ByteReader(bytes);
  const data: JsonObject = {};
  const warnings: string[] = [];
  // Types seen so far, as bits of two words (codes 0..63). Every type has its own fields, so a
  // field is already in `data` exactly when its type was seen.
  let seenLow = 0;
  let seenHigh = 0;
  while (!r.done) {
    const at = r.offset;
    const type = r.u8('type');
    const def = type < 64 ? BY_CODE[type] : undefined;
    if (!def) {
      const message = `unknown Elsys type ${hex2(type)} at offset ${at}`;
      if (at === 0) throw new PayloadError(`${message}: nothing decoded`);
      // Value sizes are implicit, so nothing after an unknown type can be located: the frame is
      // not decoded whole (an error, TS013), and what came before it stays.
      return { data, errors: [`${message}: the remaining ${bytes.length - at} byte(s) are not decoded`], ...(warnings.length ? { warnings } : {}) };
    }
    if (r.remaining < def.size) {
      // Truncated: replay the reader with the record's description to get the message of the
      // read that fails; the fields before this record stay.
      const message = truncationMessage(r, def, `${def.name} (type ${hex2(type)} at offset ${at})`);
      if (at === 0) throw new PayloadError(message);
      return { data, errors: [message], ...(warnings.length ? { warnings } : {}) };
    }
    const bit = 1 << (type & 31);
    const seen = type < 32 ? (seenLow & bit) !== 0 : (seenHigh & bit) !== 0;
    if (!seen) {
      if (type < 32) seenLow |= bit;
      else seenHigh |= bit;
      def.read(r, data, def.name);
      continue;
    }
    const fields: Fields = {};
    def.read(r, fields, def.name);
    for (const key in fields) {
      const value = fields[key] as JsonValue;
      const previous = data[key];
      if (key === 'externalTemperature2' && previous !== undefined) {
        // Several external probes on one device: TTN's codec turns the field into an array.
        data[key] = [...(Array.isArray(previous) ? previous : [previous]), value];
      } else {
        if (previous !== undefined) warnings.push(`type ${hex2(type)} (${def.name}) repeated at offset ${at}: the later value is kept`);
        data[key] = value;
      }
    }
  }
  return warnings.length ? { data, warnings } : { data };
}

// ---- normalize ----

function numberField(data: JsonObject, key: string): number | undefined {
  const v = data[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new PayloadError(`data.${key} must be a number`);
  return v;
}

/** Data field → reading: same number, or converted. */
const SIMPLE: [string, string, (v: number) => number | boolean][] = [
  ['temperature', 'temperature_c', (v) => v],
  ['humidity', 'humidity_pct', (v) => v],
  ['x', 'acceleration_x_g', (v) => round(v / COUNTS_PER_G, 3)],
  ['y', 'acceleration_y_g', (v) => round(v / COUNTS_PER_G, 3)],
  ['z', 'acceleration_z_g', (v) => round(v / COUNTS_PER_G, 3)],
  ['light', 'light_lux', (v) => v],
  ['motion', 'motion_count', (v) => v],
  ['co2', 'co2_ppm', (v) => v],
  ['vdd', 'battery_v', (v) => v / 1000],
  ['tvoc', 'tvoc_ppb', (v) => v],
  ['pulseAbs', 'pulse_count', (v) => v],
  ['digital', 'digital_input', (v) => v !== 0],
  ['occupancy', 'occupied', (v) => v === OCCUPIED],
];

function normalize(data: JsonObject, variables: Record<string, unknown> | undefined): NormalizeResult {
  const values: Reading['values'] = {};
  const warnings: string[] = [];
  for (const [from, to, convert] of SIMPLE) {
    const v = numberField(data, from);
    if (v !== undefined) values[to] = convert(v);
  }
  const distance = numberField(data, 'distance');
  if (distance !== undefined) {
    values['distance_mm'] = distance;
    const fill = fillPercent(distance, variables);
    if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
    else if (fill.warning) warnings.push(fill.warning);
  }
  const pressure = numberField(data, 'pressure');
  if (pressure !== undefined) {
    if (pressure >= PRESSURE_HPA.min && pressure <= PRESSURE_HPA.max) values['pressure_hpa'] = pressure;
    else warnings.push(`pressure ${pressure} hPa is outside ${PRESSURE_HPA.min}..${PRESSURE_HPA.max} hPa: not a barometric reading, omitted`);
  }
  const readings = Object.keys(values).length ? [{ values }] : [];
  return { readings, ...(warnings.length ? { warnings } : {}) };
}

// ---- encodeUplink (device side) ----

/** Readings an Elsys frame can carry; anything else is reported as ignored. */
const CARRIED = new Set([
  'temperature_c',
  'humidity_pct',
  'acceleration_x_g',
  'acceleration_y_g',
  'acceleration_z_g',
  'light_lux',
  'motion_count',
  'co2_ppm',
  'battery_v',
  'pulse_count',
  'digital_input',
  'distance_mm',
  'fill_pct',
  'occupied',
  'pressure_hpa',
  'tvoc_ppb',
]);

function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  const fPort = input.fPort ?? DEFAULT_PORT;
  if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new PayloadError(`encodeUplink: fPort must be 1..223, got ${fPort}`);
  const v = firstReading(input);
  const has = (k: string): boolean => v[k] !== undefined;
  const int = (k: string, scale = 1): number => Math.round(numberValue(v, k) * scale);
  const w = new ByteWriter();
  if (has('temperature_c')) w.u8(0x01).i16be(int('temperature_c', 10), 'temperature_c × 10');
  if (has('humidity_pct')) w.u8(0x02).u8(int('humidity_pct'), 'humidity_pct');
  if (has('acceleration_x_g') || has('acceleration_y_g') || has('acceleration_z_g')) {
    // Missing axes default to 0 g.
    w.u8(0x03);
    for (const axis of ['x', 'y', 'z']) w.i8(Math.round(numberValue(v, `acceleration_${axis}_g`, 0) * COUNTS_PER_G), `acceleration_${axis}_g × 63`);
  }
  if (has('light_lux')) w.u8(0x04).u16be(int('light_lux'), 'light_lux');
  if (has('motion_count')) w.u8(0x05).u8(int('motion_count'), 'motion_count');
  if (has('co2_ppm')) w.u8(0x06).u16be(int('co2_ppm'), 'co2_ppm');
  if (has('battery_v')) w.u8(0x07).u16be(int('battery_v', 1000), 'battery_v (mV)');
  if (has('pulse_count')) w.u8(0x0b).u32be(int('pulse_count'), 'pulse_count');
  if (has('digital_input')) w.u8(0x0d).u8(booleanValue(v, 'digital_input') ? 1 : 0);
  let distance = has('distance_mm') ? int('distance_mm') : undefined;
  if (distance === undefined && typeof v['fill_pct'] === 'number') {
    distance = distanceForFill(v['fill_pct'], input.variables);
    if (distance === undefined) throw new PayloadError('encodeUplink: fill_pct needs container_depth_mm to derive distance_mm');
  }
  if (distance !== undefined) w.u8(0x0e).u16be(distance, 'distance_mm');
  if (has('occupied')) w.u8(0x11).u8(booleanValue(v, 'occupied') ? OCCUPIED : 0);
  if (has('pressure_hpa')) w.u8(0x14).u32be(int('pressure_hpa', 1000), 'pressure_hpa × 1000');
  if (has('tvoc_ppb')) w.u8(0x1c).u16be(int('tvoc_ppb'), 'tvoc_ppb');
  if (w.length === 0) throw new PayloadError(`encodeUplink: none of the readings can be carried by an Elsys frame (${[...CARRIED].join(', ')})`);
  const ignored = Object.keys(v).filter((k) => !CARRIED.has(k));
  return {
    bytes: w.toArray(),
    fPort,
    ...(ignored.length ? { warnings: [`ignored (an Elsys frame cannot carry them): ${ignored.join(', ')}`] } : {}),
  };
}

export const codec = defineCodec({
  id: 'elsys/elsys',
  name: 'Elsys TLV (ERS, ELT)',
  category: 'generic',
  fPorts: [],
  decodeUplink({ bytes }) {
    return decode(bytes);
  },
  normalizeUplink(data, { variables }) {
    return normalize(data, variables);
  },
  encodeUplink,
});
