/**
 * Which devices have something to prune, kept in the store writer's memory: per device an upper
 * bound on its stored frames and the time of its oldest reading. Pruning visits only the devices
 * with frames beyond the newest N or readings older than the history window, instead of every
 * device (10,000 devices with nothing to delete took 1.3 s in 20 steps, bench/RESULTS.md #13).
 *
 * The figures may over-state (a visit then deletes nothing) but never under-state, so nothing
 * that should go is missed: they are raised after each committed batch and lowered only after a
 * pruning step has committed. Rebuilt from the file when the writer opens: frames counted along
 * the (dev_eui, log_id) index, the oldest reading by one seek of the (dev_eui, time) index per
 * device.
 */
import type { Database as Db } from 'better-sqlite3';

export class PruneIndex {
  private readonly frames = new Map<string, number>();
  private readonly oldest = new Map<string, number>();

  load(db: Db): void {
    this.frames.clear();
    this.oldest.clear();
    for (const r of db.prepare('SELECT dev_eui, COUNT(*) AS n FROM frames GROUP BY dev_eui').all() as { dev_eui: string; n: number }[]) this.frames.set(r.dev_eui, r.n);
    const min = db.prepare('SELECT MIN(time) AS t FROM readings WHERE dev_eui = ?').pluck();
    for (const dev of db.prepare('SELECT dev_eui FROM devices UNION SELECT dev_eui FROM device_state').pluck().all() as string[]) {
      const t = min.get(dev) as number | null;
      if (t !== null) this.oldest.set(dev, t);
    }
  }

  /** After a batch committed: frames written and the oldest reading time written, per device. */
  added(frames: ReadonlyMap<string, number>, oldest: ReadonlyMap<string, number>): void {
    for (const [dev, n] of frames) this.frames.set(dev, (this.frames.get(dev) ?? 0) + n);
    for (const [dev, t] of oldest) {
      const was = this.oldest.get(dev);
      if (was === undefined || t < was) this.oldest.set(dev, t);
    }
  }

  hasOldReadings(dev: string, before: number): boolean {
    const t = this.oldest.get(dev);
    return t !== undefined && t < before;
  }

  hasExtraFrames(dev: string, keep: number): boolean {
    return (this.frames.get(dev) ?? 0) > keep;
  }

  /** Devices from `from` on (by DevEUI) with something to prune, at most `limit`, in order. */
  candidates(before: number, keep: number, from: string, limit: number): string[] {
    const out: string[] = [];
    for (const [dev, n] of this.frames) if (n > keep && dev >= from) out.push(dev);
    for (const [dev, t] of this.oldest) if (t < before && dev >= from && !((this.frames.get(dev) ?? 0) > keep)) out.push(dev);
    out.sort();
    return out.length > limit ? out.slice(0, limit) : out;
  }

  /** After a pruning step committed: what is left of a device it finished with. */
  pruned(dev: string, keep: number, oldest: number | null): void {
    const n = this.frames.get(dev);
    if (n !== undefined && n > keep) this.frames.set(dev, keep);
    if (oldest === null) this.oldest.delete(dev);
    else this.oldest.set(dev, oldest);
  }
}
