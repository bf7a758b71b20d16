/**
 * bench/edge-ns/session-commit — what the network server's batch commit costs in SQLite
 * (`SessionStore.commitUplinks`: the uplink counters of the batch's sessions and, with the inbox
 * journal, one `applied_uplinks` row per uplink plus the prune, in one transaction), in-process on
 * a real file with the store's own settings (WAL, synchronous=FULL: one WAL fsync per commit).
 *
 * 10,000 sessions; per batch `size` distinct sessions (random), each with a new FCnt and MIC, and
 * one applied row per session; the prune removes rows of entries older than a few batches (as the
 * journal's cursor does). Variants are run interleaved (one batch of each in turn), so machine
 * load hits them alike:
 *   - `per-row`: one UPDATE per session and one INSERT per applied row (the code before session 8)
 *   - `store`:   `SessionStore.commitUplinks` as it is now (session 8: one appended blob of the
 *                batch's counters, `session_counters`, and one of its applied rows, compacted at 3×)
 *   - `json`:    one UPDATE … FROM json_each(?) and one INSERT … SELECT FROM json_each(?)
 *   - `values`:  multi-row VALUES lists bound as parameters, statements cached per chunk size
 *   - `floor`:   a transaction writing one small row (the commit's fsync alone)
 *   - `store + ADR …`: with the ADR state of every 5th session of the batch (20-uplink history)
 *                written as main did (a row per device) and as adr-store.ts does now (one blob)
 * With `EXPLORE=1` also: `sessions-only` / `applied-only` (the two halves of `per-row`) and
 * `append` (counters appended to a rowid table instead of updated in place). `AUTOCHECKPOINT=n`
 * sets the connection's `wal_autocheckpoint` (0: none during the run).
 * Reported per variant: median and mean wall µs per batch (the event loop is blocked that long:
 * better-sqlite3 is synchronous, the fsync included), CPU µs per batch (process user+system) and
 * CPU µs per session row.
 *
 *   node --import tsx bench/edge-ns/session-commit.ts [--sizes 50,200,500] [--batches 60] [--sessions 10000]
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type Database from 'better-sqlite3';
import { SessionStore, type AppliedUplink, type Session } from '../../gateway/ns/session-store.ts';
import { abpSession } from '../../gateway/ns/testing/sessions.ts';
import type { AdrDevice } from '../../gateway/ns/adr.ts';
import { AdrStore, encodePackedHistory } from '../../gateway/ns/adr-store.ts';

const { values: opts } = parseArgs({ options: { sizes: { type: 'string', default: '50,200,500' }, batches: { type: 'string', default: '60' }, sessions: { type: 'string', default: '10000' } } });
const SIZES = (opts.sizes as string).split(',').map(Number);
const BATCHES = Number(opts.batches);
const N = Number(opts.sessions);

type Applied = { rows: readonly AppliedUplink[]; pruneThrough: number };
type Commit = (sessions: readonly Session[], applied: Applied) => void;

function perRow(db: Database.Database): Commit {
  const uplink = db.prepare(`UPDATE sessions SET f_cnt_up_next = ?, dr = ?, adr = ?, last_mic = ?, awaiting_ack = ? WHERE dev_eui = ?`);
  const ins = db.prepare(`INSERT OR REPLACE INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) VALUES (?, ?, ?, ?)`);
  const prune = db.prepare(`DELETE FROM applied_uplinks WHERE entry <= ?`);
  return db.transaction((sessions: readonly Session[], applied: Applied) => {
    if (applied.pruneThrough > 0) prune.run(applied.pruneThrough);
    for (const a of applied.rows) ins.run(a.devEui, a.fCnt, a.logId, a.entry);
    for (const s of sessions) uplink.run(s.fCntUpNext, s.dr, s.adr ? 1 : 0, s.lastMic, s.awaitingAck, s.devEui);
  });
}

function json(db: Database.Database): Commit {
  const up = db.prepare(
    `UPDATE sessions SET f_cnt_up_next = j.value->>1, dr = j.value->>2, adr = j.value->>3, last_mic = j.value->>4, awaiting_ack = j.value->>5 FROM json_each(?) AS j WHERE sessions.dev_eui = j.value->>0`,
  );
  const ins = db.prepare(`INSERT OR REPLACE INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) SELECT value->>0, value->>1, value->>2, value->>3 FROM json_each(?)`);
  const prune = db.prepare(`DELETE FROM applied_uplinks WHERE entry <= ?`);
  return db.transaction((sessions: readonly Session[], applied: Applied) => {
    if (applied.pruneThrough > 0) prune.run(applied.pruneThrough);
    ins.run(JSON.stringify(applied.rows.map((a) => [a.devEui, a.fCnt, a.logId, a.entry])));
    up.run(JSON.stringify(sessions.map((s) => [s.devEui, s.fCntUpNext, s.dr, s.adr ? 1 : 0, s.lastMic, s.awaitingAck])));
  });
}

/** Chunk sizes a batch is split into, so a handful of prepared statements serve every size. */
const CHUNKS = [256, 64, 16, 4, 1];

