/**
 * Milesight EM400-MUD multifunctional ultrasonic distance sensor (bins in its "bin" working
 * mode, also standard and parking modes), fPort 85.
 *
 * Uplink records (see ../channels.ts for the record format), from Milesight's EM400-MUD payload
 * description and TTN's em400-mud.js:
 *   01 75  battery      u8 %
 *   03 67  temperature  i16 LE / 10 °C
 *   04 82  distance     u16 LE mm
 *   05 00  position     u8: 0 normal, 1 tilt
 *   83 67  temperature + alarm byte (threshold alarm 1 / released 0)
 *   84 82  distance + alarm byte (threshold alarm 1 / released 0)
 *   FF ..  device information and answers to configuration commands
 *
 * `data` is TTN's: the alarm bytes as booleans `temperature_abnormal` / `distance_alarming`;
 * `naming: milesight` gives Milesight's decoder's `temperature_alarm` / `distance_alarm` strings.
 */
import type { JsonObject } from '../../api.ts';
import { ByteWriter, PayloadError } from '../../bytes.ts';
import { defineCodec, numberValue } from '../../define.ts';
import { distanceFrames, distanceReadings, distanceReport, readingsResult } from '../distance.ts';
import {
  BATTERY_RECORD,
  DEVICE_INFO_RECORDS,
  MILESIGHT_FPORT,
  REBOOT,
  REPORT_INTERVAL,
  TEMPERATURE_RECORD,
  asChoice,
  numberField,
  stringField,
  type Command,
  type RecordContext,
  type RecordSpec,
} from '../channels.ts';

/** Working modes of the `FF 71` command, by their byte (Milesight's EM400-MUD decoder). */
export const WORKING_MODES = ['standard', 'bin', 'parking'] as const;

const WORKING_MODE: Command = {
  key: 'working_mode',
  header: [0xff, 0x71],
  encode(value, w) {
    w.u8(asChoice(value, 'working_mode', WORKING_MODES));
    return true;
  },
  decode(r) {
    const b = r.u8('working_mode');
    const mode = WORKING_MODES[b];
    if (mode === undefined) throw new PayloadError(`working_mode ${b} is not one of 0..2 (${WORKING_MODES.join(', ')})`);
    return mode;
  },
};

export const COMMANDS: readonly Command[] = [REBOOT, REPORT_INTERVAL, WORKING_MODE];

const ALARM_TEXT = ['threshold_alarm_release', 'threshold_alarm'] as const;

/** The alarm byte after an 83 67 / 84 82 value: TTN's boolean, or Milesight's string. */
function setAlarm(ctx: RecordContext, byte: number, ttnKey: string, milesightKey: string): void {
  if (byte > 1) ctx.warnings.push(`${ttnKey}: alarm byte ${byte} is not 0 or 1 (read as alarm, as TTN's codec does)`);
  if (ctx.naming === 'milesight') ctx.set(milesightKey, ALARM_TEXT[byte === 0 ? 0 : 1]);
  else ctx.set(ttnKey, byte !== 0);
}

const RECORDS: readonly RecordSpec[] = [
  ...DEVICE_INFO_RECORDS,
  BATTERY_RECORD,
  TEMPERATURE_RECORD,
  { channel: 0x04, type: 0x82, name: 'distance', read: (r, ctx) => ctx.set('distance', r.u16le('distance')) },
  {
    channel: 0x05,
    type: 0x00,
    name: 'position',
    read(r, ctx) {
      const b = r.u8('position');
      // TTN's codec: 0 is normal, anything else tilt; only 0 and 1 are documented.
      if (b > 1) ctx.warnings.push(`position byte ${b} is not 0 or 1 (read as tilt, as TTN's codec does)`);
      ctx.set('position', b === 0 ? 'normal' : 'tilt');
    },
  },
  {
    channel: 0x83,
    type: 0x67,
    name: 'temperature alarm',
    read(r, ctx) {
      const t = r.i16le('temperature') / 10;
      const alarm = r.u8('temperature alarm');
      ctx.set('temperature', t);
      setAlarm(ctx, alarm, 'temperature_abnormal', 'temperature_alarm');
    },
  },
  {
    channel: 0x84,
    type: 0x82,
    name: 'distance alarm',
    read(r, ctx) {
      const d = r.u16le('distance');
      const alarm = r.u8('distance alarm');
      ctx.set('distance', d);
      setAlarm(ctx, alarm, 'distance_alarming', 'distance_alarm');
    },
  },
];

