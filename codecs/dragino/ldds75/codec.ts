/**
 * Dragino LDDS75 ultrasonic distance sensor, fPort 2. Format: devices-and-payload-formats.md
 * §5.3. Frames are told apart by length, integers big-endian:
 *
 *   8 bytes (current firmware)          5 bytes (legacy firmware)
 *   0-1 battery mV (& 0x3FFF)           0-1 battery mV (& 0x3FFF)
 *   2-3 distance mm                     2-3 distance mm
 *   4   interrupt flag                  4   interrupt flag
 *   5-6 DS18B20 temperature i16 / 10 °C
 *   7   sensor flag
 *
 * Distance 0 means "no sensor" and 20 an invalid reading: those are reported as
 * `"No Sensor"` / `"Invalid Reading"` plus a warning, never as a distance.
 *
 * `data` keeps the field names of TTN's firmware 1.1.4 codec (`Bat` in V, `Distance` as
 * "<n> mm", `TempC_DS18B20` as a 2-decimal string) so existing dashboards keep working; the
 * normalized readings are numbers. A 4-byte frame is no documented layout: like TTN's fw 1.2
 * codec it is reported as `{distance: "No Sensor"}`, with an error saying nothing was decoded.
 *
 * Downlinks (Dragino's common commands, not in the TTN codec): `01 <u24 seconds>` transmit
 * interval, `04 FF` reset.
 */
import type { DecodeResult, DownlinkEncodeResult, JsonObject, NormalizeResult, Reading, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError, toHex } from '../../bytes.ts';
import { booleanValue, defineCodec, firstReading, numberValue } from '../../define.ts';
import { distanceForFill, fillPercent } from '../../readings.ts';

const PORT = 2;
const NO_SENSOR = 'No Sensor';
const INVALID = 'Invalid Reading';
const MAX_INTERVAL_S = 0xffffff;

const WARN_NO_SENSOR = 'distance 0: no ultrasonic sensor detected';
const WARN_INVALID = 'distance 20: invalid reading (no echo, target out of range)';
const WARN_FOUR_BYTES =
  '4-byte frame is no documented LDDS75 layout (8 bytes current, 5 bytes legacy firmware): nothing decoded, reported as "No Sensor" like the firmware 1.2 reference codec';

function distanceText(mm: number, warnings: string[]): string {
  if (mm === 0) {
    warnings.push(WARN_NO_SENSOR);
    return NO_SENSOR;
  }
  if (mm === 20) {
    warnings.push(WARN_INVALID);
    return INVALID;
  }
  return `${mm} mm`;
}

function decodeUplink(bytes: Uint8Array): DecodeResult {
  // TTN's data for it, and an error: a length no layout has is a frame not decoded (TS013).
  if (bytes.length === 4) return { data: { distance: NO_SENSOR }, errors: [WARN_FOUR_BYTES] };
  if (bytes.length !== 8 && bytes.length !== 5) {
    throw new PayloadError(`unexpected frame length ${bytes.length}: LDDS75 frames are 8 bytes (current firmware) or 5 bytes (legacy)`);
  }
  const warnings: string[] = [];
  const r = new ByteReader(bytes);
  const data: JsonObject = {
    Bat: (r.u16be('battery') & 0x3fff) / 1000,
    Distance: distanceText(r.u16be('distance'), warnings),
    Interrupt_flag: r.u8('interrupt flag'),
  };
  if (bytes.length === 8) {
    data['TempC_DS18B20'] = (r.i16be('DS18B20 temperature') / 10).toFixed(2);
    data['Sensor_flag'] = r.u8('sensor flag');
  }
  return warnings.length ? { data, warnings } : { data };
}

// ---- normalize ----

