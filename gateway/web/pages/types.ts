/**
 * The API's response shapes as the pages use them (the server's types, imported as types only:
 * nothing of the server ends up in the browser bundle).
 */
export type { Alarm, DeviceState, StoredFrame } from '../store/local-store.ts';
export type { DeviceSummary, Overview, CountRow, DeviceStateName } from '../store/queries.ts';
export type { Verdict } from '../verdict.ts';
import type { Alarm, DeviceState } from '../store/local-store.ts';
import type { DeviceSummary, Overview } from '../store/queries.ts';
import type { Verdict } from '../verdict.ts';

export type AlarmRow = Alarm & { device: string | null };
export interface DeviceDetail {
  now: number;
  device: DeviceSummary;
  state: DeviceState | null;
  gateways: { id: string; lastSeen: number; rssi: number; snr: number; uplinks: number }[];
  verdict: Verdict;
  alarms: Alarm[];
}
export interface DeviceList {
  now: number;
  total: number;
  limit: number;
  offset: number;
  devices: DeviceSummary[];
}
export type OverviewResponse = Overview & {
  openAlarms: AlarmRow[];
  health: { components: { name: string; kind: string; state: string; detail: string | null }[]; sinks: { name: string; lag: number; errors: number }[] };
};
