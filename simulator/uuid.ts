/**
 * Deterministic UUIDs: random-looking version-4 UUIDs drawn from a seeded generator (event
 * deduplication ids, so the same seed gives the same ids), and name-based version-5 UUIDs
 * (tenant, application and device-profile ids that stay fixed per fleet).
 */
import { createHash } from 'node:crypto';
import type { Rng } from './rng.ts';

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex4 = (x: number): string => (HEX2[(x >>> 8) & 0xff] as string) + (HEX2[x & 0xff] as string);

/** A version-4 (random) UUID from four 32-bit words (the one per-uplink id: kept cheap). */
export function uuidFromWords(a: number, b: number, c: number, d: number): string {
  const b2 = (b & 0xffff0fff) | 0x00004000; // version 4
  const c2 = (c & 0x3fffffff) | 0x80000000; // RFC 4122 variant
  return `${hex4(a >>> 16)}${hex4(a)}-${hex4(b2 >>> 16)}-${hex4(b2)}-${hex4(c2 >>> 16)}-${hex4(c2)}${hex4(d >>> 16)}${hex4(d)}`;
}

export function uuidFromRng(rng: Rng): string {
  return uuidFromWords(rng.u32(), rng.u32(), rng.u32(), rng.u32());
}

/** The lorawan-edge simulator's namespace for name-based UUIDs (itself a fixed random UUID). */
const NAMESPACE = Buffer.from('6f1f3c2a8d4e4b0a9c7e5a1b2c3d4e5f', 'hex');

/** A version-5 (SHA-1, name-based) UUID: the same name always gives the same id. */
export function uuidFromName(name: string): string {
  const h = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
