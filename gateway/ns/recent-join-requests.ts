/**
 * The join-requests accepted in the last minute, by their bytes, with the gateways that reported
 * them: so that another gateway's copy of one arriving after its dedup window closed (a slow
 * backhaul, a loaded machine) is told apart from a real DevNonce reuse. Without it such a copy
 * met the DevNonce the join had just spent and was counted `devnonce_reuse` — a replay-like
 * fault that never happened — where a data frame's late copy is a `late_copy`.
 *
 * Invariants:
 * - A copy is `late` only when its 23 bytes equal an accepted join-request's (same DevEUI,
 *   DevNonce and MIC: the MIC covers every other byte), it comes within `horizonMs` of that
 *   acceptance, and none of its gateways reported the accepted one. The same gateway hearing the
 *   same bytes again heard a second transmission (a replayed join-request): still
 *   `devnonce_reuse`, as for data frames (`replay`). A compliant device never sends the same
 *   DevNonce twice, so byte-identical from another gateway within the horizon is a copy.
 * - Bounded: at most `max` entries (the oldest goes first), each gone after `horizonMs`;
 *   memory only (after a restart a copy is `devnonce_reuse`, as before, unless the inbox replay
 *   handled the frame: then it is a `duplicate`, network-server.ts `copyOfReplayed`).
 */

export const RECENT_JOIN_HORIZON_MS = 60_000;
export const RECENT_JOINS_MAX = 4096;

interface Accepted {
  /** EUIs of the gateways that reported the accepted join-request, joined by spaces */
  gateways: string;
  /** monotonic ms until which a copy of it counts as late */
  until: number;
}

export class RecentJoinRequests {
  /** bytes (base64) → what was accepted; insertion order = expiry order (one horizon for all) */
  private readonly accepted = new Map<string, Accepted>();

  constructor(
    private readonly horizonMs = RECENT_JOIN_HORIZON_MS,
    private readonly max = RECENT_JOINS_MAX,
  ) {}

  get size(): number {
    return this.accepted.size;
  }

  /** A join-request was accepted (a join made from it) at `now`, reported by these gateways. */
  accept(phyPayload: Uint8Array, gateways: readonly string[], now: number): void {
    this.expire(now);
    const key = keyOf(phyPayload);
    this.accepted.delete(key);
    if (this.accepted.size >= this.max) this.accepted.delete(this.accepted.keys().next().value as string);
    this.accepted.set(key, { gateways: gateways.join(' '), until: now + this.horizonMs });
  }

  /** Whether a join-request whose DevNonce is used is a late copy of one accepted here (see the invariants). */
  isLateCopy(phyPayload: Uint8Array, gateways: readonly string[], now: number): boolean {
    this.expire(now);
    const a = this.accepted.get(keyOf(phyPayload));
    if (!a) return false;
    const heard = a.gateways.split(' ');
    return gateways.every((g) => !heard.includes(g));
  }

  private expire(now: number): void {
    for (const [k, a] of this.accepted) {
      if (a.until > now) break;
      this.accepted.delete(k);
    }
  }
}

function keyOf(phyPayload: Uint8Array): string {
  return Buffer.from(phyPayload.buffer, phyPayload.byteOffset, phyPayload.byteLength).toString('base64');
}
