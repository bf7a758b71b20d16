// The session store's batch statements on a real SQLite file: S6's applied rows (one blob per
// batch) and what a second connection and a reopened file read back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { packApplied, unpackApplied } from './applied-batch.ts';
import { SessionStore, type AppliedUplink, type Session } from './session-store.ts';
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
