/**
 * S6 of session-store.ts: the durable-log id each S6 row of a batch names, kept true to where
 * the record really is — also when the log is full (`buffer.when_full: block`, or a disk-full
 * stall) and places the batch late, in part, or never.
 *
 * The batch's transaction commits each row with the id its record gets if the log places the
 * whole batch at once (`base + index`, base = the log's next id; the append follows in the same
 * synchronous run). Then:
 * - right after the append (`settle`, same run, before the log's flush can start): a record the
 *   log refused as unstorable gets REFUSED (below every next id: "stored", a replay would be
 *   refused again anyway); a placed record its real id (the refused ones shift the later ones
 *   down); a record the log could not place — it waits for space, behind earlier waiters —
 *   gets NOT_PLACED (at or above every next id: a replay stores it, `restored`).
 * - when a waiting record is placed later (`onPlaced`, called by the log before the flush that
 *   writes it can start) its row gets the real id, committed before its bytes can reach disk.
 * - a batch the log refuses as a whole (LOG_FULL after `block_timeout_ms`) keeps NOT_PLACED for
 *   what was never placed: a later record that takes those ids cannot make a replay skip it.
 * So after a `kill -9` a row below the log's next id at start names a durable record of this
 * frame (or, REFUSED, one the log cannot store), and any other row a record that is not on disk.
 * What remains: a correction that fails (SQLite error; logged) leaves the row it meant to fix
 * as it was — NOT_PLACED errs towards storing a frame twice, never towards losing it; and an
 * append that itself fills `flush_bytes` starts its flush before `settle` runs, so a kill in
 * that instant can mis-tell a record placed after an unstorable one (as before this module).
 */
import type { AppliedUplink } from './session-store.ts';

/** The log id of a row whose record the log has not placed (yet): a replay stores the frame. */
export const NOT_PLACED = Number.MAX_SAFE_INTEGER;
/** The log id of a row whose record the log refused as unstorable: a replay skips the frame. */
export const REFUSED = -1;

const ALL_PLACED = new Int32Array(0);
const NOTHING: AppliedRows = { base: 0, indices: [], rows: [], pruneThrough: 0 };

export interface AppliedRows {
  /** the log's next id when the rows were predicted */
  base: number;
  /** batch record index of each row */
  indices: number[];
  rows: AppliedUplink[];
  /** the inbox journal's persisted cursor: rows up to it are pruned */
  pruneThrough: number;
}

export class BatchLogIds {
  /** placements seen before `settle`: [first, firstId, count] per run, stored-record indices */
  private readonly early: number[] = [];
  /** per row, its record's index among the stored ones (-1: refused); set by `settle` */
  private kept: Int32Array | undefined;

  constructor(
    /** released once nothing is left to correct: the log keeps this object until the batch's fsync */
    private applied: AppliedRows,
    private readonly records: number,
    private readonly write: (rows: AppliedUplink[]) => void,
  ) {}

  /** The log's OnPlaced (../buffer/log.ts): `count` stored records from `first` got `firstId`…. */
  readonly onPlaced = (first: number, firstId: number, count: number): void => {
    const kept = this.kept;
    if (!kept) {
      this.early.push(first, firstId, count);
      return;
    }
    // Placed after waiting for space: the rows get the real ids before the flush can write them.
    const fixed: AppliedUplink[] = [];
    for (let k = 0; k < kept.length; k++) {
      const i = kept[k] as number;
      if (i >= first && i < first + count) fixed.push({ ...(this.applied.rows[k] as AppliedUplink), logId: firstId + i - first });
    }
    if (fixed.length) this.write(fixed);
  };

  /** Right after the append, in its synchronous run, with the batch indices the log refused. */
  settle(refused: readonly number[]): void {
    const { rows, indices, base } = this.applied;
    // The usual case: nothing refused, everything placed at once where predicted — nothing to
    // correct and nothing left to place (no per-row work on the hot path).
    if (refused.length === 0 && this.early.length === 3 && this.early[0] === 0 && this.early[1] === base && this.early[2] === this.records) {
      this.kept = ALL_PLACED;
      this.applied = NOTHING;
      return;
    }
    this.kept = new Int32Array(rows.length);
    const fixed: AppliedUplink[] = [];
    for (let k = 0; k < rows.length; k++) {
      const index = indices[k] as number;
      let below = 0;
      let isRefused = false;
      for (const x of refused) {
        if (x < index) below++;
        else if (x === index) isRefused = true;
      }
      const i = isRefused ? -1 : index - below;
      this.kept[k] = i;
      const logId = isRefused ? REFUSED : (this.placedId(i) ?? NOT_PLACED);
      const row = rows[k] as AppliedUplink;
      if (logId !== row.logId) fixed.push({ ...row, logId });
    }
    if (fixed.length) this.write(fixed);
  }

  private placedId(i: number): number | undefined {
    const e = this.early;
    for (let r = 0; r < e.length; r += 3) {
      const first = e[r] as number;
      if (i >= first && i < first + (e[r + 2] as number)) return (e[r + 1] as number) + i - first;
    }
    return undefined;
  }
}