function valuesVariant(db: Database.Database): Commit {
  const upCache = new Map<number, Database.Statement>();
  const insCache = new Map<number, Database.Statement>();
  const up = (n: number) => {
    let st = upCache.get(n);
    if (!st) {
      st = db.prepare(
        `UPDATE sessions SET f_cnt_up_next = v.column2, dr = v.column3, adr = v.column4, last_mic = v.column5, awaiting_ack = v.column6 FROM (VALUES ${Array(n).fill('(?,?,?,?,?,?)').join(',')}) AS v WHERE sessions.dev_eui = v.column1`,
      );
      upCache.set(n, st);
    }
    return st;
  };
  const insert = (n: number) => {
    let st = insCache.get(n);
    if (!st) {
      st = db.prepare(`INSERT OR REPLACE INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) VALUES ${Array(n).fill('(?,?,?,?)').join(',')}`);
      insCache.set(n, st);
    }
    return st;
  };
  const prune = db.prepare(`DELETE FROM applied_uplinks WHERE entry <= ?`);
  return db.transaction((sessions: readonly Session[], applied: Applied) => {
    if (applied.pruneThrough > 0) prune.run(applied.pruneThrough);
    let i = 0;
    for (const c of CHUNKS)
      for (; i + c <= applied.rows.length; i += c) {
        const p: unknown[] = [];
        for (let k = i; k < i + c; k++) {
          const a = applied.rows[k] as AppliedUplink;
          p.push(a.devEui, a.fCnt, a.logId, a.entry);
        }
        insert(c).run(p);
      }
    i = 0;
    for (const c of CHUNKS)
      for (; i + c <= sessions.length; i += c) {
        const p: unknown[] = [];
        for (let k = i; k < i + c; k++) {
          const s = sessions[k] as Session;
          p.push(s.devEui, s.fCntUpNext, s.dr, s.adr ? 1 : 0, s.lastMic, s.awaitingAck);
        }
        up(c).run(p);
      }
  });
}

