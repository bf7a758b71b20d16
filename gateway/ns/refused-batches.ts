/**
 * Batches the durable log refused (`when_full: block`, LOG_FULL after `block_timeout_ms`), held
 * to be appended again while the gateway runs, once the log has room — with the inbox journal
 * only. Before, such a batch's frames waited in the journal until the next start: the journal's
 * cursor stopped at them, so a gateway left running for more than `max_replay` (200,000)
 * datagrams after a refusal dropped them at that start as `replay_dropped` — frames whose
 * counters were committed and whose PUSH_DATA (and maybe ACK) had been acknowledged: lost.
 *
 * Invariants (R1–R4; S6 and batch-log-ids.ts are the ground they stand on):
 * R1. What is held is exactly what the log never placed: the batch's records less the ones it
 *     refused as unstorable and less the prefix it placed before it gave up (those are in the
 *     log with their real ids, batch-log-ids.ts). The same holds after a retry that is refused
 *     again (`trim`). So no record reaches the log twice through a retry.
 * R2. A retry is appended like a batch: its S6 rows are first committed with the ids the log is
 *     about to give (`base + index`), then appended in the same synchronous run, then corrected
 *     (`BatchLogIds`) — so a `kill -9` at any point leaves each row naming a durable record of
 *     its frame or one that is not on disk (a restart stores it, `restored`). Until a retry, the
 *     rows say NOT_PLACED (what the refusal left): a restart stores the frames, as before.
 * R3. The batch's journal entries are done only when its retry is durable: the cursor passes
 *     them then, not before (N3 of udp-inbox.ts).
 * R4. Bounded: at most `maxRecords` records held (a record is a few KB of heap); a batch that
 *     would pass it is not held — its frames wait in the journal for the next start, as before
 *     (counted, logged). One retry at a time, oldest first; a refused retry is tried again after
 *     `retryMs` (each try itself waits up to `block_timeout_ms` for space inside the log).
 */
import type { PipelineRecord } from '../pipeline/record.ts';
import type { AppliedUplink } from './session-store.ts';

export interface RefusedBatch {
  /** the records to append again (R1) */
  records: PipelineRecord[];
  /** S6 rows of some of them, `indices[k]` = the index in `records` of `rows[k]`'s record */
  rows: AppliedUplink[];
  indices: number[];
  /** journal entries done once the retry is durable (R3) */
  entries: number[];
}

/**
 * What of a batch the log never placed (R1): `records` less the `unstorable` indices (batch
 * indices) and less the first `placed` stored ones; rows follow their records (`indices` are
 * batch indices; a row whose record is not held goes), `skip` drops rows' records on purpose
 * (a join taken back: its record must not reach the log).
 */
export function unplaced(records: readonly PipelineRecord[], rows: readonly AppliedUplink[], indices: readonly number[], unstorable: readonly number[], placed: number, skip: ReadonlySet<number> = new Set()): Pick<RefusedBatch, 'records' | 'rows' | 'indices'> {
  const refused = new Set(unstorable);
  const newIndex = new Int32Array(records.length).fill(-1);
  const out: PipelineRecord[] = [];
  let stored = 0;
  for (let i = 0; i < records.length; i++) {
    if (refused.has(i)) continue;
    if (stored++ < placed || skip.has(i)) continue;
    newIndex[i] = out.length;
    out.push(records[i] as PipelineRecord);
  }
  const keptRows: AppliedUplink[] = [];
  const keptIndices: number[] = [];
  indices.forEach((i, k) => {
    const n = newIndex[i] ?? -1;
    if (n < 0) return;
    keptRows.push(rows[k] as AppliedUplink);
    keptIndices.push(n);
  });
  return { records: out, rows: keptRows, indices: keptIndices };
}

export interface RetryOutcome {
  /** resolves when the retry's records are durable; rejects when the log refused it again */
  durable: Promise<void>;
  /** stored records placed before a refusal (read after `durable` rejected) */
  placed: () => number;
}

export class RefusedBatches {
  private readonly queue: RefusedBatch[] = [];
  private heldRecords = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly opts: {
      maxRecords: number;
      retryMs: number;
      /** appends `b` again (R2) */
      attempt: (b: RefusedBatch) => RetryOutcome;
      /** `b` is durable: its entries may be done (R3) */
      stored: (b: RefusedBatch) => void;
      /** a retry refused again (it is kept and tried after retryMs) */
      refusedAgain: (b: RefusedBatch, err: Error) => void;
    },
  ) {}

  /** Records held now (the overload budget counts them). */
  get records(): number {
    return this.heldRecords;
  }

  get batches(): number {
    return this.queue.length;
  }

  /** Holds `b` for a retry (R4: false, and nothing held, past the bound). */
  hold(b: RefusedBatch): boolean {
    if (this.closed || this.heldRecords + b.records.length > this.opts.maxRecords) return false;
    this.queue.push(b);
    this.heldRecords += b.records.length;
    this.schedule(this.opts.retryMs);
    return true;
  }

  /** Stops retrying; what is held stays in the journal for the next start (its rows say NOT_PLACED). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.running || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.next();
    }, ms);
    this.timer.unref();
  }

  private next(): void {
    const b = this.queue[0];
    if (!b || this.closed) return;
    this.running = true;
    let outcome: RetryOutcome;
    try {
      outcome = this.opts.attempt(b);
    } catch (err) {
      this.running = false;
      this.opts.refusedAgain(b, err as Error);
      return this.schedule(this.opts.retryMs);
    }
    outcome.durable.then(
      () => {
        this.running = false;
        this.queue.shift();
        this.heldRecords -= b.records.length;
        if (!this.closed) this.opts.stored(b);
        if (this.queue.length) this.schedule(0);
      },
      (err: unknown) => {
        this.running = false;
        // R1: what this try placed is in the log now; only the rest is tried again.
        const placed = outcome.placed();
        if (placed > 0) {
          const rest = unplaced(b.records, b.rows, b.indices, [], placed);
          this.heldRecords -= b.records.length - rest.records.length;
          b.records = rest.records;
          b.rows = rest.rows;
          b.indices = rest.indices;
        }
        this.opts.refusedAgain(b, err as Error);
        this.schedule(this.opts.retryMs);
      },
    );
  }
}
