/**
 * A bounded cache of prepared AES keys, as `SoftAesKey` (lorawan/aes-soft.ts: plain-JS AES, no
 * node:crypto cipher object per key).
 *
 * Since session 8 the network server prepares every session's keys once, in its slot of
 * `SessionKeyTable` (session-key-table.ts); this cache serves only keys without a slot — a
 * session replaced by a re-join while an answer for it is still being built — with a few entries.
 * What follows is why the cache was shaped as it is when it held every session's keys.
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
 *
 * A miss with the cache full recycles the least recently used entry: its key object takes the
 * new bytes in place (`SoftAesKey.rekey`). With 10,000 devices heard in turn nearly every uplink
 * misses twice, and a new key object per miss (key copy, round-key view, two subkey buffers)
 * lived long enough in the cache to be promoted, then died in the old space: mark-compact work
 * on a heap kept near the unit's 80 MB. Why not one entry per session instead: 20,000 prepared
 * keys are ~7 MB more live heap for every mark-compact to walk, to save ~1 µs of key expansion.
 * A key returned stays valid until `max - 1` further misses (callers use it at once: a MIC and
 * a decryption, at most two keys at a time).
 */
import { SoftAesKey } from '../../lorawan/aes-soft.ts';

export class AesKeyCache {
  private readonly keys = new Map<string, { bytes: Buffer; key: SoftAesKey }>();

  constructor(private readonly max = 1024) {
    if (max < 4) throw new RangeError(`AesKeyCache: max must be at least 4, got ${max}`);
  }

  get(id: string, bytes: Buffer): SoftAesKey {
    const hit = this.keys.get(id);
    if (hit) {
      this.keys.delete(id);
      if (hit.bytes === bytes) {
        this.keys.set(id, hit);
        return hit.key;
      }
    }
    if (this.keys.size >= this.max) {
      const oldest = this.keys.entries().next().value;
      if (oldest !== undefined) {
        const [oldId, entry] = oldest;
        this.keys.delete(oldId);
        entry.key.rekey(bytes);
        entry.bytes = bytes;
        this.keys.set(id, entry);
        return entry.key;
      }
    }
    const key = new SoftAesKey(bytes);
    this.keys.set(id, { bytes, key });
    return key;
  }

  get size(): number {
    return this.keys.size;
  }
}
