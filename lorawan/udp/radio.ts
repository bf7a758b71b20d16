/**
 * Radio metadata conversions for the Semtech UDP JSON: `datr` ↔ spreading factor/bandwidth,
 * `freq` MHz ↔ Hz, and the random 16-bit datagram token.
 */
import { randomInt } from 'node:crypto';

/** A fresh random 16-bit token. */
export function randomToken(): number {
  return randomInt(0, 0x10000);
}

/** "SF7BW125" → {spreadingFactor: 7, bandwidthHz: 125000}; undefined if not that shape. */
export function parseLoraDatr(datr: string | number): Readonly<{ spreadingFactor: number; bandwidthHz: number }> | undefined {
  if (typeof datr !== 'string') return undefined;
  const hit = parsedDatr.get(datr);
  if (hit !== undefined) return hit;
  const m = /^SF(\d{1,2})BW(\d{1,4})$/.exec(datr);
  if (!m) return undefined;
  const r = Object.freeze({ spreadingFactor: Number(m[1]), bandwidthHz: Number(m[2]) * 1000 });
  // A handful of data rates exist; the bound only keeps junk from growing the map.
  if (parsedDatr.size >= 64) parsedDatr.clear();
  parsedDatr.set(datr, r);
  return r;
}

/** Parsed `datr` strings (the network server parses one per uplink): frozen, shared. */
const parsedDatr = new Map<string, Readonly<{ spreadingFactor: number; bandwidthHz: number }>>();

export function formatLoraDatr(spreadingFactor: number, bandwidthHz: number): string {
  return `SF${spreadingFactor}BW${bandwidthHz / 1000}`;
}

/** `freq` (MHz, float) → Hz, rounded as ChirpStack does. */
export function mhzToHz(freq: number): number {
  return Math.round(freq * 1e6);
}

/** Hz → `freq` MHz. */
export function hzToMhz(hz: number): number {
  return hz / 1e6;
}
