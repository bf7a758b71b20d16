/**
 * The local store's writer, in a worker thread: sink `local` hands it batches of log records and
 * it applies each batch in one SQLite transaction (prepared statements, device state coalesced
 * per device and batch, see local-store.ts), then answers. The gateway's event loop never runs
 * SQLite's writes: it only copies the batch over and commits the log cursor after the answer,
 * so a record counts once the worker has committed it.
 *
 * A batch that fails is applied again one record at a time; a record that fails alone is
 * skipped and reported back (the sink counts and logs it). A failure of the store itself (disk
 * full, I/O) fails the whole request: the sink retries from its cursor.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { epochNow } from './batch-timing.ts';
import { LocalStore, type StoreEvent } from './local-store.ts';
import { decodeBatch, decodeRecords } from './store-batch.ts';
import type { PruneResult, SkippedRecord, StoreReply, StoreRequest, StoreWorkerData } from './store-worker-protocol.ts';

if (!parentPort) throw new Error('store-worker.ts runs only as a worker thread');
const port: MessagePort = parentPort;
const { store: opts } = workerData as StoreWorkerData;

/** SQLite errors that are about the file, not the record (retry the batch later). */
export function isStoreFailure(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|CORRUPT|NOTADB)/.test(code);
}

function apply(store: LocalStore, batch: ArrayBuffer, wantEvents: boolean): { events: StoreEvent[]; skipped: SkippedRecord[] } {
  try {
    return { events: store.applyStored(decodeRecords(batch), wantEvents), skipped: [] };
  } catch (err) {
    if (isStoreFailure(err)) throw err;
    const events: StoreEvent[] = [];
    const skipped: SkippedRecord[] = [];
    for (const r of decodeBatch(batch)) {
      try {
        events.push(...store.applyStored([r], wantEvents));
      } catch (e) {
        if (isStoreFailure(e)) throw e;
        store.skip(r.logId);
        skipped.push({ logId: r.logId, devEui: 'devEui' in r ? r.devEui : undefined, reason: (e as Error).message });
      }
    }
    return { events, skipped };
  }
}

const yieldToMessages = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Prunes in bounded steps, at most `maxSteps` of them (the sink starts another run soon when
 * this one was cut short); applies that arrive meanwhile run between the steps.
 */
async function prune(store: LocalStore, now: number, maxRows: number, maxSteps: number): Promise<PruneResult> {
  const out: PruneResult = { readings: 0, deleted: 0, devices: 0, steps: 0, longestStepMs: 0, complete: false };
  for (let more = true; more && out.steps < maxSteps; ) {
    const t = performance.now();
    const step = store.pruneStep(now, { maxRows, first: out.steps === 0 });
    out.longestStepMs = Math.max(out.longestStepMs, performance.now() - t);
    out.steps++;
    out.readings += step.readings;
    out.deleted += step.deleted;
    out.devices += step.devices;
    more = step.more;
    if (more) await yieldToMessages();
    else out.complete = true;
  }
  return out;
}

function failure(seq: number, err: unknown): StoreReply {
  const code = (err as { code?: unknown }).code;
  return { seq, ok: false, message: (err as Error).message, ...(typeof code === 'string' ? { code } : {}) };
}

function open(): LocalStore | undefined {
  try {
    return new LocalStore(opts, 'writer');
  } catch (err) {
    // Answered, not thrown: a thrown error reaches the sink as an 'error' event without SQLite's
    // code, and may overtake this message; the code is what says why (store-file-error.ts).
    // With no listener left the thread then ends by itself.
    port.postMessage(failure(0, err));
    return undefined;
  }
}

const opened = open();
if (opened) serve(opened);

function serve(store: LocalStore): void {
  port.postMessage({ seq: 0, op: 'ready' } satisfies StoreReply);

  port.on('message', (req: StoreRequest) => {
    const reply = (r: StoreReply): void => port.postMessage(r);
    try {
      switch (req.op) {
        case 'apply': {
          const startedAt = epochNow();
          const { events, skipped } = apply(store, req.batch, req.events);
          const timing = { startedAt, committedAt: epochNow() };
          reply({ seq: req.seq, ok: true, timing, ...(req.events ? { events } : {}), ...(skipped.length ? { skipped } : {}) });
          return;
        }
        case 'registry':
          store.syncRegistry(req.devices);
          reply({ seq: req.seq, ok: true });
          return;
        case 'prune':
          prune(store, req.now, req.maxRows, req.maxSteps).then(
            (result) => reply({ seq: req.seq, ok: true, prune: result }),
            (err: unknown) => reply(failure(req.seq, err)),
          );
          return;
        case 'close':
          store.close();
          reply({ seq: req.seq, ok: true });
          port.close();
          return;
      }
    } catch (err) {
      reply(failure(req.seq, err));
    }
  });
}
