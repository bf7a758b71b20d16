/**
 * Test records whose whole content follows from their id, so a reader can tell an intact record
 * from a damaged, shifted or invented one without any other bookkeeping. About 300 bytes of CBOR,
 * shaped like a decoded uplink (raw bytes next to the readings).
 */
import { isDeepStrictEqual } from 'node:util';

export interface TestUplink {
  seq: number;
  dev_eui: string;
  device: string;
  model: string;
  f_port: number;
  f_cnt: number;
  recv_ms: number;
  raw: Uint8Array;
  readings: { distance_mm: number; fill_pct: number; battery_pct: number; temperature_c: number; alarm_fire: boolean };
  rx: { gateway_id: string; rssi: number; snr: number; channel: number }[];
  tags: { site: string; zone: string };
}

/** xorshift32 stream seeded by the id. */
function bytesFor(id: number, n: number): Uint8Array {
  let x = (id * 2654435761) >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function uplinkFor(id: number): TestUplink {
  const hex = (id % 0xffffffff).toString(16).padStart(8, '0');
  return {
    seq: id,
    dev_eui: `a8404100${hex}`,
    device: `bin-${id % 1000}`,
    model: 'dragino-ldds75',
    f_port: 2,
    f_cnt: id % 65536,
    recv_ms: 1_760_000_000_000 + id * 997,
    raw: bytesFor(id, 24),
    readings: {
      distance_mm: id % 3000,
      fill_pct: (id % 1000) / 10,
      battery_pct: id % 101,
      temperature_c: (id % 400) / 10 - 10.5,
      alarm_fire: id % 97 === 0,
    },
    rx: [{ gateway_id: `b827ebfffe${hex.slice(2)}`, rssi: -(id % 120) - 1, snr: (id % 200) / 10 - 9.75, channel: id % 8 }],
    tags: { site: 'recycling-centre-north', zone: `zone-${id % 17}` },
  };
}

/** Whether value is exactly the record uplinkFor(id) (byte arrays compared by content). */
export function isUplinkFor(id: number, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const expected = uplinkFor(id);
  if (!(v['raw'] instanceof Uint8Array) || !Buffer.from(v['raw']).equals(Buffer.from(expected.raw))) return false;
  return isDeepStrictEqual({ ...v, raw: null }, { ...expected, raw: null });
}