/** An alarm from either naming: TTN's boolean or Milesight's string; undefined when absent. */
function alarmField(data: JsonObject, ttnKey: string, milesightKey: string): boolean | undefined {
  const b = data[ttnKey];
  if (typeof b === 'boolean') return b;
  const s = stringField(data, milesightKey);
  return s === 'threshold_alarm' ? true : s === 'threshold_alarm_release' ? false : undefined;
}

const FRAMES = distanceFrames('EM400-MUD', RECORDS, COMMANDS);

export const codec = defineCodec({
  id: 'milesight-iot/em400-mud',
  name: 'Milesight EM400-MUD',
  category: 'bin-fill',
  fPorts: [MILESIGHT_FPORT],

  ...FRAMES,

  normalizeUplink(data, { variables }) {
    const warnings: string[] = [];
    const values = distanceReadings(data, numberField(data, 'distance'), variables, warnings);
    const temperature = numberField(data, 'temperature');
    if (temperature !== undefined) values['temperature_c'] = temperature;
    const position = stringField(data, 'position');
    if (position === 'tilt' || position === 'normal') values['alarm_tilt'] = position === 'tilt';
    const full = alarmField(data, 'distance_alarming', 'distance_alarm');
    if (full !== undefined) values['alarm_full'] = full;
    const fire = alarmField(data, 'temperature_abnormal', 'temperature_alarm');
    if (fire !== undefined) values['alarm_fire'] = fire;
    return readingsResult(values, warnings);
  },

  /**
   * The periodic report `01 75 <battery> [03 67 <temperature>] 04 82 <distance> 05 00 <tilt>`.
   * distance_mm is required (or fill_pct with container_depth_mm); battery_pct defaults to 100,
   * alarm_tilt to false; temperature_c is sent when given. A given alarm_full / alarm_fire
   * (true or false) sends the alarm form of the record (84 82 / 83 67), as the device does when
   * a threshold alarm is raised or released. Rounded to 1 mm, 1 %, 0.1 °C.
   */
  encodeUplink(input) {
    const { values, distanceMm: mm, battery } = distanceReport(input);
    const flag = (name: string): boolean | undefined => {
      const v = values[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'boolean') throw new PayloadError(`encodeUplink: ${name} must be a boolean, got ${JSON.stringify(v)}`);
      return v;
    };
    const full = flag('alarm_full');
    const fire = flag('alarm_fire');
    const tilt = flag('alarm_tilt') ?? false;

    const w = new ByteWriter().u8(0x01).u8(0x75).u8(battery, 'battery_pct');
    if (values['temperature_c'] !== undefined || fire !== undefined) {
      const t = Math.round(numberValue(values, 'temperature_c', 20) * 10);
      if (fire === undefined) w.u8(0x03).u8(0x67).i16le(t, 'temperature_c');
      else w.u8(0x83).u8(0x67).i16le(t, 'temperature_c').u8(fire ? 1 : 0);
    }
    if (full === undefined) w.u8(0x04).u8(0x82).u16le(mm, 'distance_mm');
    else w.u8(0x84).u8(0x82).u16le(mm, 'distance_mm').u8(full ? 1 : 0);
    w.u8(0x05).u8(0x00).u8(tilt ? 1 : 0);
    return { bytes: w.toArray(), fPort: MILESIGHT_FPORT };
  },

});
