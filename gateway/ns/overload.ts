/**
 * How much read-but-unfinished work the network server may hold, in bytes of heap, so that an
 * overloaded gateway sheds load instead of running out of heap (the systemd unit caps old space
 * at `--max-old-space-size=80`). bench/RESULTS.md ("ns-bench", "session 8, ns-overload"): 50
 * forwarders batching as lora_pkt_fwd does (35–107 rxpk per PUSH_DATA) at 10,000 uplinks/s
 * filled that heap with ~16,000 frames in dedup windows and ~10,100 uplinks in one commit batch;
 * the bounds then were counts by time only (a 20 ms batch, 20,000 open frames).
 *
 * Measured heap per unit of work (bench/edge-ns/heap-per-frame.ts: rxpk objects decoded from
 * 100-rxpk PUSH_DATA held in a dedup window; the heap snapshot of ns-bench for the rest):
 * - one reception in a dedup window (its rxpk, Reception, key string, Map entry): 0.59 KB;
 *   a frame heard by 2 gateways 1.09 KB;
 * - one accepted uplink in a batch, from the batch's commit until its records are durable
 *   (frame, decoded readings, record, answer, receptions): ≈ 5 KB (the snapshot's 92 MB minus
 *   the dedup windows' 17 MB and the ~21 MB of sessions and code, over 10,100 uplinks).
 * The live heap beside it is ~15 MB idle plus ~0.6 KB per device (~21 MB with 10,000 sessions,
 * gateway/deploy/lorawan-edge.service), the durable log's tail cache holds up to 4,000 records
 * (`read_cache_records`, ~15 MB of record objects) while a sink lags — since session 10 only
 * those no sink has read yet (gateway/buffer/tail-cache.ts) —, and a mark-compact needs room to work: after
 * a warm-up the live heap is already 45–50 MB with 10,000 sessions. The estimate undercounts (the
 * sinks' batches, answers, closures are not in it): with 24 MiB test/edge-ns-overload.test.ts saw
 * 73 MB live after a mark-compact (of 80); with 16 MiB the 50-forwarder bench ran out of heap
 * once main's session-8 merges had raised the base; with 10 MiB it peaked at 61 MB live. At
 * 10,000 uplinks/s heard by 2 the normal load is ~9 MB by this estimate (a 200 ms window: 4,000
 * receptions, 2.4 MB; a 20 ms batch, 1 MB; ~100 ms of records waiting for the log's fsync, 5 MB):
 * close to the budget — a gateway that really reaches 10,000/s needs a smaller base heap or a
 * larger old space before this may grow (bench/RESULTS.md, "session 8, ns-overload").
 */

/** Heap of one reception waiting in a dedup window or in the inbox journal's group commit. */
export const BYTES_PER_RECEPTION = 600;
/** Heap of one accepted uplink from the batch until its record is durable. */
export const BYTES_PER_UPLINK = 5_000;
/** Read-but-unfinished work allowed; past it the source sheds PUSH_DATA (`overloaded`). */
export const IN_FLIGHT_BUDGET_BYTES = 10 * 1024 * 1024;
/**
 * Frames open in dedup windows at most (dedup.ts `maxOpen`; past it the oldest closes early: a
 * later copy of it counts as `late_copy`). A third of the budget at 2 receptions per frame
 * (2,912; 1.5 times a 200 ms window at 10,000 uplinks/s heard by 2). Holds also where the source does not
 * shed: the inbox journal's replay at start.
 */
export const DEDUP_MAX_OPEN = Math.floor(IN_FLIGHT_BUDGET_BYTES / 3 / (2 * BYTES_PER_RECEPTION));
/**
 * Uplinks per commit batch at most: past it the batch commits at once (like `hurry()`: the same
 * invariants S1/S2/S6, only the moment moves). A sixth of the budget (349; 1.7 times a 20 ms
 * batch at 10,000 uplinks/s), so a dedup sweep of an event loop that fell behind hands its
 * frames to several batches, not thousands to one.
 */
export const MAX_BATCH_UPLINKS = Math.floor(IN_FLIGHT_BUDGET_BYTES / 6 / BYTES_PER_UPLINK);

/** The estimate the source compares with IN_FLIGHT_BUDGET_BYTES. */
export function inFlightBytes(receptions: number, uplinks: number): number {
  return receptions * BYTES_PER_RECEPTION + uplinks * BYTES_PER_UPLINK;
}
