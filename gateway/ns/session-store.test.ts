// The session store's batch statements on a real SQLite file: S6's applied rows (one blob per
// batch) and what a second connection and a reopened file read back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { packApplied, unpackApplied } from './applied-batch.ts';
import { mergeCounters, packCounters, unpackCounters } from './session-counters.ts';
import { enqueueDownlink, readSessions, SessionStore, type AppliedUplink, type Session } from './session-store.ts';
import { abpSession } from './testing/sessions.ts';

const dir = mkdtempSync(join(tmpdir(), 'session-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `s${++files}.sqlite`);

const session = abpSession;

describe('applied rows (S6), one blob per batch', () => {
  it('packs and unpacks exactly, joins (negative counters) and refused records (-1) included; a later row of the same key wins', () => {
    const rows: AppliedUplink[] = [
      { devEui: 'a1', fCnt: 7, logId: 100, entry: 5 },
      { devEui: 'a1', fCnt: -1 - 65535, logId: 2 ** 40, entry: 2 ** 50 },
      { devEui: 'b2', fCnt: 4294967295, logId: -1, entry: 6 },
      { devEui: 'a1', fCnt: 7, logId: 101, entry: 7 },
    ];
    const m = unpackApplied(packApplied(rows));
    expect(m && [...m]).toEqual([
      ['a1/7', 101],
      ['a1/-65536', 2 ** 40],
      ['b2/4294967295', -1],
    ]);
    expect(unpackApplied(packApplied(rows).subarray(0, 30))).toBeUndefined();
  });

  it('a batch larger than SQLite\'s variable limit, a device twice in a batch, a correction, a prune, a reopen', () => {
    const path = freshPath();
    const store = new SessionStore(path);
    const sessions = Array.from({ length: 20 }, (_, i) => session(i));
    store.putSessions(sessions);
    // 40,000 rows in one commit: more than 32,766 bound variables if each were a parameter.
    const big: AppliedUplink[] = Array.from({ length: 40_000 }, (_, k) => ({ devEui: (sessions[k % 20] as Session).devEui, fCnt: Math.floor(k / 20), logId: 1 + k, entry: 1 + k }));
    store.commitUplinks(sessions, [], { rows: big, pruneThrough: 0 });
    expect(store.appliedLogId((sessions[3] as Session).devEui, 1999)).toBe(1 + 1999 * 20 + 3);
    expect(store.appliedLogId((sessions[3] as Session).devEui, 2000)).toBeUndefined();
    // The same frame twice in a batch (a device in it twice): the later row counts.
    const d = (sessions[0] as Session).devEui;
    store.commitUplinks([], [], { rows: [{ devEui: d, fCnt: 5000, logId: 50_001, entry: 40_001 }, { devEui: d, fCnt: 5000, logId: 50_002, entry: 40_002 }], pruneThrough: 0 });
    expect(store.appliedLogId(d, 5000)).toBe(50_002);
    // fixApplied after refused records: the corrected ids win over the batch's own.
    store.fixApplied([{ devEui: d, fCnt: 5000, logId: -1, entry: 40_002 }]);
    expect(store.appliedLogId(d, 5000)).toBe(-1);
    // A newer commit of the same key (a re-joined device counting from 0 again) wins too.
    store.commitUplinks([], [], { rows: [{ devEui: d, fCnt: 0, logId: 60_000, entry: 40_010 }], pruneThrough: 0 });
    expect(store.appliedLogId(d, 0)).toBe(60_000);
    // Prune: a batch goes once the cursor has passed all its entries, not before.
    store.commitUplinks([], [], { rows: [], pruneThrough: 40_001 });
    expect(store.appliedLogId((sessions[3] as Session).devEui, 1999)).toBeUndefined();
    expect(store.appliedLogId(d, 5000)).toBe(-1);
    store.close();
    // What a second connection sees and a reopened store reads: the committed rows.
    const raw = new Database(path, { readonly: true });
    expect(raw.prepare('SELECT count(*) AS n FROM applied_batches').get()).toEqual({ n: 3 });
    raw.close();
    const again = new SessionStore(path);
    expect(again.appliedLogId(d, 5000)).toBe(-1);
    expect(again.appliedLogId(d, 0)).toBe(60_000);
    again.commitUplinks([], [], { rows: [], pruneThrough: 40_010 });
    expect(again.appliedLogId(d, 0)).toBeUndefined();
    again.close();
  });

  it('rows an older version left in applied_uplinks are still found, and pruned', () => {
    const path = freshPath();
    new SessionStore(path).close();
    const raw = new Database(path);
    raw.prepare('INSERT INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) VALUES (?, ?, ?, ?)').run('c3', 9, 77, 3);
    raw.prepare('INSERT INTO applied_uplinks (dev_eui, f_cnt, log_id, entry) VALUES (?, ?, ?, ?)').run('c3', 10, 78, 8);
    raw.close();
    const store = new SessionStore(path);
    expect(store.appliedLogId('c3', 9)).toBe(77);
    store.commitUplinks([], [], { rows: [{ devEui: 'c3', fCnt: 10, logId: 90, entry: 9 }], pruneThrough: 3 });
    expect(store.appliedLogId('c3', 9)).toBeUndefined();
    expect(store.appliedLogId('c3', 10)).toBe(90); // the newer blob before the old table's row
    store.commitUplinks([], [], { rows: [], pruneThrough: 8 });
    store.commitUplinks([], [], { rows: [], pruneThrough: 8 });
    expect(store.appliedLogId('c3', 10)).toBe(90);
    store.close();
  });
});

describe('session counters (one appended blob per batch, compacted, folded at stop)', () => {
  const state = (s: Session) => [s.devEui, s.seq, s.fCntUpNext, s.fCntDownNext, s.dr, s.adr, s.lastMic, s.awaitingAck];

  it('packs and unpacks every field exactly, up to damage', () => {
    const a = session(1, { seq: 3, fCntUpNext: 2 ** 32, fCntDownNext: 17, dr: 15, adr: false, lastMic: 'deadbeef', awaitingAck: 2 ** 45 });
    const b = session(2, { lastMic: '' });
    const blob = packCounters([a, b]);
    expect(unpackCounters(blob).entries.map(([d, c]) => [d, c.seq, c.fCntUpNext, c.fCntDownNext, c.dr, c.adr, c.lastMic, c.awaitingAck])).toEqual([state(a), state(b)]);
    const cut = unpackCounters(blob.subarray(0, blob.length - 3));
    expect(cut.complete).toBe(false);
    expect(cut.entries.length).toBe(1);
    // A merge keeps each device's latest entry only.
    const m = unpackCounters(mergeCounters([blob, packCounters([{ ...a, fCntUpNext: 2 ** 32 + 1 }])])).entries;
    expect(m.map(([d, c]) => [d, c.fCntUpNext])).toEqual([
      [a.devEui, 2 ** 32 + 1],
      [b.devEui, 0],
    ]);
  });

  it('what a batch commits is what a reopened store and a read-only connection load; joins and new seqs override older entries', () => {
    const path = freshPath();
    const store = new SessionStore(path);
    const sessions = Array.from({ length: 5 }, (_, i) => session(i));
    store.putSessions(sessions);
    const [s0, s1, s2, s3] = sessions as [Session, Session, Session, Session];
    s0.fCntUpNext = 10;
    s0.lastMic = '0a0b0c0d';
    s1.fCntUpNext = 4;
    s1.fCntDownNext = 9;
    s1.awaitingAck = 12;
    s2.fCntUpNext = 8;
    store.commitUplinks([s0, s2], [{ session: s1, queued: undefined }]);
    // The same device twice in a batch: the old session's uplink, then the one that replaced it
    // (an accept_zero restart: seq moves on, counters from 0) — the later entry counts.
    const s2b = { ...s2, seq: 2, fCntUpNext: 1, lastMic: '01020304' };
    s3.fCntUpNext = 50;
    store.db.transaction(() => {
      store.commitUplinks([s2, s2b, s3]);
      // A re-join in the same transaction, after the counters (as NetworkServer.commit does):
      // its row has a higher seq than the entry of the session it replaced.
      store.commitJoins([{ session: session(3, { seq: 2, devAddr: 0x260000aa }), devNonce: 7 }], { nextJoinNonce: 1, nextNwkAddr: 1 });
    })();
    store.close();
    const expected = [
      state(s0),
      state(s1),
      state(s2b),
      state(session(3, { seq: 2, devAddr: 0x260000aa })),
      state(session(4)),
    ];
    const again = new SessionStore(path);
    expect(again.loadSessions().map(state)).toEqual(expected);
    expect(again.loadSessions().find((x) => x.devEui === s3.devEui)?.devAddr).toBe(0x260000aa);
    const raw = new Database(path, { readonly: true });
    expect(readSessions(raw).map(state)).toEqual(expected);
    raw.close();
    // A new batch for the re-joined device counts again (seq 2 = its row's).
    const s3b = again.loadSessions()[3] as Session;
    s3b.fCntUpNext = 3;
    again.commitUplinks([s3b]);
    expect(again.loadSessions()[3]?.fCntUpNext).toBe(3);
    again.close();
  });

  it('compaction and the fold at stop keep exactly the latest state of every device (random batches against a model)', () => {
    const path = freshPath();
    const store = new SessionStore(path, { counterCompactMinBytes: 4096 });
    const n = 40;
    const model = Array.from({ length: n }, (_, i) => session(i));
    store.putSessions(model);
    let seed = 7;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // 32-bit LCG (a float product loses the low bits)
      return (seed >>> 8) % k;
    };
    for (let b = 0; b < 150; b++) {
      const batch: Session[] = [];
      for (let k = 1 + rand(12); k > 0; k--) {
        const s = model[rand(n)] as Session;
        s.fCntUpNext += 1 + rand(3);
        s.fCntDownNext += rand(2);
        s.dr = rand(6);
        s.adr = rand(2) === 1;
        s.lastMic = rand(0xffffff).toString(16);
        s.awaitingAck = rand(3);
        batch.push(s);
      }
      store.commitUplinks(batch, [], { rows: [], pruneThrough: 0 });
    }
    expect(store.compactions).toBeGreaterThan(2);
    const rows = (): number => (store.db.prepare('SELECT count(*) AS n FROM session_counters').get() as { n: number }).n;
    expect(rows()).toBeLessThan(150);
    expect(store.loadSessions().map(state)).toEqual(model.map(state));
    // Device 0 re-joins: its new row (seq 2) must survive the fold of its older entries.
    model[0] = session(0, { seq: 2, devAddr: 0x260000bb });
    store.commitJoins([{ session: model[0], devNonce: 1 }], { nextJoinNonce: 1, nextNwkAddr: 1 });
    store.foldCounters();
    expect(rows()).toBe(0);
    expect(store.loadSessions().map(state)).toEqual(model.map(state));
    // Folded means in the sessions rows themselves, as a version without the table reads them.
    expect((store.db.prepare('SELECT f_cnt_up_next AS f FROM sessions ORDER BY dev_eui').all() as { f: number }[]).map((r) => r.f)).toEqual(model.map((s) => s.fCntUpNext));
    store.close();
  });
});

describe('the downlink queue: only the daemon recovers it', () => {
  it('opening the store (as the downlink CLI does) leaves a sent row alone; requeueUnacknowledged (the daemon at start) puts it back', () => {
    const path = freshPath();
    const daemon = new SessionStore(path);
    const a = daemon.enqueue('0000000000000a01', 10, Buffer.of(0xaa), false);
    daemon.setDownlinkState(a, 'sent', 1, '');
    const b = enqueueDownlink(path, '0000000000000a01', 11, Buffer.of(0xbb), false);
    const other = new SessionStore(path);
    other.close();
    expect([daemon.downlink(a)?.state, daemon.downlink(b)?.state]).toEqual(['sent', 'pending']);
    expect(daemon.requeueUnacknowledged()).toBe(1);
    expect(daemon.downlink(a)).toMatchObject({ state: 'pending', attempts: 1 });
    daemon.close();
  });
});
