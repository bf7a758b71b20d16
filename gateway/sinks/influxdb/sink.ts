// The InfluxDB sink: points in, line protocol out over HTTP, with batching, bounded concurrency,
// retries, splitting, dead-lettering and a loud stop on configuration errors.
//
// Contract with the caller (the pipeline reading the durable log):
// - `write(points)` resolves with a WriteOutcome once EVERY point of that call is settled:
//   written by InfluxDB, or dead-lettered (rejected by the server, or not encodable). Only then
//   may the caller ack those records. Transient failures never settle anything: the lines are
//   retried (exponential backoff, full jitter, Retry-After) for as long as the sink runs.
// - On 401/403/404 (and other configuration errors) the sink goes to state `stopped`: it emits
//   an 'error' event (or logs one when nobody listens), keeps every line pending and retries
//   only every `stopped_retry_interval_ms` or on `resume()`. Nothing is dropped.
// - `stop()` drains for up to `drain_timeout_ms`; what is still pending then is given up: those
//   write() promises reject with SinkClosedError and their records stay unacked in the log.
// - Writes are idempotent (each point has its own ms timestamp), which is what makes retrying
//   after an ambiguous failure, re-sending halves after a 413 and narrowing down a partial write
//   safe: a line written twice overwrites itself.
// - Concurrency: at most `max_in_flight` batches are being delivered at once (a batch in backoff
//   keeps its slot, so an outage does not fan out). Batches may complete out of order.
// - Credentials (password, token) never appear in errors, logs, stats or dead-letter records.
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxNetworkError, InfluxWriteClient, type Credentials, type PreparedBody, type WriteResponse } from './client.ts';
import { describeTarget, resolveInfluxSinkConfig, type InfluxSinkConfig, type InfluxSinkConfigInput } from './config.ts';
import { DeadLetterFile, type DeadLetterRecord } from './dead-letter.ts';
import { encodePoints, type LineBatch, type Point, type RejectedPoint, type SkippedField } from './line-protocol.ts';
import { analyzeRejection, classifyResponse, conflictSuspects } from './responses.ts';

export type SinkState = 'created' | 'running' | 'stopped' | 'closing' | 'closed';

export interface WriteOutcome {
  /** Points given to write() (or lines given to writeLines()). */
  points: number;
  /** Lines sent to InfluxDB (points that could be encoded). */
  lines: number;
  /** Lines InfluxDB confirmed. */
  written: number;
  /** Lines InfluxDB refused for good (in the dead-letter file). */
  deadLettered: number;
  /** Points that could not be encoded (also in the dead-letter file). */
  rejectedPoints: RejectedPoint[];
  /** Fields left out of otherwise written points (NaN, Infinity, out-of-range integers). */
  skippedFields: number;
}

export interface InfluxSinkStats {
  state: SinkState;
  /** Why the sink is stopped (no credentials in it); null while it runs. */
  stoppedReason: string | null;
  /** URL and database/bucket, without credentials. */
  target: string;
  queuedLines: number;
  queuedBytes: number;
  inFlightBatches: number;
  inFlightLines: number;
  acceptedPoints: number;
  rejectedPoints: number;
  skippedFields: number;
  alteredNames: number;
  writtenLines: number;
  deadLetteredLines: number;
  deadLetterWriteErrors: number;
  requests: number;
  retries: number;
  /** Backoff waits cut short because another write succeeded (the server was back). */
  recoveryWakeups: number;
  networkErrors: number;
  /** Responses by HTTP status. */
  responses: Record<string, number>;
  splits: number;
  partialWrites: number;
  bytesSent: number;
  uncompressedBytesSent: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
}

export interface SinkLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** Default: warnings and errors as JSON lines on stderr. */
export const stderrLogger: SinkLogger = {
  info: () => undefined,
  warn: (message, data) => process.stderr.write(`${JSON.stringify({ level: 'warn', component: 'influxdb-sink', message, ...data })}\n`),
  error: (message, data) => process.stderr.write(`${JSON.stringify({ level: 'error', component: 'influxdb-sink', message, ...data })}\n`),
};

