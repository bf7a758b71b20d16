/** Pre-built Semtech UDP datagrams for the edge-ns bench (the forwarder side). */
import { buildPullData as pull, buildPushData, rxpkFor } from '../../lorawan/udp/gateway.ts';

export function buildPullData(gatewayEui: string): Buffer {
  return pull({ gatewayEui }).bytes;
}

/**
 * One PUSH_DATA with one rxpk (SF9, 868.1 MHz) carrying `phy`, received at `tmst` / `timeMs`.
 * `copy` > 0: the same frame as heard by a farther gateway (`--heard-by`): weaker RSSI and SNR,
 * so the network server answers through copy 0's gateway.
 */
export function pushDataFor(gatewayEui: string, phy: Buffer, tmst: number, timeMs: number, copy = 0): Buffer {
  return buildPushData({ gatewayEui, rxpk: [rxpkFor({ phyPayload: phy, tmst, frequencyHz: 868_100_000, datr: 'SF9BW125', rssi: -90 - 6 * copy, lsnr: 4 - 1.5 * copy, time: new Date(timeMs) })] }).bytes;
}
