/**
 * The datagrams the inbox journal remembers for N5 (`udp-inbox.ts`): a PUSH_DATA the forwarder
 * sends again — same gateway, token, length and CRC-32 — is recognised while it is among the last
 * `capacity` datagrams journaled, and answered with its first copy's entry id.
 *
 * Why typed arrays in a ring rather than a Map of objects: the journal remembers 65,536
 * datagrams, and a Map from a `gateway/token` string to `{ crc, length, promise }` was ~76,000
 * heap objects (3 MB, bench/edge-ns heap snapshot at 2,000 uplinks/s) that lived long enough to
 * reach the old space and be walked by every mark-compact of a heap the systemd unit keeps at
 * 80 MB. Here the key is a number (gateway index × 65,536 + token) mapped to a slot number —
 * a Map of small integers holds no object per entry — and a slot's CRC, length and entry id sit
 * in typed arrays outside the JS heap. Only a datagram still being written keeps its promise.
 *
 * Gateway indices are assigned on first sight; past `MAX_GATEWAYS` (a flood of made-up EUIs
 * with no allow-list) everything is forgotten and numbering starts again: a forgotten datagram
 * sent again is journaled twice, which the network server's dedup and counters absorb (N5 only
 * saves the second write).
 */
import { crc32 } from '../buffer/crc32.ts';

const TOKENS = 0x10000;
/** keeps `index × 65,536 + token` a small integer (< 2^30) */
const MAX_GATEWAYS = 16_384;

export class RecentDatagrams {
  /** key → slot */
  private readonly slotOf = new Map<number, number>();
  private readonly keyAt: Int32Array;
  private readonly crcAt: Int32Array;
  /** a UDP datagram is at most 65,507 bytes */
  private readonly lengthAt: Uint16Array;
  /** entry id once durable; -1 while written (then `pendingAt` has its promise) */
  private readonly idAt: Float64Array;
  private readonly pendingAt = new Map<number, Promise<number>>();
  private readonly gatewayIndex = new Map<string, number>();
  private next = 0;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`RecentDatagrams: capacity must be a positive integer, got ${capacity}`);
    this.keyAt = new Int32Array(capacity).fill(-1);
    this.crcAt = new Int32Array(capacity);
    this.lengthAt = new Uint16Array(capacity);
    this.idAt = new Float64Array(capacity).fill(-1);
  }

  /**
   * Remembers a datagram (token in bytes 1-2) whose entry is `durable`: its id, or the promise of
   * it — then the caller reports the outcome with `settled`/`failed` and the slot returned (one
   * reaction per datagram for the caller's bookkeeping and this memory together).
   */
  add(gateway: string, datagram: Buffer, durable: number | Promise<number>): number {
    let g = this.gatewayIndex.get(gateway);
    if (g === undefined) {
      if (this.gatewayIndex.size >= MAX_GATEWAYS) this.clear();
      g = this.gatewayIndex.size;
      this.gatewayIndex.set(gateway, g);
    }
    const key = g * TOKENS + tokenOf(datagram);
    const before = this.slotOf.get(key);
    if (before !== undefined) this.free(before);
    const slot = this.next;
    this.next = (slot + 1) % this.capacity;
    if (this.keyAt[slot] !== -1) this.free(slot);
    this.keyAt[slot] = key;
    this.crcAt[slot] = crc32(datagram) | 0;
    this.lengthAt[slot] = datagram.length;
    this.slotOf.set(key, slot);
    if (typeof durable === 'number') {
      this.idAt[slot] = durable;
      return slot;
    }
    this.idAt[slot] = -1;
    this.pendingAt.set(slot, durable);
    return slot;
  }

  /** The entry `durable` of the datagram in `slot` was written with id `id`. */
  settled(slot: number, durable: Promise<number>, id: number): void {
    if (this.pendingAt.get(slot) !== durable) return; // the slot was reused meanwhile
    this.pendingAt.delete(slot);
    this.idAt[slot] = id;
  }

  /** It could not be written: forgotten, so a resend is written again, not acknowledged. */
  failed(slot: number, durable: Promise<number>): void {
    if (this.pendingAt.get(slot) === durable) this.free(slot);
  }

  /** The first copy's entry id (a promise while it is written) if `datagram` is remembered, else undefined. */
  resent(gateway: string, datagram: Buffer): Promise<number> | undefined {
    const g = this.gatewayIndex.get(gateway);
    if (g === undefined || datagram.length < 3) return undefined;
    const slot = this.slotOf.get(g * TOKENS + tokenOf(datagram));
    if (slot === undefined || this.lengthAt[slot] !== datagram.length || this.crcAt[slot] !== (crc32(datagram) | 0)) return undefined;
    return this.pendingAt.get(slot) ?? Promise.resolve(this.idAt[slot] as number);
  }

  /** datagrams remembered */
  get size(): number {
    return this.slotOf.size;
  }

  private free(slot: number): void {
    const key = this.keyAt[slot] as number;
    if (key !== -1 && this.slotOf.get(key) === slot) this.slotOf.delete(key);
    this.keyAt[slot] = -1;
    this.pendingAt.delete(slot);
  }

  private clear(): void {
    this.slotOf.clear();
    this.pendingAt.clear();
    this.gatewayIndex.clear();
    this.keyAt.fill(-1);
  }
}

function tokenOf(datagram: Buffer): number {
  return (((datagram[1] ?? 0) << 8) | (datagram[2] ?? 0)) & 0xffff;
}