export interface InfluxSinkOptions {
  logger?: SinkLogger;
  /** Source of randomness for backoff jitter (tests). */
  random?: () => number;
}

/** write() promises of lines given up at stop(): the caller must not ack those records. */
export class SinkClosedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SinkClosedError';
  }
}

/** Emitted with 'error' when the sink stops on a configuration/credential problem. */
export class InfluxSinkStoppedError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined) {
    super(message);
    this.name = 'InfluxSinkStoppedError';
    this.status = status;
  }
}

interface Ticket {
  pending: number;
  outcome: WriteOutcome;
  enqueuedAt: number;
  done: boolean;
  resolve: (o: WriteOutcome) => void;
  reject: (e: Error) => void;
}

interface Entry {
  /** The line; '' when it is in `chunk`. */
  line: string;
  /** UTF-8 size, counting the LF that follows the line. */
  bytes: number;
  ticket: Ticket;
  /** A `LineBatch` buffer holding the line at `start` (followed by its LF), if not `line`. */
  chunk: Buffer | undefined;
  start: number;
}

function lineOf(e: Entry): string {
  return e.chunk === undefined ? e.line : e.chunk.toString('utf8', e.start, e.start + e.bytes - 1);
}

/**
 * A batch's lines joined by LF, written straight into one buffer: every entry knows its UTF-8
 * size (counting its LF), so the joined string — a second copy of the batch — is never built.
 */
function joinEntries(part: readonly Entry[]): Buffer {
  let size = -1; // the last line has no LF
  for (const e of part) size += e.bytes;
  const body = Buffer.allocUnsafe(size);
  let offset = 0;
  let i = 0;
  while (i < part.length) {
    if (i > 0) body[offset++] = 0x0a;
    const e = part[i] as Entry;
    i++;
    if (e.chunk === undefined) {
      offset += body.write(e.line, offset, 'utf8');
      continue;
    }
    // Lines that follow each other in one LineBatch buffer are copied at once, LFs included.
    let end = e.start + e.bytes;
    for (let n = part[i]; n !== undefined && n.chunk === e.chunk && n.start === end; n = part[++i]) end += n.bytes;
    offset += e.chunk.copy(body, offset, e.start, end - 1);
  }
  return body;
}

class Aborted extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortError';
  }
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || err instanceof Aborted);
}

export class InfluxSink extends EventEmitter {
  readonly config: InfluxSinkConfig;
  private readonly client: InfluxWriteClient;
  private readonly logger: SinkLogger;
  private readonly random: () => number;
  private readonly deadLetters: DeadLetterFile | undefined;
  private lifecycle: SinkState = 'created';
  private stoppedReason: string | null = null;

  // Queue of lines not yet in a batch: an array with a moving head.
  private queue: Entry[] = [];
  private head = 0;
  private queuedBytes = 0;
  private inFlightBatches = 0;
  private inFlightLines = 0;
  private forceFlush = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly deliveries = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private resumeWaiters: Array<() => void> = [];
  private changeWaiters: Array<() => void> = [];
  /** Batches sleeping in backoff that a successful write may wake early. */
  private readonly recoveryWaiters = new Set<() => void>();
  private roomWaiters: Array<{ size: number; run: () => void; fail: (e: Error) => void }> = [];
  private closing: Promise<void> | undefined;

  private readonly counters = {
    acceptedPoints: 0,
    rejectedPoints: 0,
    skippedFields: 0,
    alteredNames: 0,
    writtenLines: 0,
    deadLetteredLines: 0,
    deadLetterWriteErrors: 0,
    requests: 0,
    retries: 0,
    recoveryWakeups: 0,
    networkErrors: 0,
    splits: 0,
    partialWrites: 0,
    bytesSent: 0,
    uncompressedBytesSent: 0,
  };
  private readonly responses: Record<string, number> = {};
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private lastSuccessAt: number | null = null;

