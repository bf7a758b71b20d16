/**
 * Milesight EM300-DI pulse counter / digital input, used as a retrofit on water meters with a
 * pulse output. fPort 85, Milesight records (../channels.ts):
 *
 *   01 75  battery      u8 %
 *   03 67  temperature  i16 LE / 10 °C
 *   04 68  humidity     u8 / 2 %
 *   05 00  gpio         u8: 1/0 (TTN), "high"/"low" (naming: milesight) (digital mode)
 *   05 C8  pulse        u32 LE                                 (counter mode, firmware < 1.3)
 *   05 E1  water        water_conv u16/10, pulse_conv u16/10, water f32 LE (firmware ≥ 1.3:
 *                       water = pulses × water_conv / pulse_conv, in the unit set on the device)
 *   85 00  gpio alarm   gpio u8, gpio_alarm u8
 *   85 E1  water alarm  as 05 E1 + water_alarm u8 (1/2 outage timeout alarm/release,
 *                       3/4 flow timeout alarm/release)
 *   20 CE  history      time u32, temperature i16/10, humidity u8/2, gpio_type u8 (1 gpio,
 *                       2 counter), gpio u8, pulse u32                           (13 bytes)
 *   21 CE  history      time u32, temperature, humidity, alarm u8, gpio_type, gpio,
 *                       water_conv u16/10, pulse_conv u16/10, water f32           (18 bytes)
 *
 * History entries leave `gpio_type` out (as the TTN codec and Milesight's README do): an entry
 * has `pulse`/`water` in counter mode and `gpio` in digital mode.
 */
import { variable } from '../../variables.ts';
import type { JsonObject, JsonValue, Reading, ReadingValue, UplinkEncodeInput, Variables } from '../../api.ts';
import { ByteWriter, PayloadError, round, type ByteReader } from '../../bytes.ts';
import { defineCodec, numberValue } from '../../define.ts';
import {
  BATTERY_RECORD,
  HUMIDITY_RECORD,
  TEMPERATURE_RECORD,
  DEVICE_INFO_RECORDS,
  MILESIGHT_FPORT,
  PLAUSIBLE_EPOCH_S,
  REBOOT,
  REPORT_INTERVAL,
  action,
  asBoolean,
  asInteger,
  asObject,
  decodeCommands,
  decodeRecords,
  recordsResult,
  encodeCommands,
  enumText,
  flagCommand,
  float32Value,
  isoTime,
  numberField,
  numberVariable,
  objectList,
  quantize,
  readFlag,
  stringField,
  timeZoneCommand,
  uintCommand,
  type Command,
  type RecordContext,
  type RecordSpec,
} from '../channels.ts';

const GPIO: Record<number, string> = { 0: 'low', 1: 'high' };
const GPIO_ALARM: Record<number, string> = { 0: 'gpio alarm release', 1: 'gpio alarm' };
/** Alarm codes of 85 E1 and of 21 CE history entries (5/6 only in history). */
const WATER_ALARM: Record<number, string> = {
  0: 'none',
  1: 'water outage timeout alarm',
  2: 'water outage timeout alarm release',
  3: 'water flow timeout alarm',
  4: 'water flow timeout alarm release',
  5: 'gpio alarm',
  6: 'gpio alarm release',
};
const GPIO_TYPE_DIGITAL = 1;
const GPIO_TYPE_COUNTER = 2;

/** Normalized alarm of each water alarm text. */
const ALARM_READINGS: Record<string, [string, boolean]> = {
  'water outage timeout alarm': ['alarm_dry', true],
  'water outage timeout alarm release': ['alarm_dry', false],
  'water flow timeout alarm': ['alarm_leak', true],
  'water flow timeout alarm release': ['alarm_leak', false],
};

/** m³ per unit of the device's `water` value, by device variable water_unit. */
const WATER_UNITS: Record<string, number> = { m3: 1, 'm³': 1, L: 1e-3, l: 1e-3, mL: 1e-6, ml: 1e-6, gal: 0.003785411784 };

// ---- uplink --------------------------------------------------------------------------------

