/**
 * Where a live update's time goes between the durable log and the pages: the instants one batch
 * of sink `local` passes on its way (read from the log → handed to the store worker → the
 * worker starts and commits its transaction → the answer is back on the main thread → the
 * listeners (SSE) have been called). bench/web joins them with each record's durable instant
 * to give every stage's share of the SSE latency; the gateway itself takes none unless asked
 * (`LocalSinkOptions.onBatchTiming`).
 *
 * Times are ms on one clock for both threads: `performance.now()` counts from each thread's own
 * start, so it is shifted by the thread's `timeOrigin` to the epoch (sub-ms, unlike Date.now()).
 */

/** Now, in ms since the epoch with sub-ms precision, comparable across threads. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The instants of one batch, in epochNow() ms. */
export interface BatchTiming {
  /** log ids of the batch's first and last record */
  firstId: number;
  lastId: number;
  count: number;
  /** the first read of the batch returned records (the sink took them from the log) */
  readAt: number;
  /** the batch was encoded and posted to the worker */
  postedAt: number;
  /** the worker took the batch up (it may have been busy with a pruning step before) */
  workerStartedAt: number;
  /** the worker's transaction committed */
  workerCommittedAt: number;
  /** the worker's answer reached the main thread */
  repliedAt: number;
  /** every listener (each SSE stream's write) was called */
  deliveredAt: number;
}

/** What the worker measures of one apply (in its answer). */
export interface WorkerTiming {
  startedAt: number;
  committedAt: number;
}