/** Exploration: only the session UPDATEs / only the applied rows, to split the cost. */
function sessionsOnly(db: Database.Database): Commit {
  const uplink = db.prepare(`UPDATE sessions SET f_cnt_up_next = ?, dr = ?, adr = ?, last_mic = ?, awaiting_ack = ? WHERE dev_eui = ?`);
  return db.transaction((sessions: readonly Session[]) => {
    for (const s of sessions) uplink.run(s.fCntUpNext, s.dr, s.adr ? 1 : 0, s.lastMic, s.awaitingAck, s.devEui);
  });
}
function appliedOnly(db: Database.Database): Commit {
  const ins = db.prepare(`INSERT OR REPLACE INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) VALUES (?, ?, ?, ?)`);
  const prune = db.prepare(`DELETE FROM applied_uplinks WHERE entry <= ?`);
  return db.transaction((_s: readonly Session[], applied: Applied) => {
    if (applied.pruneThrough > 0) prune.run(applied.pruneThrough);
    for (const a of applied.rows) ins.run(a.devEui, a.fCnt, a.logId, a.entry);
  });
}
/** Exploration: the counters in an append-only rowid table (sequential pages), applied rows in a rowid table too. */
function appendLog(db: Database.Database): Commit {
  db.exec('CREATE TABLE IF NOT EXISTS bench_counter_log (id INTEGER PRIMARY KEY, dev_eui TEXT NOT NULL, seq INTEGER NOT NULL, f_up INTEGER NOT NULL, f_down INTEGER NOT NULL, dr INTEGER NOT NULL, adr INTEGER NOT NULL, mic TEXT NOT NULL, aa INTEGER NOT NULL)');
  db.exec('CREATE TABLE IF NOT EXISTS bench_applied_log (entry INTEGER NOT NULL, dev_eui TEXT NOT NULL, f_cnt INTEGER NOT NULL, log_id INTEGER NOT NULL)');
  db.exec('CREATE INDEX IF NOT EXISTS bench_applied_log_entry ON bench_applied_log (entry)');
  const add = db.prepare('INSERT INTO bench_counter_log (dev_eui, seq, f_up, f_down, dr, adr, mic, aa) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const ins = db.prepare('INSERT INTO bench_applied_log (entry, dev_eui, f_cnt, log_id) VALUES (?, ?, ?, ?)');
  const prune = db.prepare('DELETE FROM bench_applied_log WHERE entry <= ?');
  return db.transaction((sessions: readonly Session[], applied: Applied) => {
    if (applied.pruneThrough > 0) prune.run(applied.pruneThrough);
    for (const a of applied.rows) ins.run(a.entry, a.devEui, a.fCnt, a.logId);
    for (const s of sessions) add.run(s.devEui, s.seq, s.fCntUpNext, s.fCntDownNext, s.dr, s.adr ? 1 : 0, s.lastMic, s.awaitingAck);
  });
}

function floor(db: Database.Database): Commit {
  db.exec('CREATE TABLE IF NOT EXISTS bench_floor (k INTEGER PRIMARY KEY, v INTEGER)');
  const bump = db.prepare('INSERT OR REPLACE INTO bench_floor VALUES (1, ?)');
  let n = 0;
  return db.transaction(() => {
    bump.run(n++);
  });
}

const dir = mkdtempSync(join(tmpdir(), 'session-commit-bench-'));
const store = new SessionStore(join(dir, 'sessions.sqlite'));
const sessions: Session[] = Array.from({ length: N }, (_, i) => abpSession(i, { lastMic: '00000000' }));
store.putSessions(sessions);
if (process.env['AUTOCHECKPOINT']) store.db.pragma(`wal_autocheckpoint = ${Number(process.env['AUTOCHECKPOINT'])}`);

// ADR state rides in the same transaction for ~1 in 5 ADR uplinks (adr.ts HISTORY_WRITE_EVERY):
// main's one INSERT OR REPLACE per device against this branch's appended blob (adr-store.ts).
const adrStore = new AdrStore(store.db);
const adrPut = store.db.prepare('INSERT OR REPLACE INTO adr_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
const adrOf = (s: Session): AdrDevice => ({ dr: 5, txPowerIndex: 1, nbTrans: 1, packed: Array.from({ length: 40 }, (_, k) => (k % 2 ? -7.5 : s.fCntUpNext - 20 + k / 2)) });
const fifth = (list: readonly Session[]): Session[] => list.filter((_, k) => k % 5 === 0);

const variants: [string, Commit][] = [
  ['per-row', perRow(store.db)],
  ['store', (s, a) => store.commitUplinks(s, [], a)],
  ['json', json(store.db)],
  ['values', valuesVariant(store.db)],
  ['floor', floor(store.db)],
  [
    'store + ADR rows per device (main)',
    store.db.transaction((list: readonly Session[], applied: Applied) => {
      store.commitUplinks(list, [], applied);
      for (const s of fifth(list)) {
        const d = adrOf(s);
        adrPut.run(s.devEui, 1, d.dr, d.txPowerIndex, d.nbTrans, '', 0, encodePackedHistory(d.packed));
      }
    }),
  ],
  [
    'store + ADR log',
    store.db.transaction((list: readonly Session[], applied: Applied) => {
      store.commitUplinks(list, [], applied);
      adrStore.write(fifth(list).map((s) => [s.devEui, adrOf(s), 1] as const));
    }),
  ],
  ...(process.env['EXPLORE'] ? ([['sessions-only', sessionsOnly(store.db)], ['applied-only', appliedOnly(store.db)], ['append', appendLog(store.db)]] as [string, Commit][]) : []),
];

let seed = 12345;
const rand = (n: number): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // 32-bit LCG (a float product loses the low bits)
  return (seed >>> 8) % n;
};
let entry = 0;
let logId = 0;
/** `size` distinct sessions with their next FCnt and MIC, and one applied row each. */
function batch(size: number): { list: Session[]; applied: Applied } {
  const picked = new Set<Session>();
  while (picked.size < size) picked.add(sessions[rand(N)] as Session);
  const list = [...picked];
  const rows: AppliedUplink[] = [];
  for (const s of list) {
    s.fCntUpNext++;
    s.lastMic = (rand(0x7fffffff) >>> 0).toString(16).padStart(8, '0');
    rows.push({ devEui: s.devEui, fCnt: s.fCntUpNext - 1, logId: ++logId, entry: ++entry });
  }
  // The journal's cursor trails by a few batches' entries.
  return { list, applied: { rows, pruneThrough: Math.max(0, entry - 4 * size) } };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

console.log(`${cpus()[0]?.model ?? '?'} ×${cpus().length}, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; ${N} sessions, ${BATCHES} batches per size and variant, interleaved; file on ${dir}`);
console.log('');
console.log('| sessions per batch | variant | wall µs per batch, median / mean / max | CPU µs per batch | CPU µs per session row |');
console.log('|---|---|---|---|---|');
for (const size of SIZES) {
  const wall = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  const cpu = new Map<string, number>(variants.map(([n]) => [n, 0]));
  for (let b = 0; b < BATCHES + 3; b++) {
    for (const [name, commit] of variants) {
      const { list, applied } = batch(size);
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      commit(list, applied);
      const t1 = process.hrtime.bigint();
      const c1 = process.cpuUsage(c0);
      if (b < 3) continue; // warm-up: statements prepared, pages cached
      (wall.get(name) as number[]).push(Number(t1 - t0) / 1000);
      cpu.set(name, (cpu.get(name) as number) + c1.user + c1.system);
    }
  }
  for (const [name] of variants) {
    const w = wall.get(name) as number[];
    const c = (cpu.get(name) as number) / BATCHES;
    const mean = w.reduce((x, y) => x + y, 0) / w.length;
    console.log(`| ${size} | ${name} | ${median(w).toFixed(0)} / ${mean.toFixed(0)} / ${Math.max(...w).toFixed(0)} | ${c.toFixed(0)} | ${name === 'floor' ? '—' : (c / size).toFixed(2)} |`);
  }
}
const l0 = process.hrtime.bigint();
const loaded = store.loadSessions().length;
const loadMs = Number(process.hrtime.bigint() - l0) / 1e6;
const counterBytes = store.db.prepare('SELECT coalesce(sum(length(rows)), 0) FROM session_counters').pluck().get() as number;
const f0 = process.hrtime.bigint();
store.foldCounters();
const foldMs = Number(process.hrtime.bigint() - f0) / 1e6;
console.log('');
console.log(`\`store\`: ${store.compactions} compactions of session_counters during the run; at the end ${(counterBytes / 1024).toFixed(0)} KiB of entries, loadSessions of ${loaded} sessions ${loadMs.toFixed(1)} ms, foldCounters (a clean stop) ${foldMs.toFixed(1)} ms.`);
console.log(`load after: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
store.close();

// WAL bytes a batch writes (what the commit's fsync covers, and what an SD card wears on): main's
// per-row statements against this store, each on a file of its own without checkpoints.
const walOf = (name: string, commit: (st: SessionStore, list: Session[], applied: Applied) => void): number => {
  const path = join(dir, `wal-${name}.sqlite`);
  const st = new SessionStore(path);
  const own = Array.from({ length: N }, (_, i) => abpSession(i, { lastMic: '00000000' }));
  st.putSessions(own);
  st.db.pragma('wal_autocheckpoint = 0');
  st.db.pragma('wal_checkpoint(TRUNCATE)');
  seed = 999;
  for (let b = 0; b < 50; b++) {
    const picked = new Set<Session>();
    while (picked.size < 200) picked.add(own[rand(N)] as Session);
    const list = [...picked];
    for (const s of list) s.fCntUpNext++;
    commit(st, list, { rows: list.map((s) => ({ devEui: s.devEui, fCnt: s.fCntUpNext - 1, logId: ++logId, entry: ++entry })), pruneThrough: Math.max(0, entry - 800) });
  }
  const bytes = statSync(`${path}-wal`).size;
  st.close();
  return bytes / 50;
};
const perRowWal = walOf('per-row', (st, list, applied) => perRow(st.db)(list, applied));
const storeWal = walOf('store', (st, list, applied) => st.commitUplinks(list, [], applied));
console.log(`WAL written per 200-session batch (50 batches, no checkpoint): per-row ${(perRowWal / 1024).toFixed(0)} KiB, store ${(storeWal / 1024).toFixed(0)} KiB.`);
rmSync(dir, { recursive: true, force: true });
