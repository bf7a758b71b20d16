/**
 * The ledger's self-consistency: every (device, timestamp, reading name) has one value across all
 * uplinks. History payloads restate earlier instants; if a restated value differed from the one
 * sent before, the ledger would contradict itself and be no truth to test a pipeline against.
 */
import type { LedgerEntry } from '../ledger.ts';

export interface LedgerConflict {
  devEui: string;
  time: string;
  reading: string;
  first: unknown;
  then: unknown;
  seq: number;
}

/**
 * Collects entries and reports the timed readings that disagree (at most `limit` of them), and
 * how many timed values each catalogue id restated (seen again for an instant already seen), so
 * a test can show the check had history to compare.
 */
export class LedgerConsistency {
  private readonly seen = new Map<string, string>();
  readonly conflicts: LedgerConflict[] = [];
  /** Catalogue id → timed values that restated an earlier uplink's (device, instant, reading). */
  readonly restated = new Map<string, number>();
  count = 0;

  constructor(private readonly limit = 20) {}

  add(e: LedgerEntry): void {
    for (const r of e.readings) {
      if (r.time === undefined) continue; // untimed readings belong to the uplink's own time
      for (const [name, value] of Object.entries(r.values)) {
        const key = `${e.devEui}|${r.time}|${name}`;
        const text = JSON.stringify(value);
        const prev = this.seen.get(key);
        if (prev === undefined) {
          this.seen.set(key, text);
          continue;
        }
        this.restated.set(e.catalogueId, (this.restated.get(e.catalogueId) ?? 0) + 1);
        if (prev !== text) {
          this.count++;
          if (this.conflicts.length < this.limit) this.conflicts.push({ devEui: e.devEui, time: r.time, reading: name, first: JSON.parse(prev), then: value, seq: e.seq });
        }
      }
    }
  }
}
