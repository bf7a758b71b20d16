/**
 * The edge network server's crash-safe state: sessions (keys, frame counters, data rate),
 * the DevNonces every device has used, the JoinNonce/DevAddr allocators and the class-A
 * downlink queue — in one SQLite file through better-sqlite3 (see README.md for why SQLite).
 *
 * ## Invariants
 *
 * S1. Every method that changes state returns only after its transaction is durable:
 *     `journal_mode=WAL` + `synchronous=FULL` fsyncs the WAL at every commit. So a join-accept
 *     is sent only after its session and DevNonce are on disk (`commitJoins`, in the batch's
 *     transaction with its uplink counters — one fsync per batch, not per join), and a
 *     downlink only after its FCntDown is (`commitUplinks`, with the batch's uplink counters).
 * S2. Uplink counters are committed (`commitUplinks`, one transaction per batch: the batch's
 *     `session_counters` row) *before* the batch's records are appended to the durable log.
 *     After a crash the stored FCntUp is therefore never behind a stored record: no frame is
 *     accepted twice. A crash between the
 *     two loses that batch's records (frames received in the last few ms — like those still in
 *     the dedup window or the socket buffer, which no UDP receiver can keep either) — unless
 *     the inbox journal is on (S6). An ACK leaves only when its frame survives a crash: after
 *     this commit with the journal (S6 restores the record), after the log's fsync without it.
 * S3. A DevNonce, once committed for a device, is never accepted again for it (LoRaWAN 1.0.x
 *     random nonces: every nonce seen is kept, as ChirpStack does).
 * S4. JoinNonce and DevAddr allocators only move forward (committed with the batch's joins).
 * S5. The in-memory copy (the caller's) is loaded from here at start (`readSessions`: the
 *     `sessions` rows with the `session_counters` entries applied) and written through; this
 *     module never holds a second copy of a session.
 * S6. With the inbox journal on, `commitUplinks` also records, per stored uplink, the durable-log
 *     id its record is about to get (`applied_batches`, see `AppliedUplink`): S2's crash window
 *     (counters committed, records not yet durable) is then told apart at the next start and the
 *     frame replayed from the journal is stored instead of lost — which is why an ACK may leave
 *     right after this commit (test/edge-ns-ack-crash.test.ts).
 *
 * ## On-disk format
 *
 * `<data_dir>/ns/sessions.sqlite` (+ `-wal`, `-shm`), mode 0600 (session keys are secrets).
 * Tables: `meta(k, v)` (schema version, next_join_nonce, next_nwk_addr); `sessions` (one row
 * per device, keys as 16-byte blobs; its counter columns are as of its last join, new ABP keys or
 * clean stop); `session_counters(id, rows)` (one row per commit batch: the batch's sessions'
 * seq, FCntUp, FCntDown, DR, ADR, last MIC and awaited downlink packed as in
 * session-counters.ts; an entry counts for a `sessions` row of the same seq or an older one, a
 * later entry of a device over an earlier one; replaced by their merge — one entry per device —
 * in the transaction that makes them 3× the last merge, and folded into the `sessions` rows at a
 * clean stop); `dev_nonces(dev_eui, dev_nonce)`; `downlinks` (queue:
 * id, dev_eui, f_port, payload, confirmed, state pending|sent|awaiting_ack|done|failed,
 * attempts, f_cnt_down, outcome, created_ms); `applied_batches(id, max_entry, rows)` (S6: one
 * row per commit batch, `rows` the batch's (DevEUI, FCnt, log id, journal entry) packed as in
 * applied-batch.ts; a row goes once the journal's cursor passed `max_entry`); `applied_uplinks(
 * dev_eui, f_cnt, log_id, entry)` (S6 before session 8, one row per uplink: no longer written,
 * still read and pruned, so a file left by a crash of the older version replays right). The
 * schema version is `meta.schema = 1` (the new tables are created on open). A version before
 * session 8 reads only the `sessions` rows: go back to one only after a clean stop (which folds
 * the counters in), never straight after a crash (its counters would be behind: replays
 * accepted). Other
 * modules keep their own tables in this file through `db` (adr-store.ts, outcome-outbox.ts,
 * command-ids.ts), created on open (`CREATE TABLE IF NOT EXISTS`).
 *
 * ## Recovery
 *
 * SQLite's own: on open, a WAL with committed frames is replayed, an uncommitted tail is
 * ignored. At the daemon's start (`requeueUnacknowledged`, called by the semtech_udp source
 * only — never on open, so the `downlink` CLI, which opens this file while the daemon runs,
 * leaves the daemon's queue alone) `downlinks` rows left in state `sent` (TX_ACK never seen) go
 * back to `pending`, so a queued downlink is sent again rather than lost (at-least-once; the
 * FCntDown moves on).
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { appliedKey, packApplied, unpackApplied } from './applied-batch.ts';
import { mergeCounters, packCounters, unpackCounters } from './session-counters.ts';

export interface Session {
  devEui: string;
  activation: 'OTAA' | 'ABP';
  devAddr: number;
  nwkSKey: Buffer;
  appSKey: Buffer;
  /** the FCnt expected next (E of fcnt.ts) */
  fCntUpNext: number;
  fCntDownNext: number;
  /** increments with every join: part of record ids */
  seq: number;
  rx1DrOffset: number;
  rx2Dr: number;
  /** seconds (1..15) */
  rxDelay: number;
  /** last uplink data rate and ADR bit */
  dr: number;
  adr: boolean;
  /** MIC of the last accepted uplink (hex): a byte-identical copy later is a retransmission/replay */
  lastMic: string;
  /** confirmed downlink awaiting the device's ACK (queue id), 0 = none */
  awaitingAck: number;
}

