/**
 * Which devices have raw frames to prune, kept in the store writer's memory, so a pruning never
 * walks the device list: per device an upper bound on its stored frames, and the set of devices
 * whose bound is above a threshold. Readings need no such index: they are pruned along the
 * `readings_time` index (schema.ts), oldest first, whatever device they belong to.
 *
 * Before this, every pruning step scanned a map of every device (10,000 for the city fleet) and
 * every device that had reported since the last pruning was visited, because each had frames
 * beyond the newest N again (bench/RESULTS.md, #13). Now a device is visited when it has
 * `keep + slack` frames: with the sink's slack (one more ring of frames) a device reporting every
 * 15 min is visited about once in 12 h, not every hour, and each visit deletes ~N rows in one
 * indexed statement. Frames beyond the newest N are never shown (LocalStore.frames), so the slack
 * changes disk use only.
 *
 * The counts may over-state (a visit then deletes nothing) but never under-state, so nothing
 * that should go is missed: they are raised after each committed batch and lowered only after a
 * pruning step has committed. Rebuilt from the file when the writer opens (one pass over the
 * `(dev_eui, log_id)` index).
 */
import type { Database as Db } from 'better-sqlite3';

export class PruneIndex {
  private readonly frames = new Map<string, number>();
  /** devices with more than `keep` frames: what a complete pruning visits */
  private readonly over = new Set<string>();
  /** devices with more than `keep + slack` frames: what the periodic pruning visits */
  private readonly due = new Set<string>();

  constructor(
    private readonly keep: number,
    private readonly slack: number,
  ) {}

  load(db: Db): void {
    this.frames.clear();
    this.over.clear();
    this.due.clear();
    for (const r of db.prepare('SELECT dev_eui, COUNT(*) AS n FROM frames GROUP BY dev_eui').all() as { dev_eui: string; n: number }[]) this.set(r.dev_eui, r.n);
  }

  private set(dev: string, n: number): void {
    this.frames.set(dev, n);
    if (n > this.keep) this.over.add(dev);
    else this.over.delete(dev);
    if (n > this.keep + this.slack) this.due.add(dev);
    else this.due.delete(dev);
  }

  /** After a batch committed: frames written per device. */
  added(frames: ReadonlyMap<string, number>): void {
    for (const [dev, n] of frames) this.set(dev, (this.frames.get(dev) ?? 0) + n);
  }

  /**
   * Up to `limit` devices to visit: those beyond `keep + slack` frames, or with `complete` every
   * one beyond `keep`. Taken from those sets, never from the whole fleet.
   */
  candidates(complete: boolean, limit: number): string[] {
    const out: string[] = [];
    if (limit <= 0) return out;
    for (const dev of complete ? this.over : this.due) {
      out.push(dev);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** Devices beyond `keep + slack` frames (for tests and the bench). */
  get dueCount(): number {
    return this.due.size;
  }

  /** After a pruning step committed: a device it finished with keeps at most `keep` frames. */
  pruned(dev: string): void {
    const n = this.frames.get(dev);
    if (n !== undefined && n > this.keep) this.set(dev, this.keep);
  }
}