  constructor(config: InfluxSinkConfigInput, options: InfluxSinkOptions = {}) {
    super();
    this.config = resolveInfluxSinkConfig(config);
    this.client = new InfluxWriteClient(this.config);
    this.logger = options.logger ?? stderrLogger;
    this.random = options.random ?? Math.random;
    this.deadLetters = this.config.dead_letter_file ? new DeadLetterFile(this.config.dead_letter_file) : undefined;
  }

  get state(): SinkState {
    return this.lifecycle;
  }

  async start(): Promise<void> {
    if (this.lifecycle !== 'created') throw new Error(`InfluxDB sink cannot start from state ${this.lifecycle}`);
    await this.deadLetters?.open();
    this.lifecycle = 'running';
    this.log('info', 'InfluxDB sink started', { target: describeTarget(this.config) });
    this.emit('state', this.lifecycle);
  }

  /**
   * Encode and queue points; resolves when all of them are written or dead-lettered.
   * Points are queued synchronously when there is room (so a write() issued before stop() is
   * drained); otherwise the call waits, first come first served, until `max_buffered_lines`
   * allows it.
   */
  write(points: readonly Point[]): Promise<WriteOutcome> {
    return this.admit(points.length, () => this.acceptPoints(points));
  }

  /** Queue ready-made line protocol lines (e.g. stored in the durable log). */
  writeLines(lines: readonly string[]): Promise<WriteOutcome> {
    return this.admit(lines.length, () => this.acceptLines(lines));
  }

