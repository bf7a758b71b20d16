/**
 * What became of queued downlinks (and of commands the codec could not encode), kept as durable
 * facts until the MQTT sink has published them: an outbox table in the session store's SQLite
 * file (`session-store.ts`).
 *
 * ## Invariants
 *
 * O1. An outcome row is written in the same transaction as the downlink state change it reports
 *     (`NetworkServer.settle`), so after a `kill -9` either both are on disk or neither: an
 *     acknowledged confirmed downlink always has its `ack` event waiting.
 * O2. A row is deleted only after the broker acknowledged (PUBACK) the event built from it. A
 *     crash before the publication leaves the row, and the sink publishes it after the restart —
 *     once. (A crash in the few ms between the PUBACK and the delete publishes it again: the
 *     event carries the same `time`, `queueItemId` and ids, so a consumer can tell.)
 * O3. Bounded: at most `max` rows (default 10,000). Past it the oldest rows are deleted, counted
 *     in `dropped` and logged by the caller — the queue's own state is still in `downlinks`.
 * O4. Rows are only written while a consumer is attached (an MQTT sink with downlinks), so a
 *     gateway without one does not fill the table.
 *
 * ## On-disk format
 *
 * `downlink_outcomes(id INTEGER PRIMARY KEY AUTOINCREMENT, dev_eui TEXT, body TEXT, time_ms
 * INTEGER)`; `body` is the JSON of `{outcome, queueItemId}` (`command-down.ts` `DownlinkOutcome`).
 */
import type Database from 'better-sqlite3';
import type { DownlinkOutcome } from './command-down.ts';

export interface StoredOutcome {
  id: number;
  outcome: DownlinkOutcome;
  /** the command's own `id`, else the queue row id */
  queueItemId: string;
  /** when it happened (ms since the epoch): the event's `time` */
  timeMs: number;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS downlink_outcomes (id INTEGER PRIMARY KEY AUTOINCREMENT, dev_eui TEXT NOT NULL, body TEXT NOT NULL, time_ms INTEGER NOT NULL)`;

export class OutcomeOutbox {
  /** rows deleted unpublished because the outbox was full (O3) */
  dropped = 0;
  private readonly st: { add: Database.Statement; pending: Database.Statement; del: Database.Statement; count: Database.Statement; trim: Database.Statement };

  constructor(
    private readonly db: Database.Database,
    private readonly max = 10_000,
  ) {
    db.exec(SCHEMA);
    this.st = {
      add: db.prepare('INSERT INTO downlink_outcomes (dev_eui, body, time_ms) VALUES (?, ?, ?)'),
      pending: db.prepare('SELECT id, body, time_ms FROM downlink_outcomes ORDER BY id LIMIT ?'),
      del: db.prepare('DELETE FROM downlink_outcomes WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM downlink_outcomes'),
      trim: db.prepare('DELETE FROM downlink_outcomes WHERE id IN (SELECT id FROM downlink_outcomes ORDER BY id LIMIT ?)'),
    };
  }

  /** Adds an outcome; call inside the transaction of the state change it reports (O1). */
  add(outcome: DownlinkOutcome, queueItemId: string, timeMs: number): void {
    this.st.add.run(outcome.devEui, JSON.stringify({ outcome, queueItemId }), timeMs);
    const over = this.size() - this.max;
    if (over > 0) {
      this.st.trim.run(over);
      this.dropped += over;
    }
  }

  size(): number {
    return (this.st.count.get() as { n: number }).n;
  }

  /** The oldest unpublished outcomes, in the order they happened. */
  pending(limit: number): StoredOutcome[] {
    const rows = this.st.pending.all(limit) as { id: number; body: string; time_ms: number }[];
    const out: StoredOutcome[] = [];
    for (const r of rows) {
      try {
        const b = JSON.parse(r.body) as { outcome: DownlinkOutcome; queueItemId: string };
        out.push({ id: r.id, outcome: b.outcome, queueItemId: b.queueItemId, timeMs: r.time_ms });
      } catch {
        // Our own JSON; a row that does not parse can never be published: drop it.
        this.st.del.run(r.id);
      }
    }
    return out;
  }

  /** The broker acknowledged these (O2): one transaction, one fsync. */
  published(ids: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of ids) this.st.del.run(id);
    })();
  }
}
