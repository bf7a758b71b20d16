/**
 * Which gateways hear a frame, and how well: a log-distance path-loss model for an urban
 * 868 MHz link (128.1 + 37.6·log10(d/km), the model common in LoRa coverage studies) with
 * log-normal shadowing per frame, a thermal noise floor for 125 kHz and the LoRa demodulation
 * floor per spreading factor. A device picks the lowest spreading factor that its best gateway
 * hears with a margin (what ADR converges to).
 */
import type { Rng } from './rng.ts';

export interface Position {
  lat: number;
  lon: number;
}

/** Minimum SNR (dB) at which LoRa demodulates, per spreading factor (Semtech datasheets). */
export const SNR_FLOOR: Readonly<Record<number, number>> = { 7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20 };

const NOISE_FLOOR_DBM = -174 + 10 * Math.log10(125_000) + 6; // ≈ -117 dBm, 6 dB noise figure
const TX_POWER_DBM = 14; // EU868 default max EIRP
const SHADOWING_SD_DB = 6;
const ADR_MARGIN_DB = 10;

export function distanceM(a: Position, b: Position): number {
  const R = 6_371_000;
  const dLat = ((b.lat - a.lat) * Math.PI) / 180;
  const dLon = ((b.lon - a.lon) * Math.PI) / 180;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos((a.lat * Math.PI) / 180) * Math.cos((b.lat * Math.PI) / 180) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(s)));
}

export function pathLossDb(distance: number): number {
  return 128.1 + 37.6 * Math.log10(Math.max(distance, 20) / 1000);
}

/** Mean RSSI and SNR without shadowing. */
export function meanLink(distance: number): { rssi: number; snr: number } {
  const rssi = TX_POWER_DBM - pathLossDb(distance);
  return { rssi, snr: rssi - NOISE_FLOOR_DBM };
}

/** The spreading factor ADR would settle on for the best of the given distances. */
export function chooseSpreadingFactor(distances: number[]): number {
  const best = Math.min(...distances);
  const { snr } = meanLink(best);
  for (let sf = 7; sf <= 12; sf++) if (snr - ADR_MARGIN_DB >= (SNR_FLOOR[sf] as number)) return sf;
  return 12;
}

export interface Reception {
  gatewayIndex: number;
  rssi: number;
  snr: number;
}

/**
 * Draws this frame's reception at every gateway: RSSI with shadowing, SNR capped as real
 * radios report it, kept only where the SNR is above the spreading factor's floor.
 */
export function receive(rng: Rng, distances: readonly number[], sf: number): Reception[] {
  const out: Reception[] = [];
  const floor = SNR_FLOOR[sf] ?? -20;
  for (let i = 0; i < distances.length; i++) {
    const { rssi } = meanLink(distances[i] as number);
    const r = rssi + rng.gaussian(0, SHADOWING_SD_DB);
    const snr = r - NOISE_FLOOR_DBM;
    if (snr < floor) continue;
    out.push({ gatewayIndex: i, rssi: Math.round(Math.max(r, -139)), snr: Math.round(Math.min(snr, 13.5) * 4) / 4 });
  }
  return out;
}

/** A uniformly random point within `radiusM` of a centre. */
export function randomPosition(rng: Rng, centre: Position, radiusM: number): Position {
  const r = radiusM * Math.sqrt(rng.next());
  const theta = rng.uniform(0, 2 * Math.PI);
  const dLat = (r * Math.cos(theta)) / 111_320;
  const dLon = (r * Math.sin(theta)) / (111_320 * Math.cos((centre.lat * Math.PI) / 180));
  return { lat: Math.round((centre.lat + dLat) * 1e6) / 1e6, lon: Math.round((centre.lon + dLon) * 1e6) / 1e6 };
}
