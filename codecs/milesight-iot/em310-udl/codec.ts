/**
 * Milesight EM310-UDL ultrasonic distance sensor (bins, tanks), fPort 85.
 *
 * Uplink records (see ../channels.ts for the record format):
 *   01 75  battery   u8 %
 *   03 82  distance  u16 LE mm
 *   04 00  tilt      u8: 0 normal, 1 tilt — TTN calls it `tilt`, Milesight `position`
 *   FF ..  device information and answers to configuration commands
 *
 * Downlinks (fPort 85): reboot, collection_interval, report_interval, distance_alarm_config.
 */
import type { JsonObject } from '../../api.ts';
import { ByteWriter, PayloadError } from '../../bytes.ts';
import { booleanValue, defineCodec } from '../../define.ts';
import { distanceFrames, distanceReadings, distanceReport, readingsResult } from '../distance.ts';
import {
  BATTERY_RECORD,
  DEVICE_INFO_RECORDS,
  MILESIGHT_FPORT,
  REBOOT,
  REPORT_INTERVAL,
  asBoolean,
  asChoice,
  asInteger,
  asObject,
  enumText,
  numberField,
  stringField,
  uintCommand,
  type Command,
  type RecordSpec,
} from '../channels.ts';

const POSITION: Record<number, string> = { 0: 'normal', 1: 'tilt' };

/** Alarm conditions, in the order of their code (bits 0–2 of the config byte). */
export const CONDITIONS = ['disable', 'below', 'above', 'between', 'outside'] as const;

/**
 * FF 06: distance alarm. Byte 0: condition (bits 0–2), bit 3 set (alarm id "distance"),
 * alarm release enable (bit 7); then threshold_min i16, threshold_max i16, lock_time u16,
 * continue_time u16. Thresholds travel in mm: Milesight's encoder takes centimetres and
 * multiplies by 10, its decoder reads the answer back without scaling; we use mm both ways.
 */
const DISTANCE_ALARM_CONFIG: Command = {
  key: 'distance_alarm_config',
  header: [0xff, 0x06],
  encode(value, w) {
    const v = asObject(value, 'distance_alarm_config');
    const condition = asChoice(v['condition'], 'distance_alarm_config.condition', CONDITIONS);
    const release = v['alarm_release_enable'] === undefined ? false : asBoolean(v['alarm_release_enable'], 'distance_alarm_config.alarm_release_enable');
    w.u8(condition | 0x08 | (release ? 0x80 : 0));
    w.i16le(asInteger(v['threshold_min'] ?? 0, 'distance_alarm_config.threshold_min', -32768, 32767));
    w.i16le(asInteger(v['threshold_max'] ?? 0, 'distance_alarm_config.threshold_max', -32768, 32767));
    w.u16le(asInteger(v['lock_time'] ?? 0, 'distance_alarm_config.lock_time', 0, 65535));
    w.u16le(asInteger(v['continue_time'] ?? 0, 'distance_alarm_config.continue_time', 0, 65535));
    return true;
  },
  decode(r) {
    const flags = r.u8('distance alarm condition');
    const condition = CONDITIONS[flags & 0x07];
    if (condition === undefined) throw new PayloadError(`distance alarm condition ${flags & 0x07} is not one of 0..4`);
    return {
      condition,
      alarm_release_enable: (flags & 0x80) !== 0,
      threshold_min: r.i16le('threshold_min'),
      threshold_max: r.i16le('threshold_max'),
      lock_time: r.u16le('lock_time'),
      continue_time: r.u16le('continue_time'),
    };
  },
};

export const COMMANDS: readonly Command[] = [
  REBOOT,
  uintCommand('collection_interval', [0xff, 0x02], 2, 10, 60),
  REPORT_INTERVAL,
  DISTANCE_ALARM_CONFIG,
];

const RECORDS: readonly RecordSpec[] = [
  ...DEVICE_INFO_RECORDS,
  BATTERY_RECORD,
  {
    channel: 0x03,
    type: 0x82,
    name: 'distance',
    read(r, ctx) {
      ctx.set('distance', r.u16le('distance'));
    },
  },
  {
    channel: 0x04,
    type: 0x00,
    name: 'tilt',
    read(r, ctx) {
      const key = ctx.naming === 'milesight' ? 'position' : 'tilt';
      ctx.set(key, enumText(POSITION, r.u8(key), key, ctx));
    },
  },
];

/** alarm_tilt from either naming; undefined when absent or unknown. */
function tiltAlarm(data: JsonObject): boolean | undefined {
  const text = stringField(data, 'tilt') ?? stringField(data, 'position');
  return text === 'tilt' ? true : text === 'normal' ? false : undefined;
}

const FRAMES = distanceFrames('EM310-UDL', RECORDS, COMMANDS);

export const codec = defineCodec({
  id: 'milesight-iot/em310-udl',
  name: 'Milesight EM310-UDL',
  category: 'bin-fill',
  fPorts: [MILESIGHT_FPORT],

  ...FRAMES,

  normalizeUplink(data, { variables }) {
    const warnings: string[] = [];
    const values = distanceReadings(data, numberField(data, 'distance'), variables, warnings);
    const tilt = tiltAlarm(data);
    if (tilt !== undefined) values['alarm_tilt'] = tilt;
    return readingsResult(values, warnings);
  },

  /**
   * The periodic report `01 75 <battery> 03 82 <distance> 04 00 <tilt>`. distance_mm is required
   * (or fill_pct with container_depth_mm); battery_pct defaults to 100, alarm_tilt to false.
   * Values are rounded to the device's resolution (1 mm, 1 %).
   */
  encodeUplink(input) {
    const { values, distanceMm, battery } = distanceReport(input);
    const w = new ByteWriter();
    w.u8(0x01).u8(0x75).u8(battery, 'battery_pct');
    w.u8(0x03).u8(0x82).u16le(distanceMm, 'distance_mm');
    w.u8(0x04).u8(0x00).u8(booleanValue(values, 'alarm_tilt') ? 1 : 0);
    return { bytes: w.toArray(), fPort: MILESIGHT_FPORT };
  },

});