/** water_conv, pulse_conv, water: 8 bytes of 05 E1, 85 E1 and 21 CE. */
function readWater(r: ByteReader, out: JsonObject, warnings: string[]): void {
  out['water_conv'] = r.u16le('water_conv') / 10;
  out['pulse_conv'] = r.u16le('pulse_conv') / 10;
  const water = float32Value(r.f32le('water'));
  if (water === undefined) warnings.push(`water at offset ${r.offset - 4} is not a finite number: left out`);
  else out['water'] = water;
}

function readWaterFields(r: ByteReader, warnings: string[]): JsonObject {
  const out: JsonObject = {};
  readWater(r, out, warnings);
  return out;
}

/** Sets each field through the context (so a record cut short later is taken back whole). */
function setAll(ctx: RecordContext, fields: JsonObject): void {
  for (const key in fields) ctx.set(key, fields[key] as JsonValue);
}

/** GPIO level: TTN's codec gives the raw byte (1/0), Milesight's decoder "high"/"low". */
function gpioValue(v: number, what: string, ctx: RecordContext): JsonValue {
  return ctx.naming === 'milesight' ? enumText(GPIO, v, what, ctx) : v;
}

function history(r: ByteReader, ctx: RecordContext, withWater: boolean): void {
  const entry: JsonObject = { timestamp: r.u32le('timestamp') };
  entry['temperature'] = r.i16le('temperature') / 10;
  entry['humidity'] = r.u8('humidity') / 2;
  if (withWater) entry['alarm'] = enumText(WATER_ALARM, r.u8('alarm'), 'history alarm', ctx);
  const gpioType = r.u8('gpio_type');
  const gpio = r.u8('gpio');
  if (withWater) {
    const water: JsonObject = {};
    readWater(r, water, ctx.warnings);
    if (gpioType === GPIO_TYPE_COUNTER) Object.assign(entry, water);
  } else {
    const pulse = r.u32le('pulse');
    if (gpioType === GPIO_TYPE_COUNTER) entry['pulse'] = pulse;
  }
  if (gpioType === GPIO_TYPE_DIGITAL) entry['gpio'] = gpioValue(gpio, 'history gpio', ctx);
  else if (gpioType !== GPIO_TYPE_COUNTER) ctx.warnings.push(`history gpio_type ${gpioType} is neither 1 (gpio) nor 2 (counter): input value left out`);
  ctx.push('history', entry);
}

const RECORDS: readonly RecordSpec[] = [
  ...DEVICE_INFO_RECORDS,
  BATTERY_RECORD,
  TEMPERATURE_RECORD,
  HUMIDITY_RECORD,
  { channel: 0x05, type: 0x00, name: 'gpio', read: (r, ctx) => ctx.set('gpio', gpioValue(r.u8('gpio'), 'gpio', ctx)) },
  { channel: 0x05, type: 0xc8, name: 'pulse', read: (r, ctx) => ctx.set('pulse', r.u32le('pulse')) },
  { channel: 0x05, type: 0xe1, name: 'water', read: (r, ctx) => setAll(ctx, readWaterFields(r, ctx.warnings)) },
  {
    channel: 0x85,
    type: 0x00,
    name: 'gpio alarm',
    read(r, ctx) {
      ctx.set('gpio', gpioValue(r.u8('gpio'), 'gpio', ctx));
      ctx.set('gpio_alarm', enumText(GPIO_ALARM, r.u8('gpio_alarm'), 'gpio_alarm', ctx));
    },
  },
  {
    channel: 0x85,
    type: 0xe1,
    name: 'water alarm',
    read(r, ctx) {
      setAll(ctx, readWaterFields(r, ctx.warnings));
      const code = r.u8('water_alarm');
      ctx.set('water_alarm', code >= 1 && code <= 4 ? (WATER_ALARM[code] as string) : enumText({}, code, 'water_alarm', ctx));
    },
  },
  { channel: 0x20, type: 0xce, name: 'history', read: (r, ctx) => history(r, ctx, false) },
  { channel: 0x21, type: 0xce, name: 'history (water)', read: (r, ctx) => history(r, ctx, true) },
];

// ---- downlink ------------------------------------------------------------------------------

