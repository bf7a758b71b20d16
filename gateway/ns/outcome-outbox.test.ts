// The outcome outbox: rows survive a reopen, leave only when published, come back in order, and
// the table is bounded (the oldest go, counted).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { OutcomeOutbox } from './outcome-outbox.ts';

const dir = mkdtempSync(join(tmpdir(), 'outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('OutcomeOutbox', () => {
  it('keeps outcomes until published, in order, across a reopen; bounded', () => {
    const file = join(dir, 'o.sqlite');
    let db = new Database(file);
    let box = new OutcomeOutbox(db, 3);
    box.add({ kind: 'txack', queueId: 1, devEui: 'd1', fCntDown: 0, gatewayId: 'g' }, 'cmd-1', 1000);
    box.add({ kind: 'ack', queueId: 2, devEui: 'd1', fCntDown: 1, acknowledged: true }, '2', 2000);
    db.close();
    db = new Database(file);
    box = new OutcomeOutbox(db, 3);
    const rows = box.pending(10);
    expect(rows.map((r) => [r.outcome.kind, r.queueItemId, r.timeMs])).toEqual([
      ['txack', 'cmd-1', 1000],
      ['ack', '2', 2000],
    ]);
    box.published([rows[0]?.id ?? 0]);
    expect(box.pending(10).map((r) => r.queueItemId)).toEqual(['2']);
    for (let i = 0; i < 4; i++) box.add({ kind: 'codec_error', queueId: 0, devEui: 'd2', error: `e${i}` }, `c${i}`, 3000 + i);
    expect(box.size()).toBe(3);
    expect(box.dropped).toBe(2);
    expect(box.pending(10).map((r) => r.queueItemId)).toEqual(['c1', 'c2', 'c3']);
    db.prepare(`UPDATE downlink_outcomes SET body = '{' WHERE id = (SELECT MIN(id) FROM downlink_outcomes)`).run();
    expect(box.pending(10).map((r) => r.queueItemId)).toEqual(['c2', 'c3']); // a row that does not parse is dropped
    db.close();
  });
});