function normalize(data: JsonObject, variables: Record<string, unknown> | undefined): NormalizeResult {
  const warnings: string[] = [];
  const values: Reading['values'] = {};
  if (data['distance'] === NO_SENSOR && data['Distance'] === undefined) {
    return { readings: [{ values: { sensor_fault: true } }], warnings: [WARN_FOUR_BYTES] };
  }
  const bat = data['Bat'];
  if (typeof bat !== 'number' || !Number.isFinite(bat)) throw new PayloadError('data.Bat must be a number (V)');
  values['battery_v'] = bat;
  const distance = data['Distance'];
  const mm = typeof distance === 'string' ? /^(\d+) mm$/.exec(distance) : null;
  if (mm) {
    const distanceMm = Number(mm[1]);
    values['distance_mm'] = distanceMm;
    values['sensor_fault'] = false;
    const fill = fillPercent(distanceMm, variables);
    if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
    else if (fill.warning) warnings.push(fill.warning);
  } else if (distance === NO_SENSOR || distance === INVALID) {
    values['sensor_fault'] = true;
    warnings.push(distance === NO_SENSOR ? WARN_NO_SENSOR : WARN_INVALID);
  } else {
    throw new PayloadError(`data.Distance must be "<n> mm", "${NO_SENSOR}" or "${INVALID}", got ${JSON.stringify(distance)}`);
  }
  const temp = data['TempC_DS18B20'];
  if (temp !== undefined) {
    const t = typeof temp === 'string' && /^-?\d+(\.\d+)?$/.test(temp) ? Number(temp) : NaN;
    if (!Number.isFinite(t)) throw new PayloadError(`data.TempC_DS18B20 must be a numeric string, got ${JSON.stringify(temp)}`);
    values['temperature_c'] = t;
  }
  return { readings: [{ values }], ...(warnings.length ? { warnings } : {}) };
}

// ---- encodeUplink (device side): the 8-byte frame ----

function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  if (input.fPort !== undefined && input.fPort !== PORT) throw new PayloadError(`LDDS75 sends on fPort 2 only, not ${input.fPort}`);
  const v = firstReading(input);
  let distance = typeof v['distance_mm'] === 'number' ? Math.round(v['distance_mm']) : undefined;
  if (distance === undefined && typeof v['fill_pct'] === 'number') distance = distanceForFill(v['fill_pct'], input.variables);
  if (distance === undefined) {
    // A sensor fault without a distance is what the device sends when no sensor answers: 0.
    if (booleanValue(v, 'sensor_fault')) distance = 0;
    else throw new PayloadError('encodeUplink needs distance_mm (or fill_pct with container_depth_mm set, or sensor_fault: true)');
  }
  const mv = Math.round(numberValue(v, 'battery_v', 3.6) * 1000);
  // The top two bits of the battery word are not part of the value (the decoder masks them).
  if (mv < 0 || mv > 0x3fff) throw new PayloadError(`battery_v out of range: ${mv / 1000} V (allowed 0..16.383)`);
  const bytes = new ByteWriter()
    .u16be(mv)
    .u16be(distance, 'distance_mm')
    .u8(0, 'interrupt flag')
    .i16be(Math.round(numberValue(v, 'temperature_c', 0) * 10), 'temperature_c × 10')
    .u8(1, 'sensor flag')
    .toArray();
  return { bytes, fPort: PORT };
}

// ---- downlinks ----

function encodeDownlink(data: JsonObject): DownlinkEncodeResult {
  const keys = Object.keys(data);
  if (keys.length !== 1) return { errors: [`one command per downlink: transmitInterval (s) or reset, got ${keys.join(', ') || 'none'}`] };
  if ('reset' in data) {
    if (data['reset'] !== true) return { errors: ['reset must be true'] };
    return { bytes: [0x04, 0xff], fPort: PORT };
  }
  const s = data['transmitInterval'];
  if (s === undefined) return { errors: [`unknown command "${keys[0]}": transmitInterval (s) or reset`] };
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > MAX_INTERVAL_S) {
    return { errors: [`transmitInterval must be an integer 1..${MAX_INTERVAL_S} s, got ${JSON.stringify(s)}`] };
  }
  return { bytes: new ByteWriter().u8(0x01).u24be(s).toArray(), fPort: PORT };
}

function decodeDownlink(bytes: Uint8Array): DecodeResult {
  if (bytes.length === 4 && bytes[0] === 0x01) return { data: { transmitInterval: new ByteReader(bytes, 1).u24be('interval') } };
  if (bytes.length === 2 && bytes[0] === 0x04 && bytes[1] === 0xff) return { data: { reset: true } };
  return { errors: [`unknown LDDS75 command ${toHex(bytes)}: expected 01 <u24 seconds> or 04ff`] };
}

export const codec = defineCodec({
  id: 'dragino/ldds75',
  name: 'Dragino LDDS75',
  category: 'bin-fill',
  fPorts: [PORT],
  decodeUplink({ bytes, fPort }) {
    if (fPort !== PORT) return { errors: ['unknown FPort'] };
    return decodeUplink(bytes);
  },
  normalizeUplink(data, { variables }) {
    return normalize(data, variables);
  },
  encodeUplink,
  encodeDownlink({ data }) {
    return encodeDownlink(data);
  },
  decodeDownlink({ bytes }) {
    return decodeDownlink(bytes);
  },
});
