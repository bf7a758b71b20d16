/**
 * Milesight EM500-UDL ultrasonic distance sensor (river level stations, tanks, wells), fPort 85.
 *
 * Uplink records (see ../channels.ts for the record format):
 *   01 75  battery   u8 %
 *   03 82  distance  u16 LE mm (Milesight's EM500-UDL documentation)
 *   FF ..  device information and answers to configuration commands
 *
 * `data.distance` is what TTN's em500-udl.js returns: metres (raw / 1000); the device variable
 * `naming: milesight` gives Milesight's decoder's millimetres. The reading is `distance_mm`
 * either way. TTN's codec reads the u16 as signed (65 535 mm → −0.001 m); here it is unsigned,
 * as the vendor documents.
 */
import type { JsonObject } from '../../api.ts';
import { ByteWriter } from '../../bytes.ts';
import { defineCodec } from '../../define.ts';
import { distanceFrames, distanceReadings, distanceReport, readingsResult } from '../distance.ts';
import {
  BATTERY_RECORD,
  DEVICE_INFO_RECORDS,
  MILESIGHT_FPORT,
  REBOOT,
  REPORT_INTERVAL,
  namingOf,
  numberField,
  type Command,
  type RecordSpec,
} from '../channels.ts';

export const COMMANDS: readonly Command[] = [REBOOT, REPORT_INTERVAL];

const RECORDS: readonly RecordSpec[] = [
  ...DEVICE_INFO_RECORDS,
  BATTERY_RECORD,
  {
    channel: 0x03,
    type: 0x82,
    name: 'distance',
    read(r, ctx) {
      const mm = r.u16le('distance');
      ctx.set('distance', ctx.naming === 'milesight' ? mm : mm / 1000);
    },
  },
];

/** distance_mm of decoded data: TTN's naming gives metres, Milesight's millimetres. */
function distanceMm(data: JsonObject, variables: Readonly<Record<string, unknown>>, warnings: string[]): number | undefined {
  const d = numberField(data, 'distance');
  if (d === undefined) return undefined;
  return namingOf(variables, warnings) === 'milesight' ? d : Math.round(d * 1000);
}

const FRAMES = distanceFrames('EM500-UDL', RECORDS, COMMANDS);

export const codec = defineCodec({
  id: 'milesight-iot/em500-udl',
  name: 'Milesight EM500-UDL',
  category: 'bin-fill',
  fPorts: [MILESIGHT_FPORT],

  ...FRAMES,

  normalizeUplink(data, { variables }) {
    const warnings: string[] = [];
    const values = distanceReadings(data, distanceMm(data, variables ?? {}, warnings), variables, warnings);
    return readingsResult(values, warnings);
  },

  /**
   * The periodic report `01 75 <battery> 03 82 <distance>`. distance_mm is required (or fill_pct
   * with container_depth_mm); battery_pct defaults to 100. Rounded to 1 mm and 1 %.
   */
  encodeUplink(input) {
    const { distanceMm: mm, battery } = distanceReport(input);
    const w = new ByteWriter().u8(0x01).u8(0x75).u8(battery, 'battery_pct').u8(0x03).u8(0x82).u16le(mm, 'distance_mm');
    return { bytes: w.toArray(), fPort: MILESIGHT_FPORT };
  },

});