export type DownlinkState = 'pending' | 'sent' | 'awaiting_ack' | 'done' | 'failed';

export interface QueuedDownlink {
  id: number;
  devEui: string;
  fPort: number;
  payload: Buffer;
  confirmed: boolean;
  state: DownlinkState;
  attempts: number;
  outcome: string;
  /** FCntDown it was last sent with */
  fCntDown?: number;
}

interface SessionRow {
  dev_eui: string;
  activation: 'OTAA' | 'ABP';
  dev_addr: number;
  nwk_s_key: Buffer;
  app_s_key: Buffer;
  f_cnt_up_next: number;
  f_cnt_down_next: number;
  seq: number;
  rx1_dr_offset: number;
  rx2_dr: number;
  rx_delay: number;
  dr: number;
  adr: number;
  last_mic: string;
  awaiting_ack: number;
}

interface DownlinkRow {
  id: number;
  dev_eui: string;
  f_port: number;
  payload: Buffer;
  confirmed: number;
  state: DownlinkState;
  attempts: number;
  outcome: string;
  f_cnt_down: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
  dev_eui TEXT PRIMARY KEY, activation TEXT NOT NULL, dev_addr INTEGER NOT NULL,
  nwk_s_key BLOB NOT NULL, app_s_key BLOB NOT NULL,
  f_cnt_up_next INTEGER NOT NULL, f_cnt_down_next INTEGER NOT NULL, seq INTEGER NOT NULL,
  rx1_dr_offset INTEGER NOT NULL, rx2_dr INTEGER NOT NULL, rx_delay INTEGER NOT NULL,
  dr INTEGER NOT NULL, adr INTEGER NOT NULL, last_mic TEXT NOT NULL, awaiting_ack INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dev_nonces (dev_eui TEXT NOT NULL, dev_nonce INTEGER NOT NULL, PRIMARY KEY (dev_eui, dev_nonce)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS downlinks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, dev_eui TEXT NOT NULL, f_port INTEGER NOT NULL, payload BLOB NOT NULL,
  confirmed INTEGER NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  f_cnt_down INTEGER, outcome TEXT NOT NULL DEFAULT '', created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS downlinks_pending ON downlinks (dev_eui, state, id);
CREATE INDEX IF NOT EXISTS downlinks_state ON downlinks (state, dev_eui);
CREATE TABLE IF NOT EXISTS applied_uplinks (dev_eui TEXT NOT NULL, f_cnt INTEGER NOT NULL, log_id INTEGER NOT NULL, entry INTEGER NOT NULL, PRIMARY KEY (dev_eui, f_cnt)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS applied_uplinks_entry ON applied_uplinks (entry);
CREATE TABLE IF NOT EXISTS session_counters (id INTEGER PRIMARY KEY, rows BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS applied_batches (id INTEGER PRIMARY KEY, max_entry INTEGER NOT NULL, rows BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS applied_batches_max_entry ON applied_batches (max_entry);
`;

/**
 * S6 (the inbox journal, ../sources/udp-inbox.ts): with a batch's counters, the durable-log id
 * each of its records is about to get and the journal entry it came from. After a crash between
 * this commit and the log's fsync, a replayed frame whose FCnt is committed is told apart:
 * log id below the log's next id at start = stored (skip it), at or above = lost (store it).
 * Rows go once the journal's cursor has passed their entry.
 */
export interface AppliedUplink {
  devEui: string;
  fCnt: number;
  logId: number;
  entry: number;
}

function toSession(r: SessionRow): Session {
  return {
    devEui: r.dev_eui,
    activation: r.activation,
    devAddr: r.dev_addr >>> 0,
    nwkSKey: Buffer.from(r.nwk_s_key),
    appSKey: Buffer.from(r.app_s_key),
    fCntUpNext: r.f_cnt_up_next,
    fCntDownNext: r.f_cnt_down_next,
    seq: r.seq,
    rx1DrOffset: r.rx1_dr_offset,
    rx2Dr: r.rx2_dr,
    rxDelay: r.rx_delay,
    dr: r.dr,
    adr: r.adr !== 0,
    lastMic: r.last_mic,
    awaitingAck: r.awaiting_ack,
  };
}

function toDownlink(r: DownlinkRow): QueuedDownlink {
  return { id: r.id, devEui: r.dev_eui, fPort: r.f_port, payload: Buffer.from(r.payload), confirmed: r.confirmed !== 0, state: r.state, attempts: r.attempts, outcome: r.outcome, ...(r.f_cnt_down !== null ? { fCntDown: r.f_cnt_down } : {}) };
}

/** Opens (creating) the store file with the durability settings of S1; 0600 from creation on. */
function openDb(path: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fresh = !existsSync(path);
  const db = new Database(path);
  if (fresh) chmodSync(path, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // The CLI's `downlink` writes the queue while the daemon runs: wait for the lock briefly.
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Below this many bytes `session_counters` is not compacted (10,000 sessions merge to ~0.6 MB). */
const COMPACT_MIN_BYTES = 1 << 20;

/**
 * Every session as committed (S5), from any connection (a read-only one too): its `sessions`
 * row, then the `session_counters` entries in commit order — an entry counts for a row of the
 * same seq or an older one (an accept_zero restart moves seq with the counters); a row written
 * later by a join or new ABP keys has a higher seq than every entry before it, so those count
 * no more.
 */
export function readSessions(db: Database.Database): Session[] {
  const list = (db.prepare('SELECT * FROM sessions').all() as SessionRow[]).map(toSession);
  const hasCounters = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_counters'`).get() !== undefined;
  if (!hasCounters) return list;
  const byEui = new Map(list.map((s) => [s.devEui, s]));
  // Merged first (each device's latest entry, which has its highest seq): the same result as
  // applying every entry in order, with one object per device instead of one per entry.
  const blobs = db.prepare('SELECT rows FROM session_counters ORDER BY id').pluck().all() as Buffer[];
  for (const [devEui, c] of unpackCounters(mergeCounters(blobs)).entries) {
    const s = byEui.get(devEui);
    if (!s || c.seq < s.seq) continue;
    s.seq = c.seq;
    s.fCntUpNext = c.fCntUpNext;
    s.fCntDownNext = c.fCntDownNext;
    s.dr = c.dr;
    s.adr = c.adr;
    s.lastMic = c.lastMic;
    s.awaitingAck = c.awaitingAck;
  }
  return list;
}

export class SessionStore {
  /** the connection, for the modules that keep their own tables in this file (adr-store.ts, outcome-outbox.ts, command-ids.ts) */
  readonly db: Database.Database;
  private readonly st: {
    upsert: Database.Statement;
    counterAdd: Database.Statement;
    counterAll: Database.Statement;
    counterClear: Database.Statement;
    foldOne: Database.Statement;
    nonceSeen: Database.Statement;
    nonceAdd: Database.Statement;
    meta: Database.Statement;
    setMeta: Database.Statement;
    pending: Database.Statement;
    setDownlink: Database.Statement;
    getDownlink: Database.Statement;
    enqueue: Database.Statement;
    pendingDevices: Database.Statement;
    appliedGet: Database.Statement;
    appliedPrune: Database.Statement;
    batchAdd: Database.Statement;
    batchPrune: Database.Statement;
    batchIds: Database.Statement;
    batchRows: Database.Statement;
    legacyAny: Database.Statement;
  };
  /** rows left in `applied_uplinks` (one row per uplink, before session 8) by a file opened at start: read and pruned until gone */
  private legacyApplied: boolean;
  /** bytes in `session_counters` now, and in its last merge (compaction when the first is 3× the second) */
  private counterBytes = 0;
  private mergedBytes = 0;
  /** compactions of `session_counters` since open (bench/edge-ns/session-commit.ts reports them) */
  compactions = 0;
  /** decoded `applied_batches` blobs by id (a blob never changes; a correction is a newer blob) */
  private readonly appliedCache = new Map<number, Map<string, number>>();

  /** below this many bytes `session_counters` is not compacted */
  private readonly compactMinBytes: number;

  constructor(
    readonly path: string,
    options: { counterCompactMinBytes?: number } = {},
  ) {
    this.compactMinBytes = options.counterCompactMinBytes ?? COMPACT_MIN_BYTES;
    this.db = openDb(path);
    this.db.exec(SCHEMA);
    this.db.prepare(`INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', 1)`).run();
    const d = this.db;
    this.st = {
      upsert: d.prepare(
        `INSERT OR REPLACE INTO sessions VALUES (@dev_eui, @activation, @dev_addr, @nwk_s_key, @app_s_key, @f_cnt_up_next, @f_cnt_down_next, @seq, @rx1_dr_offset, @rx2_dr, @rx_delay, @dr, @adr, @last_mic, @awaiting_ack)`,
      ),
      counterAdd: d.prepare(`INSERT INTO session_counters (rows) VALUES (?)`),
      counterAll: d.prepare(`SELECT rows FROM session_counters ORDER BY id`).pluck(),
      counterClear: d.prepare(`DELETE FROM session_counters`),
      foldOne: d.prepare(`UPDATE sessions SET seq = ?, f_cnt_up_next = ?, f_cnt_down_next = ?, dr = ?, adr = ?, last_mic = ?, awaiting_ack = ? WHERE dev_eui = ? AND seq <= ?`),
      nonceSeen: d.prepare(`SELECT 1 FROM dev_nonces WHERE dev_eui = ? AND dev_nonce = ?`),
      nonceAdd: d.prepare(`INSERT INTO dev_nonces (dev_eui, dev_nonce) VALUES (?, ?)`),
      meta: d.prepare(`SELECT v FROM meta WHERE k = ?`),
      setMeta: d.prepare(`INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)`),
      pending: d.prepare(`SELECT * FROM downlinks WHERE dev_eui = ? AND state = 'pending' ORDER BY id LIMIT ?`),
      setDownlink: d.prepare(`UPDATE downlinks SET state = ?, attempts = ?, f_cnt_down = ?, outcome = ? WHERE id = ?`),
      getDownlink: d.prepare(`SELECT * FROM downlinks WHERE id = ?`),
      pendingDevices: d.prepare(`SELECT DISTINCT dev_eui FROM downlinks WHERE state = 'pending'`),
      enqueue: d.prepare(`INSERT INTO downlinks (dev_eui, f_port, payload, confirmed, state, created_ms) VALUES (?, ?, ?, ?, 'pending', ?)`),
      appliedGet: d.prepare(`SELECT log_id FROM applied_uplinks WHERE dev_eui = ? AND f_cnt = ?`),
      appliedPrune: d.prepare(`DELETE FROM applied_uplinks WHERE entry <= ?`),
      batchAdd: d.prepare(`INSERT INTO applied_batches (max_entry, rows) VALUES (?, ?)`),
      batchPrune: d.prepare(`DELETE FROM applied_batches WHERE max_entry <= ?`),
      batchIds: d.prepare(`SELECT id FROM applied_batches ORDER BY id DESC`).pluck(),
      batchRows: d.prepare(`SELECT rows FROM applied_batches WHERE id = ?`).pluck(),
      legacyAny: d.prepare('SELECT 1 FROM applied_uplinks LIMIT 1'),
    };
    this.legacyApplied = this.st.legacyAny.get() !== undefined;
    this.counterBytes = d.prepare('SELECT coalesce(sum(length(rows)), 0) FROM session_counters').pluck().get() as number;
  }

  /**
   * The daemon's recovery at start, and only the daemon's: a downlink handed to a gateway whose
   * TX_ACK never came (`sent`) goes back to `pending` and is sent again (at-least-once). Not done
   * on open: the `downlink` CLI opens this file while the daemon runs, and there a `sent` row is
   * one whose TX_ACK is still on its way (or never comes from a forwarder that sends none) —
   * requeueing it sent the downlink a second time and left its outcome to the wrong attempt.
   * Returns how many rows went back.
   */
  requeueUnacknowledged(): number {
    return this.db.prepare(`UPDATE downlinks SET state = 'pending' WHERE state = 'sent'`).run().changes;
  }

  loadSessions(): Session[] {
    return readSessions(this.db);
  }

  private row(s: Session): SessionRow {
    return {
      dev_eui: s.devEui,
      activation: s.activation,
      dev_addr: s.devAddr >>> 0,
      nwk_s_key: s.nwkSKey,
      app_s_key: s.appSKey,
      f_cnt_up_next: s.fCntUpNext,
      f_cnt_down_next: s.fCntDownNext,
      seq: s.seq,
      rx1_dr_offset: s.rx1DrOffset,
      rx2_dr: s.rx2Dr,
      rx_delay: s.rxDelay,
      dr: s.dr,
      adr: s.adr ? 1 : 0,
      last_mic: s.lastMic,
      awaiting_ack: s.awaitingAck,
    };
  }

  /** Creates or replaces a session (ABP from the keys file). Durable on return. */
  putSession(s: Session): void {
    this.st.upsert.run(this.row(s));
  }

  /** Many sessions in one transaction (the ABP devices of the keys file at start). */
  putSessions(list: readonly Session[]): void {
    this.db.transaction(() => {
      for (const s of list) this.st.upsert.run(this.row(s));
    })();
  }

  hasDevNonce(devEui: string, devNonce: number): boolean {
    return this.st.nonceSeen.get(devEui, devNonce) !== undefined;
  }

  metaValue(k: string, def: number): number {
    const r = this.st.meta.get(k) as { v: number } | undefined;
    return r?.v ?? def;
  }

  /**
   * The joins of a batch: each DevNonce and new session, then the allocators' values (S4: they
   * only moved forward). Called inside the batch's transaction (a savepoint there) after its
   * uplink counters, so a new session's row replaces whatever an uplink of the session it
   * replaced wrote in the same transaction (the UPDATEs are keyed by DevEUI). Durable when that
   * transaction returns (S1): only then may the join-accepts leave. Throws when a DevNonce was
   * used already (S3; the caller checks first, this is the guard).
   */
  commitJoins(joins: readonly { session: Session; devNonce: number }[], meta: { nextJoinNonce: number; nextNwkAddr: number }): void {
    this.db.transaction(() => {
      for (const j of joins) {
        this.st.nonceAdd.run(j.session.devEui, j.devNonce);
        this.st.upsert.run(this.row(j.session));
      }
      this.st.setMeta.run('next_join_nonce', meta.nextJoinNonce);
      this.st.setMeta.run('next_nwk_addr', meta.nextNwkAddr);
    })();
  }

  /**
   * The counters of a batch of accepted uplinks (S2) and the FCntDowns of the batch's answers
   * (S1, with their queue entries' states), in one transaction: one fsync per batch, where a
   * commit per answer cost one fsync on the event loop each.
   */
  commitUplinks(
    sessions: Iterable<Session>,
    downlinks: readonly { session: Session; queued: { id: number; state: DownlinkState; attempts: number; outcome: string } | undefined }[] = [],
    applied?: { rows: readonly AppliedUplink[]; pruneThrough: number },
  ): void {
    this.db.transaction(() => {
      if (applied) {
        if (applied.pruneThrough > 0) this.pruneApplied(applied.pruneThrough);
        this.addApplied(applied.rows);
      }
      const changed = new Set(sessions);
      for (const { session: s, queued } of downlinks) {
        changed.add(s);
        if (queued) this.st.setDownlink.run(queued.state, queued.attempts, s.fCntDownNext - 1, queued.outcome, queued.id);
      }
      this.addCounters([...changed]);
    })();
  }

  /**
   * The batch's session states as one appended `session_counters` row (session-counters.ts):
   * a few sequential pages, where an UPDATE per session dirtied a random page each. When the
   * rows hold three times what their last merge did (and at least COMPACT_MIN_BYTES), they are
   * replaced by their merge in the same transaction: one entry per device, the latest.
   */
  private addCounters(list: readonly Session[]): void {
    if (list.length === 0) return;
    const blob = packCounters(list);
    this.st.counterAdd.run(blob);
    this.counterBytes += blob.length;
    if (this.counterBytes <= Math.max(this.compactMinBytes, 3 * this.mergedBytes)) return;
    const merged = mergeCounters(this.st.counterAll.all() as Buffer[]);
    this.st.counterClear.run();
    this.st.counterAdd.run(merged);
    this.counterBytes = this.mergedBytes = merged.length;
    this.compactions++;
  }

  /**
   * Writes the counter entries into the `sessions` rows and empties `session_counters` (a clean
   * stop: the file then reads the same for a version without the table, and the next start has
   * less to apply). Same rule as the load: an entry counts for the row of its seq or an older one.
   */
  foldCounters(): void {
    this.db.transaction(() => {
      // Merged first: one UPDATE per device, not per entry.
      for (const [devEui, c] of unpackCounters(mergeCounters(this.st.counterAll.all() as Buffer[])).entries)
        this.st.foldOne.run(c.seq, c.fCntUpNext, c.fCntDownNext, c.dr, c.adr ? 1 : 0, c.lastMic, c.awaitingAck, devEui, c.seq);
      this.st.counterClear.run();
    })();
    this.counterBytes = this.mergedBytes = 0;
  }

  /**
   * S6 rows of a batch as one blob (applied-batch.ts): one sequential row, not one random b-tree
   * row per uplink. A blob goes once the journal's cursor has passed all its entries.
   */
  private addApplied(rows: readonly AppliedUplink[]): void {
    if (rows.length === 0) return;
    let maxEntry = 0;
    for (const a of rows) if (a.entry > maxEntry) maxEntry = a.entry;
    this.st.batchAdd.run(maxEntry, packApplied(rows));
  }

  private pruneApplied(through: number): void {
    this.st.batchPrune.run(through);
    // Cleared only by a prune that deleted nothing from an empty table: a rolled-back
    // transaction cannot bring rows back then.
    if (this.legacyApplied && this.st.appliedPrune.run(through).changes === 0) this.legacyApplied = this.st.legacyAny.get() !== undefined;
  }

  /** S6: corrects log ids after the log refused records of the batch (ids shift down): a newer blob, which wins at lookup. */
  fixApplied(rows: readonly AppliedUplink[]): void {
    this.db.transaction(() => this.addApplied(rows))();
  }

  /**
   * S6: the log id the record of this frame was to get, if its batch's counters were committed.
   * Asked for replayed frames only (at start): the newest blob holding the key wins, as the
   * newest INSERT OR REPLACE did; rows an older version left in `applied_uplinks` come after.
   */
  appliedLogId(devEui: string, fCnt: number): number | undefined {
    const key = appliedKey(devEui, fCnt);
    const ids = this.st.batchIds.all() as number[];
    let found: number | undefined;
    for (const id of ids) {
      let rows = this.appliedCache.get(id);
      if (!rows) {
        const blob = this.st.batchRows.get(id) as Buffer | undefined;
        rows = (blob && unpackApplied(blob)) || new Map<string, number>();
        this.appliedCache.set(id, rows);
      }
      found = rows.get(key);
      if (found !== undefined) break;
    }
    // Blobs pruned since: forget them.
    if (this.appliedCache.size > ids.length) {
      const live = new Set(ids);
      for (const id of this.appliedCache.keys()) if (!live.has(id)) this.appliedCache.delete(id);
    }
    if (found !== undefined || !this.legacyApplied) return found;
    return (this.st.appliedGet.get(devEui, fCnt) as { log_id: number } | undefined)?.log_id;
  }

  setDownlinkState(id: number, state: DownlinkState, attempts: number, outcome: string): void {
    this.st.setDownlink.run(state, attempts, null, outcome, id);
  }

  pendingDownlinks(devEui: string, max = 4): QueuedDownlink[] {
    return (this.st.pending.all(devEui, max) as DownlinkRow[]).map(toDownlink);
  }

  /** DevEUIs with a pending downlink (polled: the CLI writes the queue from another process). */
  devicesWithPending(): Set<string> {
    return new Set((this.st.pendingDevices.all() as { dev_eui: string }[]).map((r) => r.dev_eui));
  }

  downlink(id: number): QueuedDownlink | undefined {
    const r = this.st.getDownlink.get(id) as DownlinkRow | undefined;
    return r ? toDownlink(r) : undefined;
  }

  enqueue(devEui: string, fPort: number, payload: Uint8Array, confirmed: boolean, now = Date.now()): number {
    return Number(this.st.enqueue.run(devEui, fPort, Buffer.from(payload), confirmed ? 1 : 0, now).lastInsertRowid);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Queues a downlink from another process (the `downlink` CLI) while the daemon may run: SQLite
 * serialises the two writers; the daemon picks the row up at the device's next uplink. Opens the
 * store without the daemon's recovery (`requeueUnacknowledged`): one insert, nothing of the
 * daemon's queue state changed.
 */
export function enqueueDownlink(path: string, devEui: string, fPort: number, payload: Uint8Array, confirmed: boolean): number {
  const store = new SessionStore(path);
  try {
    return store.enqueue(devEui, fPort, payload, confirmed);
  } finally {
    store.close();
  }
}
