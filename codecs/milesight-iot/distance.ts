/**
 * What the Milesight distance sensors (EM310-UDL, EM400-MUD, EM500-UDL) share, so each codec
 * keeps only its records and its own readings:
 * - the fPort-85 frame: uplink records and downlink commands through ../channels.ts, with the
 *   model named in the unknown-fPort errors;
 * - the start of their readings: `distance_mm` (+ `fill_pct` from the container's geometry, via
 *   ../readings.ts) and `battery_pct`;
 * - the start of their device-side report: the distance to send (from `distance_mm` or
 *   `fill_pct`) and the battery, checked and rounded as the device sends them (1 mm, 1 %).
 */
import type { DecodeResult, DownlinkEncodeInput, DownlinkEncodeResult, JsonObject, NormalizeResult, Reading, ReadingValue, UplinkEncodeInput } from '../api.ts';
import { PayloadError } from '../bytes.ts';
import { firstReading, numberValue } from '../define.ts';
import { putDistance, readingDistance } from '../readings.ts';
import { MILESIGHT_FPORT, decodeCommands, decodeRecords, encodeCommands, numberField, recordsResult, type Command, type RecordSpec } from './channels.ts';

type FrameInput = { bytes: Uint8Array; fPort: number; variables: Record<string, unknown> };

/** decodeUplink / encodeDownlink / decodeDownlink of a distance sensor's fPort-85 frames. */
export function distanceFrames(model: string, records: readonly RecordSpec[], commands: readonly Command[]) {
  return {
    decodeUplink({ bytes, fPort, variables }: FrameInput): DecodeResult {
      if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (${model} uplinks use ${MILESIGHT_FPORT})`] };
      return recordsResult(decodeRecords(bytes, records, { variables, commands }));
    },
    encodeDownlink({ data }: DownlinkEncodeInput): DownlinkEncodeResult {
      return { bytes: encodeCommands(data, commands), fPort: MILESIGHT_FPORT };
    },
    decodeDownlink({ bytes, fPort }: FrameInput): DecodeResult {
      if (fPort !== MILESIGHT_FPORT) return { errors: [`unknown FPort ${fPort} (${model} downlinks use ${MILESIGHT_FPORT})`] };
      return { data: decodeCommands(bytes, commands) };
    },
  };
}

/** The readings every distance sensor has: distance (in mm, as the codec found it) and battery. */
export function distanceReadings(data: JsonObject, distanceMm: number | undefined, variables: Record<string, unknown> | undefined, warnings: string[]): Record<string, ReadingValue> {
  const values: Record<string, ReadingValue> = {};
  if (distanceMm !== undefined) putDistance(values, distanceMm, variables, warnings);
  const battery = numberField(data, 'battery');
  if (battery !== undefined) values['battery_pct'] = battery;
  return values;
}

/** One reading of `values` (none when empty), with the warnings when there are any. */
export function readingsResult(values: Record<string, ReadingValue>, warnings: string[]): NormalizeResult {
  const readings: Reading[] = Object.keys(values).length ? [{ values }] : [];
  return warnings.length ? { readings, warnings } : { readings };
}

/**
 * What a distance sensor's report starts from: the reading's values, the distance in whole mm
 * (required: `distance_mm`, or `fill_pct` with `container_depth_mm`) and the battery in whole %
 * (default 100).
 */
export function distanceReport(input: UplinkEncodeInput): { values: Record<string, unknown>; distanceMm: number; battery: number } {
  const values = firstReading(input);
  const distance = readingDistance(values, input.variables);
  const distanceMm = Math.round(numberValue({ distance_mm: distance }, 'distance_mm'));
  const battery = Math.round(numberValue(values, 'battery_pct', 100));
  if (battery < 0 || battery > 100) throw new PayloadError(`encodeUplink: battery_pct ${battery} is outside 0..100`);
  return { values, distanceMm, battery };
}
