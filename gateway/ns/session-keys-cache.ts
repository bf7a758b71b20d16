/**
 * A bounded cache of prepared AES keys for the network server's session keys, as `SoftAesKey`
 * (lorawan/aes-soft.ts: plain-JS AES, no node:crypto cipher object per key).
 *
 * Why bounded: `lorawan/aes.ts` caches the prepared key per key buffer for as long as the buffer
 * lives, and a session's keys live as long as the session. With 10,000 sessions that is up to
 * 30,000 cipher objects (JS stream objects plus OpenSSL contexts) held for ever: measured in
 * bench/edge-ns as ~90 MB of RSS and a heap so full that garbage collection took ~30 % of the
 * gateway's CPU under the systemd unit's `--max-old-space-size=80`. A city device sends every
 * few minutes, so a cipher kept between two uplinks buys little, and creating them per uplink
 * costs more than the crypto: hence plain-JS keys (bench/edge-ns/keys.ts: 12 µs per uplink with
 * a cold key, 7 µs warm, against 42 µs on node:crypto), and a small cache of the most recently
 * used (a confirmed uplink's ACK, a device sending in bursts).
 *
 * Keyed by a string (DevEUI and which key: a string's hash is cached; Buffers as Map keys showed
 * up at ~2 % of the gateway's CPU in bench/edge-ns) and checked against the session's key Buffer object
 * (sessions never mutate their key buffers; a re-join makes new ones). Insertion order of the
 * Map is the recency order.
 */
import { SoftAesKey } from '../../lorawan/aes-soft.ts';

export class AesKeyCache {
  private readonly keys = new Map<string, { bytes: Buffer; key: SoftAesKey }>();

  constructor(private readonly max = 1024) {}

  get(id: string, bytes: Buffer): SoftAesKey {
    const hit = this.keys.get(id);
    if (hit) {
      this.keys.delete(id);
      if (hit.bytes === bytes) {
        this.keys.set(id, hit);
        return hit.key;
      }
    }
    const key = new SoftAesKey(bytes);
    this.keys.set(id, { bytes, key });
    if (this.keys.size > this.max) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return key;
  }

  get size(): number {
    return this.keys.size;
  }
}
