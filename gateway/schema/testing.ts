/** Helpers for the schema tests: an uplink record with every field set, and its lines. */
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
import { recordFromWire, recordToWire } from '../pipeline/record-wire.ts';
import { encodePoints, type Point } from '../sinks/influxdb/line-protocol.ts';

export const T = 1_793_491_200_000;

/** An uplink heard by two gateways; `over` replaces fields. */
export function uplinkRecord(devEui: string, device: DeviceSnapshot, over: Partial<UplinkRecord> = {}): UplinkRecord {
  return {
    v: 1,
    kind: 'up',
    src: 'cs',
    id: 'x',
    time: T,
    rxAt: T,
    devEui,
    devAddr: '26000000',
    fCnt: 7,
    fPort: 3,
    dr: 5,
    adr: true,
    confirmed: false,
    payload: new Uint8Array(17),
    gateways: [
      { id: 'g1', rssi: -80.6, snr: 9.5 },
      { id: 'g2', rssi: -70.4, snr: -2 },
    ],
    frequency: 868_300_000,
    sf: 7,
    device,
    ...over,
  };
}

/** The lines of records read back one by one, each a fresh object (as a sink gets them from the log). */
export function linesOf(toPoints: (r: PipelineRecord) => Point[], ...records: PipelineRecord[]): string[] {
  return records.flatMap((r) => encodePoints(toPoints(recordFromWire(recordToWire(r)))).lines);
}
