/**
 * Decentlab DL-MBX ultrasonic distance / level sensor (river levels, tanks, snow depth).
 *
 * Decentlab's protocol v2 and downlink command set (../protocol.ts); sensor groups, from TTN's
 * dl-mbx.js and Decentlab's product page:
 *   bit 0  distance (mm), number of valid samples  (2 words)
 *   bit 1  battery voltage (mV → V)                (1 word)
 *
 * A frame whose distance group has 0 valid samples carries no valid distance: the reading is
 * `sensor_fault: true` without `distance_mm` (`data` keeps the raw word, as TTN's codec does).
 */
import type { JsonObject, NormalizeResult, ReadingValue, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { PayloadError } from '../../bytes.ts';
import { booleanValue, defineCodec, latestReading, numberValue } from '../../define.ts';
import { putDistance, readingDistance } from '../../readings.ts';
import { decodeDownlink, encodeDownlink, encodeFrame, uplinkDecoder, uplinkPort, valueOf, type SensorGroup } from '../protocol.ts';

const MODEL = 'DL-MBX';

export const battery = (x: number): number => x / 1000;

const GROUPS: readonly SensorGroup[] = [
  {
    bit: 0,
    name: 'distance',
    quantities: [
      { key: 'distance', displayName: 'Distance', unit: 'mm', convert: (x) => x },
      { key: 'number_of_valid_samples', displayName: 'Number of valid samples', convert: (x) => x },
    ],
  },
  { bit: 1, name: 'battery', quantities: [{ key: 'battery_voltage', displayName: 'Battery voltage', unit: 'V', convert: battery }] },
];

const decodeFrame = uplinkDecoder(MODEL, GROUPS);

function normalizeUplink(data: JsonObject, variables: Record<string, unknown> | undefined): NormalizeResult {
  const values: Record<string, ReadingValue> = {};
  const warnings: string[] = [];
  const distance = valueOf(data, 'distance');
  const samples = valueOf(data, 'number_of_valid_samples');
  if (distance !== undefined && samples !== undefined) {
    values['sensor_fault'] = samples === 0;
    if (samples > 0) {
      putDistance(values, distance, variables, warnings);
    }
  }
  const v = valueOf(data, 'battery_voltage');
  if (v !== undefined) values['battery_v'] = v;
  const readings = Object.keys(values).length ? [{ values }] : [];
  return warnings.length ? { readings, warnings } : { readings };
}

/**
 * The device side. The distance group is sent when distance_mm, fill_pct (with
 * container_depth_mm) or sensor_fault is given: sensor_fault true sends 0 valid samples,
 * otherwise variable `valid_samples` (default 1, as TTN's example). Battery always (default
 * 3.0 V). The device id comes from variable `device_id` (default 0). 1 mm and 1 mV steps.
 */
function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  const v = latestReading(input);
  const vars = input.variables ?? {};
  const port = uplinkPort(vars);
  if (input.fPort !== undefined && input.fPort !== port) {
    throw new PayloadError(`encodeUplink: DL-MBX has one frame type, sent on fPort ${port}, not ${input.fPort}`);
  }
  const idVar = vars['device_id'];
  const deviceId = typeof idVar === 'number' ? idVar : 0;
  const words: number[] = [];
  let flags = 0;
  const fault = v['sensor_fault'] !== undefined && booleanValue(v, 'sensor_fault');
  const distance = readingDistance(v, vars);
  if (distance !== undefined || fault) {
    const mm = fault ? 0 : Math.round(numberValue({ distance_mm: distance }, 'distance_mm'));
    if (mm < 0 || mm > 0xffff) throw new PayloadError(`encodeUplink: distance_mm ${mm} is outside 0..65535`);
    const samplesVar = vars['valid_samples'];
    const samples = fault ? 0 : typeof samplesVar === 'number' && Number.isInteger(samplesVar) && samplesVar >= 1 && samplesVar <= 0xffff ? samplesVar : 1;
    words.push(mm, samples);
    flags |= 1;
  }
  const mv = Math.round(numberValue(v, 'battery_v', 3.0) * 1000);
  if (mv < 0 || mv > 0xffff) throw new PayloadError(`encodeUplink: battery_v ${mv / 1000} is out of range for DL-MBX`);
  words.push(mv);
  flags |= 2;
  return { bytes: encodeFrame(deviceId, flags, words), fPort: port };
}

export const codec = defineCodec({
  id: 'decentlab/dl-mbx',
  name: 'Decentlab DL-MBX',
  category: 'bin-fill',
  fPorts: [1],
  decodeUplink: ({ bytes, fPort, variables }) => decodeFrame(bytes, fPort, variables),
  normalizeUplink: (data, { variables }) => normalizeUplink(data, variables),
  encodeUplink,
  encodeDownlink: ({ data }) => encodeDownlink(data),
  decodeDownlink: ({ bytes, fPort }) => decodeDownlink(bytes, fPort, MODEL),
});