/** FF A1 01 <kind> <enable u8> <duration u32, minutes>. */
function waterAlarmSettings(key: string, kind: number): Command {
  return {
    key,
    header: [0xff, 0xa1, 0x01, kind],
    encode(value, w) {
      const v = asObject(value, key);
      w.u8(asBoolean(v['enable'], `${key}.enable`) ? 1 : 0);
      w.u32le(asInteger(v['duration'], `${key}.duration`, 1, 64800));
      return true;
    },
    decode: (r) => ({ enable: readFlag(r, `${key}.enable`), duration: r.u32le(`${key}.duration`) }),
  };
}

/** FF A2 <enable> <water u16, 0.1> <pulse u16, 0.1> <unit: 4 bytes UTF-8, zero-padded>. */
const PULSE_CONVERSION: Command = {
  key: 'pulse_conversion_settings',
  header: [0xff, 0xa2],
  encode(value, w) {
    const v = asObject(value, 'pulse_conversion_settings');
    const tenths = (name: string): number => {
      const x = v[name];
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new PayloadError(`pulse_conversion_settings.${name} must be a number`);
      return asInteger(quantize(x, 0.1), `pulse_conversion_settings.${name} × 10`, 1, 65535);
    };
    const unit = v['unit'] ?? '';
    const unitBytes = typeof unit === 'string' ? new TextEncoder().encode(unit) : undefined;
    if (!unitBytes || unitBytes.length > 4) throw new PayloadError('pulse_conversion_settings.unit must be a string of at most 4 UTF-8 bytes');
    w.u8(asBoolean(v['enable'], 'pulse_conversion_settings.enable') ? 1 : 0);
    w.u16le(tenths('water')).u16le(tenths('pulse'));
    w.bytes([...unitBytes, 0, 0, 0, 0].slice(0, 4));
    return true;
  },
  decode(r) {
    const enable = readFlag(r, 'pulse_conversion_settings.enable');
    const water = r.u16le('water') / 10;
    const pulse = r.u16le('pulse') / 10;
    const raw = r.take(4, 'unit');
    const end = raw.indexOf(0);
    const unit = new TextDecoder('utf-8', { fatal: false }).decode(end < 0 ? raw : raw.subarray(0, end));
    return { enable, water, pulse, unit };
  },
};

/** FD 6B <start u32> (from start on) or FD 6C <start u32> <end u32> (a range). */
const FETCH_HISTORY: Command = {
  key: 'fetch_history',
  header: [0xfd],
  encode(value, w) {
    const v = asObject(value, 'fetch_history');
    const start = asInteger(v['start_time'], 'fetch_history.start_time', 0, 0xffffffff);
    if (v['end_time'] === undefined) {
      w.u8(0x6b).u32le(start);
    } else {
      const end = asInteger(v['end_time'], 'fetch_history.end_time', start, 0xffffffff);
      w.u8(0x6c).u32le(start).u32le(end);
    }
    return true;
  },
  decode(r): JsonObject {
    const kind = r.u8('fetch_history type');
    if (kind === 0x6b) return { start_time: r.u32le('start_time') };
    if (kind === 0x6c) return { start_time: r.u32le('start_time'), end_time: r.u32le('end_time') };
    throw new PayloadError(`unknown FD command 0x${kind.toString(16)}`);
  },
};

export const COMMANDS: readonly Command[] = [
  REBOOT,
  action('query_device_status', [0xff, 0x28], [0xff]),
  action('sync_time', [0xff, 0x4a], [0x00]),
  REPORT_INTERVAL,
  uintCommand('collection_interval', [0xff, 0x02], 2, 60, 64800),
  timeZoneCommand(),
  action('clear_counter', [0xff, 0x4e, 0x01, 0x00]),
  action('stop_counter', [0xff, 0x4e, 0x01, 0x01]),
  action('start_counter', [0xff, 0x4e, 0x01, 0x02]),
  uintCommand('counter', [0xff, 0x92, 0x01], 4, 0, 0xffffffff),
  waterAlarmSettings('water_flow_alarm_settings', 0),
  waterAlarmSettings('water_flow_timeout_alarm_settings', 1),
  waterAlarmSettings('water_outage_timeout_alarm_settings', 2),
  PULSE_CONVERSION,
  flagCommand('pulse_filter_enable', [0xff, 0xa3, 0x01]),
  flagCommand('history_enable', [0xff, 0x68]),
  action('clear_history', [0xff, 0x27], [0x01]),
  flagCommand('retransmit_enable', [0xff, 0x69]),
  uintCommand('retransmit_interval', [0xff, 0x6a, 0x00], 2, 1, 64800),
  FETCH_HISTORY,
  action('stop_transmit', [0xfd, 0x6d], [0xff]),
];

