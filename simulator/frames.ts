/**
 * What the simulated radio carried: frames as transmitted by a device and heard by gateways,
 * handed to an output (UDP packet forwarders, a ChirpStack MQTT publisher, nothing).
 */
import type { SimDevice } from './population.ts';

/** EU868 uplink channels as an 8-channel gateway is set up (Semtech reference configuration). */
export const EU868_UPLINK_CHANNELS: readonly { frequencyHz: number; channel: number; rfChain: number }[] = [
  { frequencyHz: 868_100_000, channel: 0, rfChain: 1 },
  { frequencyHz: 868_300_000, channel: 1, rfChain: 1 },
  { frequencyHz: 868_500_000, channel: 2, rfChain: 1 },
  { frequencyHz: 867_100_000, channel: 3, rfChain: 0 },
  { frequencyHz: 867_300_000, channel: 4, rfChain: 0 },
  { frequencyHz: 867_500_000, channel: 5, rfChain: 0 },
  { frequencyHz: 867_700_000, channel: 6, rfChain: 0 },
  { frequencyHz: 867_900_000, channel: 7, rfChain: 0 },
];

/** Join-requests use the three default channels only. */
export const EU868_JOIN_CHANNELS = 3;

/** EU868 data rate of a 125 kHz LoRa spreading factor: SF12 = DR0 … SF7 = DR5. */
export function eu868DataRate(spreadingFactor: number): number {
  return 12 - spreadingFactor;
}

export interface GatewayReception {
  gatewayIndex: number;
  /** Lowercase hex EUI. */
  gatewayId: string;
  rssi: number;
  snr: number;
  /** Concentrator µs counter at the end of the frame (32-bit, wraps). */
  tmst: number;
  /** Random per reception, as a forwarder/bridge assigns it. */
  uplinkId: number;
  /** When the network server got it (simulated ms since epoch). */
  nsTimeMs: number;
}

interface RadioFrameBase {
  device: SimDevice;
  /** Simulated ms since epoch (end of the transmission). */
  timeMs: number;
  /** The PHYPayload as it went on the air. */
  phyPayload: Buffer;
  spreadingFactor: number;
  dr: number;
  frequencyHz: number;
  channel: number;
  rfChain: number;
  /** Who heard it, after faults. */
  receptions: GatewayReception[];
}

export interface SimUplink extends RadioFrameBase {
  kind: 'data';
  devAddr: string;
  fCnt: number;
  fPort: number;
  /** Plaintext FRMPayload (what ChirpStack puts in `data`). */
  payload: Uint8Array;
  deduplicationId: string;
  /** One MIC bit was flipped (fault `corrupt-mic`). */
  micCorrupted: boolean;
  /** A second delivery of the same reception (fault `duplicate`): UDP resends it through the first gateway, MQTT republishes. */
  forcedDuplicate: boolean;
  /** Set on a replay: the uplink first carrying this frame. */
  replayOf?: SimUplink;
}

export interface SimJoinRequest extends RadioFrameBase {
  kind: 'join-request';
  devNonce: number;
}

/** A join the simulator accepted itself (outputs without a network server). */
export interface SimJoin {
  device: SimDevice;
  timeMs: number;
  devAddr: string;
  deduplicationId: string;
}

let cachedSecond = Number.NaN;
let cachedSecondText = '';

/** Semtech "compact" ISO 8601 with microseconds, as `rxpk.time` (date part cached per second: hot path). */
export function rxpkTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const frac = Math.floor(ms - second * 1000);
  return `${cachedSecondText}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}000Z`;
}
