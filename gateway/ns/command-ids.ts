/**
 * Which MQTT downlink command became which queue row, kept in the session store's SQLite file:
 *
 * - the command's own `id` is the `queueItemId` of its outcome events, also after a restart
 *   (ChirpStack makes it the queue item id);
 * - a command is acknowledged (PUBACK) only once it is durable in the queue, so a crash between
 *   the commit and the PUBACK makes the broker deliver it again: a command whose `id` was queued
 *   for the device already, or — without an `id` — a redelivery (MQTT DUP flag) whose payload
 *   digest was queued already, is not queued twice.
 *
 * Bounded: the newest `max` (10,000) commands are remembered; older ones fall back to the queue
 * row id as their `queueItemId`.
 *
 * On-disk: `downlink_commands(queue_id INTEGER PRIMARY KEY, dev_eui TEXT, command_id TEXT
 * (NULL without an id), digest TEXT)`, indexes on (dev_eui, command_id) and (digest).
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS downlink_commands (queue_id INTEGER PRIMARY KEY, dev_eui TEXT NOT NULL, command_id TEXT, digest TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS downlink_commands_id ON downlink_commands (dev_eui, command_id);
CREATE INDEX IF NOT EXISTS downlink_commands_digest ON downlink_commands (digest);
`;

/** The digest a command is recognised by when it comes again without an `id`. */
export function commandDigest(topic: string, payload: Uint8Array): string {
  return createHash('sha256').update(topic).update('\n').update(payload).digest('hex').slice(0, 32);
}

export class CommandIds {
  private readonly st: { byId: Database.Statement; byDigest: Database.Statement; add: Database.Statement; idOf: Database.Statement; trim: Database.Statement };

  constructor(
    db: Database.Database,
    private readonly max = 10_000,
  ) {
    db.exec(SCHEMA);
    this.st = {
      byId: db.prepare('SELECT queue_id FROM downlink_commands WHERE dev_eui = ? AND command_id = ?'),
      byDigest: db.prepare('SELECT queue_id FROM downlink_commands WHERE digest = ? ORDER BY queue_id DESC LIMIT 1'),
      add: db.prepare('INSERT OR REPLACE INTO downlink_commands (queue_id, dev_eui, command_id, digest) VALUES (?, ?, ?, ?)'),
      idOf: db.prepare('SELECT command_id FROM downlink_commands WHERE queue_id = ?'),
      trim: db.prepare('DELETE FROM downlink_commands WHERE queue_id < (SELECT MIN(queue_id) FROM (SELECT queue_id FROM downlink_commands ORDER BY queue_id DESC LIMIT ?))'),
    };
  }

  /** The queue row of the same command queued before, if any. */
  earlier(devEui: string, id: string | undefined, digest: string, redelivery: boolean): number | undefined {
    const r = (id !== undefined ? this.st.byId.get(devEui, id) : redelivery ? this.st.byDigest.get(digest) : undefined) as { queue_id: number } | undefined;
    return r?.queue_id;
  }

  /** Remembers a queued command; call in the enqueue's transaction. */
  remember(queueId: number, devEui: string, id: string | undefined, digest: string): void {
    this.st.add.run(queueId, devEui, id ?? null, digest);
    this.st.trim.run(this.max);
  }

  /** The command's own id of a queue row, if it came with one. */
  idOf(queueId: number): string | undefined {
    const r = this.st.idOf.get(queueId) as { command_id: string | null } | undefined;
    return r?.command_id ?? undefined;
  }
}