// ---- normalization -----------------------------------------------------------------------------

/**
 * Meter index from the pulse counter: volume_offset_m3 (the meter's index when the counter was
 * 0, default 0) + pulses × liters_per_pulse / 1000. Undefined without liters_per_pulse.
 */
export function volumeFromPulses(pulses: number, variables: Variables | undefined, warnings?: string[]): number | undefined {
  const litersPerPulse = numberVariable(variables, 'liters_per_pulse', warnings);
  if (litersPerPulse === undefined) return undefined;
  const offset = numberVariable(variables, 'volume_offset_m3', warnings) ?? 0;
  return round(offset + (pulses * litersPerPulse) / 1000, 6);
}

/** m³ per unit of `water`, from device variable water_unit; undefined when not set. */
function waterUnitFactor(variables: Variables | undefined, warnings?: string[]): number | undefined {
  const unit = variables?.['water_unit'];
  if (unit === undefined || unit === '') return undefined;
  const factor = typeof unit === 'string' && Object.hasOwn(WATER_UNITS, unit) ? WATER_UNITS[unit] : undefined;
  if (factor !== undefined) return factor;
  const message = `device variable water_unit must be one of ${Object.keys(WATER_UNITS).join(', ')}, got ${JSON.stringify(unit)}`;
  if (!warnings) throw new PayloadError(message);
  if (!warnings.includes(message)) warnings.push(message);
  return undefined;
}

/** The values of one set of fields (the current ones or a history entry). */
function normalizeValues(d: JsonObject, variables: Variables | undefined, warnings: string[]): Record<string, ReadingValue> {
  const values: Record<string, ReadingValue> = {};
  const battery = numberField(d, 'battery');
  if (battery !== undefined) values['battery_pct'] = battery;
  const temperature = numberField(d, 'temperature');
  if (temperature !== undefined) values['temperature_c'] = temperature;
  const humidity = numberField(d, 'humidity');
  if (humidity !== undefined) values['humidity_pct'] = humidity;
  // TTN's naming gives the level as 1/0, Milesight's as "high"/"low".
  const gpio = d['gpio'];
  if (gpio === 'high' || gpio === 'low') values['digital_input'] = gpio === 'high';
  else if (gpio === 1 || gpio === 0) values['digital_input'] = gpio === 1;

  const pulse = numberField(d, 'pulse');
  if (pulse !== undefined) {
    values['pulse_count'] = pulse;
    const volume = volumeFromPulses(pulse, variables, warnings);
    if (volume !== undefined) values['volume_m3'] = volume;
    else if (!variable(variables, 'liters_per_pulse')) addOnce(warnings, 'no volume_m3 from pulse: device variable liters_per_pulse is not set');
  }
  const water = numberField(d, 'water');
  if (water !== undefined) {
    const factor = waterUnitFactor(variables, warnings);
    if (factor !== undefined) values['volume_m3'] = Number((water * factor).toPrecision(12));
    else if (!variables?.['water_unit']) addOnce(warnings, 'no volume_m3 from water: device variable water_unit (the unit set on the device) is not set');
  }
  for (const key of ['water_alarm', 'alarm']) {
    const text = stringField(d, key) ?? '';
    const alarm = Object.hasOwn(ALARM_READINGS, text) ? ALARM_READINGS[text] : undefined;
    if (alarm) values[alarm[0]] = alarm[1];
  }
  return values;
}

function addOnce(list: string[], message: string): void {
  if (!list.includes(message)) list.push(message);
}

// ---- encoding (device side) ----------------------------------------------------------------------

/**
 * Alarm code for a water record: alarm_leak true → 3 (flow timeout alarm), alarm_dry true → 1
 * (outage timeout alarm). A false alarm sends nothing: the device reports a release only on the
 * transition, which a stateless encoder cannot know.
 */