  private admit(size: number, accept: () => Promise<WriteOutcome>): Promise<WriteOutcome> {
    try {
      this.assertAccepting();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (this.roomWaiters.length === 0 && this.hasRoom(size)) return accept();
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.roomWaiters.push({ size, run: () => accept().then(resolve, reject), fail: reject });
    });
  }

  private hasRoom(size: number): boolean {
    const buffered = this.bufferedLines();
    return buffered === 0 || buffered + size <= this.config.max_buffered_lines;
  }

  /** Let waiting write() calls in, in order, while they fit. */
  private admitWaiters(): void {
    for (;;) {
      const next = this.roomWaiters[0];
      if (next === undefined || !this.hasRoom(next.size)) return;
      this.roomWaiters.shift();
      next.run();
    }
  }

  /**
   * Queue lines encoded by line-protocol.ts's own builders (`LineBatch`): they are trusted as
   * they are (one line each, no LF, no comment), unlike `writeLines`, which splits and checks.
   * Resolves like `write()`; the batch's rejected points go to the dead-letter file.
   */
  writeBatch(batch: LineBatch): Promise<WriteOutcome> {
    return this.admit(batch.ends.length, () => {
      const c = batch.counters;
      return this.acceptEncoded(batch.points, batch, batch.rejected, c.skippedFields, c.skippedDetails, c.altered, (r) => (r as LineBatch['rejected'][number]).point);
    });
  }

  private acceptPoints(points: readonly Point[]): Promise<WriteOutcome> {
    const enc = encodePoints(points);
    return this.acceptEncoded(points.length, enc.lines, enc.rejected, enc.skippedFields, enc.skippedDetails, enc.altered, (r) => points[r.index]);
  }

  private acceptEncoded(
    points: number,
    lines: readonly string[] | LineBatch,
    rejected: RejectedPoint[],
    skippedFields: number,
    skippedDetails: readonly SkippedField[],
    altered: number,
    pointOf: (r: RejectedPoint) => Point | undefined,
  ): Promise<WriteOutcome> {
    const count = Array.isArray(lines) ? lines.length : (lines as LineBatch).ends.length;
    this.counters.acceptedPoints += count;
    this.counters.rejectedPoints += rejected.length;
    this.counters.skippedFields += skippedFields;
    this.counters.alteredNames += altered;
    if (skippedFields > 0) {
      this.log('warn', `left out ${skippedFields} field(s) InfluxDB cannot store`, { examples: skippedDetails.slice(0, 3) });
    }
    const outcome: WriteOutcome = {
      points,
      lines: count,
      written: 0,
      deadLettered: 0,
      rejectedPoints: rejected,
      skippedFields,
    };
    const queued = Array.isArray(lines) ? this.enqueue(lines as readonly string[], outcome) : this.enqueueBatch(lines as LineBatch, outcome);
    if (rejected.length === 0) return queued;
    this.log('warn', `${rejected.length} point(s) cannot be written as line protocol`, { examples: rejected.slice(0, 3).map((r) => ({ index: r.index, reason: r.reason })) });
    const recorded = this.writeDeadLetters(rejected.map((r) => ({ point: pointOf(r), reason: r.reason })));
    return Promise.all([queued, recorded]).then(([o]) => o);
  }

  private acceptLines(lines: readonly string[]): Promise<WriteOutcome> {
    const clean: string[] = [];
    for (const l of lines) {
      for (const part of l.split('\n')) {
        const t = part.endsWith('\r') ? part.slice(0, -1) : part;
        if (t !== '' && !t.startsWith('#')) clean.push(t);
      }
    }
    this.counters.acceptedPoints += clean.length;
    return this.enqueue(clean, {
      points: lines.length,
      lines: clean.length,
      written: 0,
      deadLettered: 0,
      rejectedPoints: [],
      skippedFields: 0,
    });
  }

  /** Send everything queued now (ignoring the flush interval) and wait until the sink is idle. */
  async flush(): Promise<void> {
    this.forceFlush = true;
    this.pump();
    while (this.bufferedLines() > 0) await this.nextChange();
  }

  /**
   * Leave the stopped state and retry now, optionally with corrected credentials.
   * (A retry that fails the same way stops the sink again.)
   */
  resume(credentials?: Credentials): void {
    if (credentials) this.client.setCredentials(credentials);
    this.stoppedReason = null;
    if (this.lifecycle === 'stopped') {
      this.lifecycle = 'running';
      this.log('info', 'InfluxDB sink resumed');
      this.emit('state', this.lifecycle);
    }
    this.wakeResumeWaiters();
  }

  /** Drain (bounded by drain_timeout_ms), then give up on what is left and release resources. */
  stop(opts: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.doStop(opts.timeoutMs ?? this.config.drain_timeout_ms);
    return this.closing;
  }

  stats(): InfluxSinkStats {
    return {
      state: this.lifecycle,
      stoppedReason: this.stoppedReason,
      target: describeTarget(this.config),
      queuedLines: this.queue.length - this.head,
      queuedBytes: this.queuedBytes,
      inFlightBatches: this.inFlightBatches,
      inFlightLines: this.inFlightLines,
      ...this.counters,
      responses: { ...this.responses },
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lastSuccessAt: this.lastSuccessAt,
    };
  }

  // --- queueing and batching -------------------------------------------------------------

  private assertAccepting(): void {
    if (this.lifecycle === 'created') throw new Error('InfluxDB sink: write() before start()');
    if (this.lifecycle === 'closing' || this.lifecycle === 'closed') throw new SinkClosedError('InfluxDB sink is stopping; write refused');
  }

  private bufferedLines(): number {
    return this.queue.length - this.head + this.inFlightLines;
  }

  private enqueue(lines: readonly string[], outcome: WriteOutcome): Promise<WriteOutcome> {
    if (lines.length === 0) return Promise.resolve(outcome);
    return new Promise<WriteOutcome>((resolve, reject) => {
      const ticket: Ticket = { pending: lines.length, outcome, enqueuedAt: Date.now(), done: false, resolve, reject };
      for (const line of lines) {
        const bytes = Buffer.byteLength(line, 'utf8') + 1;
        this.queue.push({ line, bytes, ticket, chunk: undefined, start: 0 });
        this.queuedBytes += bytes;
      }
      this.pump();
    });
  }

  private enqueueBatch(batch: LineBatch, outcome: WriteOutcome): Promise<WriteOutcome> {
    const { buf, ends } = batch;
    if (ends.length === 0) return Promise.resolve(outcome);
    return new Promise<WriteOutcome>((resolve, reject) => {
      const ticket: Ticket = { pending: ends.length, outcome, enqueuedAt: Date.now(), done: false, resolve, reject };
      let start = 0;
      for (const end of ends) {
        const bytes = end + 1 - start;
        this.queue.push({ line: '', bytes, ticket, chunk: buf, start });
        this.queuedBytes += bytes;
        start = end + 1;
      }
      this.pump();
    });
  }

  private pump(): void {
    const cfg = this.config;
    while (this.inFlightBatches < cfg.max_in_flight && this.head < this.queue.length) {
      const queued = this.queue.length - this.head;
      const full = queued >= cfg.batch_lines || this.queuedBytes >= cfg.batch_bytes;
      const first = this.queue[this.head];
      const age = first ? Date.now() - first.ticket.enqueuedAt : 0;
      const due = this.forceFlush || this.lifecycle === 'closing' || age >= cfg.flush_interval_ms;
      if (!full && !due) {
        this.armFlushTimer(cfg.flush_interval_ms - age);
        return;
      }
      this.startDelivery(this.cutBatch());
    }
    if (this.head >= this.queue.length) this.forceFlush = false;
  }

  private armFlushTimer(ms: number): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(
      () => {
        this.flushTimer = undefined;
        this.pump();
      },
      Math.max(1, ms),
    );
  }

  private cutBatch(): Entry[] {
    const cfg = this.config;
    const batch: Entry[] = [];
    let bytes = 0;
    while (this.head < this.queue.length && batch.length < cfg.batch_lines) {
      const e = this.queue[this.head] as Entry;
      if (batch.length > 0 && bytes + e.bytes > cfg.batch_bytes) break;
      batch.push(e);
      bytes += e.bytes;
      this.head++;
    }
    this.queuedBytes -= bytes;
    // Compact the consumed prefix now and then.
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 65_536 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private startDelivery(batch: Entry[]): void {
    this.inFlightBatches++;
    this.inFlightLines += batch.length;
    const p = this.deliver(batch).finally(() => {
      this.inFlightBatches--;
      this.inFlightLines -= batch.length;
      this.deliveries.delete(p);
      this.notifyChange();
      this.pump();
      this.admitWaiters();
    });
    this.deliveries.add(p);
  }

  // --- delivery ---------------------------------------------------------------------------

  /** Deliver one batch; sub-parts (413 halves, narrowed-down rejections) go through `work`. */
  private async deliver(batch: Entry[]): Promise<void> {
    const work: Entry[][] = [batch];
    while (work.length > 0) {
      const part = work.pop() as Entry[];
      try {
        await this.sendPart(part, work);
      } catch (err) {
        const rest = [part, ...work].flat();
        work.length = 0;
        if (isAbort(err)) {
          this.failEntries(rest, new SinkClosedError(`InfluxDB sink stopped before ${rest.length} line(s) were written; they were not acknowledged`));
        } else {
          const message = this.client.redact(err instanceof Error ? err.message : String(err));
          this.log('error', `InfluxDB sink internal error: ${message}`);
          this.failEntries(rest, new Error(`InfluxDB sink internal error: ${message}`));
        }
      }
    }
  }

  /** Send `part` until it is settled; may push sub-parts onto `work` (processed LIFO). */
  private async sendPart(part: Entry[], work: Entry[][]): Promise<void> {
    let body: PreparedBody | undefined;
    let attempt = 0;
    for (;;) {
      this.throwIfAborted();
      // Refusing (stopped on a configuration error, also while closing): wait for resume/probe.
      if (this.stoppedReason !== null) await this.waitForResume();
      this.throwIfAborted();
      body ??= await this.client.prepareJoined(joinEntries(part), part.length);
      let res: WriteResponse;
      this.counters.requests++;
      if (attempt > 0) this.counters.retries++;
      try {
        res = await this.client.send(body, this.abort.signal);
      } catch (err) {
        if (isAbort(err)) throw err;
        this.counters.networkErrors++;
        const message = err instanceof InfluxNetworkError ? err.message : this.client.redact(String(err));
        this.noteError(`InfluxDB unreachable: ${message}`);
        attempt++;
        await this.backoff(attempt, undefined);
        continue;
      }
      this.responses[String(res.status)] = (this.responses[String(res.status)] ?? 0) + 1;
      const verdict = classifyResponse(res, this.config.version);
      switch (verdict.kind) {
        case 'written':
          this.counters.bytesSent += body.data.length;
          this.counters.uncompressedBytesSent += body.rawBytes;
          this.markWritten(part);
          this.noteSuccess();
          return;
        case 'split': {
          this.counters.splits++;
          if (part.length === 1) {
            await this.deadLetter(part, res.status, `line larger than the server accepts (413): ${res.body.slice(0, 200)}`);
            return;
          }
          const mid = Math.ceil(part.length / 2);
          this.log('warn', `InfluxDB answered 413 to ${part.length} lines (${body.data.length} bytes); splitting in halves`);
          work.push(part.slice(mid), part.slice(0, mid));
          return;
        }
        case 'rejected':
          await this.handleRejection(part, res, work);
          return;
        case 'fatal':
          this.enterStopped(verdict.reason, res.status);
          attempt = 0;
          continue;
        case 'retry':
          this.noteError(`InfluxDB answered ${res.status}; retrying`);
          attempt++;
          await this.backoff(attempt, verdict.honourRetryAfter ? res.retryAfterMs : undefined);
          continue;
      }
    }
  }

  /**
   * A 400/422 about particular lines: dead-letter the lines the server named, keep what it wrote,
   * and narrow down rejections it did not attribute by re-sending smaller pieces.
   */
  private async handleRejection(part: Entry[], res: WriteResponse, work: Entry[][]): Promise<void> {
    this.counters.partialWrites++;
    const a = analyzeRejection(part.map(lineOf), res);
    const known: Entry[] = [];
    const reasons: string[] = [];
    const rest: Entry[] = [];
    part.forEach((e, i) => {
      const reason = a.rejected.get(i);
      if (reason !== undefined) {
        known.push(e);
        reasons.push(reason);
      } else rest.push(e);
    });
    if (known.length > 0) await this.deadLetterEach(known, reasons, res.status);
    if (rest.length === 0) return;

    if (!a.unexplained) {
      if (a.restWritten) this.markWritten(rest);
      else work.push(rest); // the server refused the whole request: send the good lines again
      return;
    }
    // Every remaining line was dropped by the engine (1.x counts those in dropped=N).
    if (a.dropped !== undefined && a.dropped === rest.length) {
      await this.deadLetter(rest, res.status, a.lineReason);
      return;
    }
    if (rest.length === 1) {
      await this.deadLetter(rest, res.status, a.lineReason);
      return;
    }
    // The server named a field type conflict: send the lines carrying it apart from the others.
    if (a.conflict) {
      const suspectIdx = new Set(conflictSuspects(rest.map(lineOf), a.conflict));
      if (suspectIdx.size > 0 && suspectIdx.size < rest.length) {
        const suspects = rest.filter((_, i) => suspectIdx.has(i));
        const others = rest.filter((_, i) => !suspectIdx.has(i));
        work.push(suspects, others);
        return;
      }
    }
    const mid = Math.ceil(rest.length / 2);
    work.push(rest.slice(mid), rest.slice(0, mid));
  }

  private throwIfAborted(): void {
    if (this.abort.signal.aborted) throw new Aborted();
  }

  /**
   * Waits before the next attempt: exponential backoff with full jitter, at least Retry-After
   * when the server sent one. Without a Retry-After, a write that succeeds meanwhile (the server
   * is back) ends the wait at once: after an outage every batch in backoff resumes with the
   * first success instead of sleeping out its own delay (up to retry_max_backoff_ms each), which
   * held the cursor and the drain back.
   */
  private async backoff(attempt: number, retryAfterMs: number | undefined): Promise<void> {
    const cfg = this.config;
    const cap = Math.min(cfg.retry_max_backoff_ms, cfg.retry_min_backoff_ms * 2 ** Math.min(attempt - 1, 40));
    let delay = this.random() * cap; // full jitter
    if (retryAfterMs !== undefined) {
      delay = Math.max(delay, Math.min(retryAfterMs, cfg.retry_after_max_ms));
      await sleep(Math.max(1, Math.round(delay)), undefined, { signal: this.abort.signal });
      return;
    }
    const recovered = new AbortController();
    const wake = (): void => recovered.abort();
    this.recoveryWaiters.add(wake);
    try {
      await sleep(Math.max(1, Math.round(delay)), undefined, { signal: AbortSignal.any([this.abort.signal, recovered.signal]) });
    } catch (err) {
      if (this.abort.signal.aborted || !recovered.signal.aborted) throw err;
      this.counters.recoveryWakeups++;
    } finally {
      this.recoveryWaiters.delete(wake);
    }
  }

  private enterStopped(reason: string, status: number | undefined): void {
    const safe = this.client.redact(reason);
    this.noteError(safe);
    if (this.stoppedReason === safe) return;
    const wasClosing = this.lifecycle === 'closing';
    this.stoppedReason = safe;
    if (!wasClosing) this.lifecycle = 'stopped';
    const message = `${safe} — InfluxDB sink stopped; data is kept and retried ${
      this.config.stopped_retry_interval_ms > 0 ? `every ${this.config.stopped_retry_interval_ms} ms or ` : ''
    }on resume()`;
    this.log('error', message, { target: describeTarget(this.config), status });
    this.emit('state', this.lifecycle, safe);
    if (this.listenerCount('error') > 0) this.emit('error', new InfluxSinkStoppedError(message, status));
  }

  private async waitForResume(): Promise<void> {
    const interval = this.config.stopped_retry_interval_ms;
    await new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onAbort);
        const i = this.resumeWaiters.indexOf(done);
        if (i >= 0) this.resumeWaiters.splice(i, 1);
        resolve();
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new Aborted());
      };
      if (this.abort.signal.aborted) {
        reject(new Aborted());
        return;
      }
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      this.resumeWaiters.push(done);
      if (interval > 0) timer = setTimeout(done, interval);
    });
  }

  private wakeResumeWaiters(): void {
    const w = this.resumeWaiters;
    this.resumeWaiters = [];
    for (const f of w) f();
  }

  private noteSuccess(): void {
    this.lastSuccessAt = Date.now();
    if (this.recoveryWaiters.size > 0) for (const wake of [...this.recoveryWaiters]) wake();
    if (this.stoppedReason === null) return;
    this.stoppedReason = null;
    if (this.lifecycle === 'stopped') this.lifecycle = 'running';
    this.log('info', 'InfluxDB accepts writes again; sink running');
    this.emit('state', this.lifecycle);
    this.wakeResumeWaiters();
  }

  private noteError(message: string): void {
    this.lastError = this.client.redact(message);
    this.lastErrorAt = Date.now();
  }

  // --- settling ----------------------------------------------------------------------------

  private markWritten(entries: readonly Entry[]): void {
    this.counters.writtenLines += entries.length;
    for (const e of entries) {
      e.ticket.outcome.written++;
      this.settle(e.ticket);
    }
  }

  private async deadLetter(entries: readonly Entry[], status: number, reason: string): Promise<void> {
    await this.deadLetterEach(entries, entries.map(() => reason), status);
  }

  private async deadLetterEach(entries: readonly Entry[], reasons: readonly string[], status: number): Promise<void> {
    const safeReasons = reasons.map((r) => this.client.redact(r));
    this.log('warn', `InfluxDB rejected ${entries.length} line(s) for good (${status}); dead-lettered`, {
      reason: safeReasons[0],
      deadLetterFile: this.config.dead_letter_file ?? null,
    });
    await this.writeDeadLetters(entries.map((e, i) => ({ line: lineOf(e), reason: safeReasons[i] ?? '', status })));
    this.counters.deadLetteredLines += entries.length;
    this.emit('deadLetter', { lines: entries.length, status, reason: safeReasons[0] });
    for (const e of entries) {
      e.ticket.outcome.deadLettered++;
      this.settle(e.ticket);
    }
  }

  private async writeDeadLetters(records: DeadLetterRecord[]): Promise<void> {
    if (!this.deadLetters) return;
    try {
      await this.deadLetters.append(records);
    } catch (err) {
      this.counters.deadLetterWriteErrors++;
      this.log('error', `could not write the dead-letter file: ${err instanceof Error ? err.message : String(err)}`, {
        deadLetterFile: this.deadLetters.path,
        records: records.length,
      });
    }
  }

  private settle(ticket: Ticket): void {
    if (ticket.done) return;
    ticket.pending--;
    if (ticket.pending === 0) {
      ticket.done = true;
      ticket.resolve(ticket.outcome);
    }
  }

  private failEntries(entries: readonly Entry[], err: Error): void {
    for (const e of entries) {
      if (!e.ticket.done) {
        e.ticket.done = true;
        e.ticket.reject(err);
      }
    }
  }

  // --- waiting and stopping -------------------------------------------------------------------

  private nextChange(): Promise<void> {
    return new Promise<void>((resolve) => this.changeWaiters.push(resolve));
  }

  private notifyChange(): void {
    const w = this.changeWaiters;
    this.changeWaiters = [];
    for (const f of w) f();
  }

  private async doStop(timeoutMs: number): Promise<void> {
    if (this.lifecycle === 'created' || this.lifecycle === 'closed') {
      this.lifecycle = 'closed';
      this.client.close();
      return;
    }
    const wasStopped = this.stoppedReason !== null;
    this.lifecycle = 'closing';
    this.emit('state', this.lifecycle);
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const w of waiting) w.fail(new SinkClosedError('InfluxDB sink is stopping; write refused'));
    this.forceFlush = true;
    this.pump();
    if (!wasStopped && timeoutMs > 0) {
      const deadline = Date.now() + timeoutMs;
      while (this.bufferedLines() > 0 && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.nextChange(),
          new Promise<void>((r) => {
            timer = setTimeout(r, Math.max(1, deadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
    }
    const left = this.bufferedLines();
    if (left > 0) {
      this.log('warn', `InfluxDB sink stopping with ${left} line(s) not written; they stay unacknowledged`);
      this.abort.abort();
      const queued = this.queue.slice(this.head);
      this.queue = [];
      this.head = 0;
      this.queuedBytes = 0;
      this.failEntries(queued, new SinkClosedError(`InfluxDB sink stopped before ${left} line(s) were written; they were not acknowledged`));
      await Promise.allSettled([...this.deliveries]);
    }
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    await this.deadLetters?.close();
    this.client.close();
    this.lifecycle = 'closed';
    this.notifyChange();
    this.emit('state', this.lifecycle);
  }

  private log(level: keyof SinkLogger, message: string, data?: Record<string, unknown>): void {
    const safe = this.client.redact(message);
    const safeData = data === undefined ? undefined : (JSON.parse(this.client.redact(JSON.stringify(data))) as Record<string, unknown>);
    this.logger[level](safe, safeData);
  }
}
