/**
 * What the durable log stores per event: the raw uplink next to what was decoded, so nothing
 * is lost when a codec fails and stored uplinks can be decoded again after a codec fix
 * (`lorawan-edge replay`). Field names are short-ish because every byte is written to an SD
 * card; the record is CBOR-encoded by the log.
 */
import type { JsonObject, Reading } from '../../codecs/api.ts';

export const RECORD_VERSION = 1;

export interface GatewayRx {
  /** gateway EUI, lowercase hex */
  id: string;
  rssi: number;
  snr: number;
}

export interface DecodedPart {
  /** catalogue id (model) whose codec decoded it */
  model: string;
  data?: JsonObject;
  readings: Reading[];
  warnings: string[];
  errors: string[];
  /** 'codec' = our codec; 'chirpstack' = ChirpStack's own `object` was used */
  by: 'codec' | 'chirpstack';
}

export interface DeviceSnapshot {
  name: string;
  model?: string;
  category?: string;
  tags: Record<string, string>;
}

export interface UplinkRecord {
  v: typeof RECORD_VERSION;
  kind: 'up';
  /** name of the source that received it */
  src: string;
  /** deduplication id (ChirpStack's, or the edge NS's) — the idempotency key */
  id: string;
  /** the uplink's own time, ms since epoch: the InfluxDB timestamp */
  time: number;
  /** when the gateway received it (wall clock) */
  rxAt: number;
  devEui: string;
  devAddr: string;
  fCnt: number;
  fPort: number;
  dr: number;
  adr: boolean;
  confirmed: boolean;
  /** decrypted FRMPayload */
  payload: Uint8Array;
  gateways: GatewayRx[];
  frequency?: number;
  sf?: number;
  bw?: number;
  region?: string;
  device: DeviceSnapshot;
  /** ChirpStack's own codec output, kept as received */
  csObject?: JsonObject;
  decoded?: DecodedPart;
}

export interface JoinRecord {
  v: typeof RECORD_VERSION;
  kind: 'join';
  src: string;
  id: string;
  time: number;
  rxAt: number;
  devEui: string;
  devAddr: string;
  device: DeviceSnapshot;
}

export interface StatusRecord {
  v: typeof RECORD_VERSION;
  kind: 'status';
  src: string;
  id: string;
  time: number;
  rxAt: number;
  devEui: string;
  device: DeviceSnapshot;
  margin: number;
  externalPower: boolean;
  batteryUnavailable: boolean;
  batteryPct: number;
}

/**
 * A gateway's own `stat` (Semtech UDP PUSH_DATA), as the edge network server received it: the
 * `gateway_status` measurement and the overview's "gateways and their last stat".
 */
export interface GatewayStatusRecord {
  v: typeof RECORD_VERSION;
  kind: 'gateway';
  src: string;
  /** `<gatewayId>/<time>`: the same stat twice is one point */
  id: string;
  /** the stat's own time (ms), else when it arrived */
  time: number;
  rxAt: number;
  gatewayId: string;
  rxnb?: number;
  rxok?: number;
  rxfw?: number;
  ackr?: number;
  dwnb?: number;
  txnb?: number;
  lat?: number;
  lon?: number;
  alt?: number;
}

export type PipelineRecord = UplinkRecord | JoinRecord | StatusRecord | GatewayStatusRecord;