function alarmCode(values: Record<string, unknown>): number | undefined {
  const leak = values['alarm_leak'] === true;
  const dry = values['alarm_dry'] === true;
  if (leak && dry) throw new PayloadError('encodeUplink: the EM300-DI reports one water alarm per frame: alarm_leak and alarm_dry are both true');
  return leak ? 3 : dry ? 1 : undefined;
}

/** Pulse count of a reading: pulse_count, or volume_m3 through liters_per_pulse. */
function pulsesOf(values: Record<string, unknown>, variables: Variables | undefined): number | undefined {
  if (values['pulse_count'] !== undefined) return Math.round(numberValue(values, 'pulse_count'));
  if (values['volume_m3'] === undefined) return undefined;
  const litersPerPulse = numberVariable(variables, 'liters_per_pulse');
  if (!litersPerPulse) throw new PayloadError('encodeUplink: volume_m3 in counter mode needs device variable liters_per_pulse (or give pulse_count)');
  const offset = numberVariable(variables, 'volume_offset_m3') ?? 0;
  return Math.round(((numberValue(values, 'volume_m3') - offset) * 1000) / litersPerPulse);
}

function writeWater(w: ByteWriter, volumeM3: number, factor: number): void {
  // The simulated device converts 1:1 (water_conv = pulse_conv = 1.0), in water_unit.
  w.u16le(10).u16le(10).f32le(volumeM3 / factor);
}

/** Temperature and humidity records, each only when given. */
function writeClimateRecords(w: ByteWriter, values: Record<string, unknown>): void {
  if (values['temperature_c'] !== undefined) w.u8(0x03).u8(0x67).i16le(quantize(numberValue(values, 'temperature_c'), 0.1), 'temperature_c');
  if (values['humidity_pct'] !== undefined) w.u8(0x04).u8(0x68).u8(quantize(numberValue(values, 'humidity_pct'), 0.5), 'humidity_pct');
}

/** The periodic report from the latest reading. */
function writeReport(w: ByteWriter, values: Record<string, unknown>, variables: Variables | undefined, factor: number | undefined, warnings: string[]): void {
  const battery = Math.round(numberValue(values, 'battery_pct', 100));
  if (battery < 0 || battery > 100) throw new PayloadError(`encodeUplink: battery_pct ${battery} is outside 0..100`);
  w.u8(0x01).u8(0x75).u8(battery);
  writeClimateRecords(w, values);
  const alarm = alarmCode(values);
  if (factor !== undefined && values['volume_m3'] !== undefined) {
    w.u8(alarm === undefined ? 0x05 : 0x85).u8(0xe1);
    writeWater(w, numberValue(values, 'volume_m3'), factor);
    if (alarm !== undefined) w.u8(alarm);
    return;
  }
  if (alarm !== undefined) warnings.push('water alarm not sent: the EM300-DI reports water alarms with the water record only (set device variable water_unit and give volume_m3)');
  const pulses = pulsesOf(values, variables);
  if (pulses !== undefined) w.u8(0x05).u8(0xc8).u32le(pulses, 'pulse_count');
  else if (typeof values['digital_input'] === 'boolean') w.u8(0x05).u8(0x00).u8(values['digital_input'] ? 1 : 0);
  else throw new PayloadError('encodeUplink: give pulse_count, volume_m3 or digital_input');
}

/**
 * A history record (20 CE in counter mode, 21 CE with water_unit), or false when the reading
 * lacks what the record always carries: time, temperature_c, humidity_pct and the input.
 */
function writeHistory(w: ByteWriter, reading: Reading, variables: Variables | undefined, factor: number | undefined): boolean {
  const v = reading.values;
  const ms = reading.time === undefined ? NaN : Date.parse(reading.time);
  const digital = v['pulse_count'] === undefined && v['volume_m3'] === undefined && typeof v['digital_input'] === 'boolean';
  const counted = factor === undefined ? v['pulse_count'] !== undefined || (v['volume_m3'] !== undefined && variable(variables, 'liters_per_pulse') !== undefined) : v['volume_m3'] !== undefined;
  if (!Number.isFinite(ms) || v['temperature_c'] === undefined || v['humidity_pct'] === undefined || !(digital || counted)) return false;
  w.u8(factor === undefined ? 0x20 : 0x21).u8(0xce).u32le(Math.round(ms / 1000), 'time');
  w.i16le(quantize(numberValue(v, 'temperature_c'), 0.1), 'temperature_c').u8(quantize(numberValue(v, 'humidity_pct'), 0.5), 'humidity_pct');
  const input = digital && v['digital_input'] ? 1 : 0;
  if (factor === undefined) {
    w.u8(digital ? GPIO_TYPE_DIGITAL : GPIO_TYPE_COUNTER).u8(input).u32le(digital ? 0 : (pulsesOf(v, variables) as number), 'pulse_count');
  } else {
    w.u8(alarmCode(v) ?? 0).u8(digital ? GPIO_TYPE_DIGITAL : GPIO_TYPE_COUNTER).u8(input);
    if (digital) w.bytes([0, 0, 0, 0, 0, 0, 0, 0]);
    else writeWater(w, numberValue(v, 'volume_m3'), factor);
  }
  return true;
}

