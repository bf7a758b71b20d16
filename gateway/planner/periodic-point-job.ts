/**
 * What the planner's periodic jobs (`bin_state`, `river_alarm`) share: a timer that runs a
 * computation every `intervalMs` (a slow run is never stacked on itself), and a durable log
 * (the gateway's generic log, one cursor per point writer) into which each run's points are
 * appended. Each writer (an InfluxDB sink's own connection) drains its cursor and commits only
 * after its write succeeded, so an InfluxDB outage keeps the points on disk and loses nothing.
 */
import { DurableLog } from '../buffer/index.ts';
import type { Point } from '../sinks/influxdb/line-protocol.ts';
import type { PointWriter } from '../pipeline/sink-runner.ts';

export interface PeriodicPointJobOptions {
  /** the job's name in error lines (`bin_state`, `river_alarm`) */
  name: string;
  logDir: string;
  writers: { name: string; writer: PointWriter }[];
  intervalMs: number;
  /** One line per failed run or write (the job keeps going). */
  onError?: (what: string, err: unknown) => void;
}

const DRAIN_BATCH = 500;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** A job is a subclass that says what one run computes (`compute`). */
export abstract class PeriodicPointJob {
  private readonly log: DurableLog<Point>;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private drains: Promise<void>[] = [];
  private running: Promise<void> | undefined;
  runs = 0;

  constructor(private readonly jobOpts: PeriodicPointJobOptions) {
    this.log = new DurableLog<Point>({ dir: jobOpts.logDir, sinks: jobOpts.writers.map((w) => w.name), fsync_interval_ms: 200 });
  }

  /**
   * One run: computes and stores what it found, and returns the points to append. `append` is
   * given for a run that must have its points on disk before it commits its own state.
   */
  protected abstract compute(append: (points: Point[]) => Promise<void>): Point[] | Promise<Point[]>;

  async start(): Promise<void> {
    await this.log.open();
    for (const w of this.jobOpts.writers) await w.writer.start();
    for (const w of this.jobOpts.writers) this.drains.push(this.drain(w.name, w.writer));
    this.timer = setInterval(() => void this.tick(), this.jobOpts.intervalMs);
    this.timer.unref();
  }

  private tick(): void {
    if (this.running || this.stopping) return;
    this.running = this.runOnce()
      .then(() => undefined)
      .catch((err: unknown) => this.jobOpts.onError?.(`${this.jobOpts.name} run`, err))
      .finally(() => {
        this.running = undefined;
      });
  }

  private async append(points: Point[]): Promise<void> {
    if (points.length && this.jobOpts.writers.length) await this.log.appendBatch(points);
  }

  /** One run now; returns the points it appended (those the run returned plus those it appended itself). */
  async runOnce(): Promise<number> {
    let early = 0;
    const points = await this.compute(async (p) => {
      early += p.length;
      await this.append(p);
    });
    await this.append(points);
    this.runs++;
    return early + points.length;
  }

  /** One writer's loop: read, write until it succeeds (backoff), then commit. */
  private async drain(name: string, writer: PointWriter): Promise<void> {
    const reader = this.log.reader(name, { batchSize: DRAIN_BATCH });
    let delay = RETRY_MIN_MS;
    while (!this.stopping) {
      const batch = await reader.read(DRAIN_BATCH, 1000);
      const last = batch.at(-1);
      if (!last) continue;
      for (;;) {
        try {
          await writer.write(batch.map((r) => r.value));
          break;
        } catch (err) {
          if (this.stopping) return;
          this.jobOpts.onError?.(`${this.jobOpts.name} write to ${name}`, err);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(RETRY_MAX_MS, delay * 2);
        }
      }
      delay = RETRY_MIN_MS;
      await this.log.commit(name, last.id);
    }
  }

  /** Points appended and not yet committed by a writer. */
  pending(name: string): number {
    return this.log.stats().sinks[name]?.lag ?? 0;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.log.close();
    await Promise.allSettled(this.drains);
    for (const w of this.jobOpts.writers) await w.writer.stop(Date.now() + 5000).catch(() => undefined);
  }
}