/**
 * Device side. The latest (last) reading is the periodic report: battery (default 100 %),
 * temperature/humidity when given, then the input — counter mode (default) `05 C8` pulse_count
 * (or volume_m3 through liters_per_pulse); with device variable water_unit (firmware ≥ 1.3,
 * pulse conversion on) `05 E1` volume_m3, or `85 E1` when alarm_leak / alarm_dry is true;
 * digital_input alone gives `05 00`. Earlier readings become history records (`20 CE` /
 * `21 CE`) when they hold a whole record; others are skipped with one warning (the device
 * keeps no hourly-only history). Other readings (flow_m3h, alarm_burst…) have no field here.
 */
function encodeFrame(input: UplinkEncodeInput): { bytes: number[]; warnings: string[] } {
  const readings = input?.readings;
  const last = Array.isArray(readings) ? readings[readings.length - 1] : undefined;
  if (!last?.values || typeof last.values !== 'object') throw new PayloadError('encodeUplink needs at least one reading {values: {...}}');
  const factor = waterUnitFactor(input.variables);
  const warnings: string[] = [];
  const w = new ByteWriter();
  writeReport(w, last.values, input.variables, factor, warnings);
  const skipped = readings.slice(0, -1).filter((r) => !writeHistory(w, r, input.variables, factor)).length;
  if (skipped) warnings.push(`${skipped} earlier reading(s) not sent: a history record needs time, temperature_c, humidity_pct and ${factor === undefined ? 'pulse_count' : 'volume_m3'} or digital_input`);
  return { bytes: w.toArray(), warnings };
}

export const codec = defineCodec({
  id: 'milesight-iot/em300-di',
  name: 'Milesight EM300-DI',
  category: 'water-meter',
  fPorts: [MILESIGHT_FPORT],

  decodeUplink({ bytes, fPort, variables }) {
    if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (EM300-DI uplinks use ${MILESIGHT_FPORT})`] };
    return recordsResult(decodeRecords(bytes, RECORDS, { variables, commands: COMMANDS }));
  },

  /** History entries first (one timed reading each, in frame order), then the current values. */
  normalizeUplink(data, { variables }) {
    const warnings: string[] = [];
    const readings: Reading[] = [];
    for (const entry of objectList(data, 'history')) {
      const ts = numberField(entry, 'timestamp');
      if (ts === undefined) continue;
      if (ts < PLAUSIBLE_EPOCH_S) addOnce(warnings, `history timestamp ${ts} is before 2015: device clock not set?`);
      const values = normalizeValues(entry, variables, warnings);
      if (Object.keys(values).length) readings.push({ time: isoTime(ts), values });
    }
    const current = normalizeValues(data, variables, warnings);
    if (Object.keys(current).length) readings.push({ values: current });
    return warnings.length ? { readings, warnings } : { readings };
  },

  encodeUplink(input) {
    const { bytes, warnings } = encodeFrame(input);
    return warnings.length ? { bytes, fPort: MILESIGHT_FPORT, warnings } : { bytes, fPort: MILESIGHT_FPORT };
  },

  encodeDownlink({ data }) {
    return { bytes: encodeCommands(data, COMMANDS), fPort: MILESIGHT_FPORT };
  },

  decodeDownlink({ bytes, fPort }) {
    if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (EM300-DI downlinks use ${MILESIGHT_FPORT})`] };
    return { data: decodeCommands(bytes, COMMANDS) };
  },
});
