// ADR state in SQLite: written and read back per device, rows of an earlier session or that do
// not parse are dropped at load, and the history is bounded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AdrEngine, type AdrDevice } from './adr.ts';
import { AdrStore, decodeHistory, encodeHistory, encodePackedHistory, MAX_HISTORY } from './adr-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'adr-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('AdrStore', () => {
  it('keeps what the engine changed and gives it back for the same session only', () => {
    const db = new Database(join(dir, 'a.sqlite'));
    const store = new AdrStore(db);
    const e = new AdrEngine({ historyLength: 3, installationMarginDb: 10 });
    for (let i = 0; i < 3; i++) e.observe('d1', { fCnt: i, maxSnr: 20.25, dr: 5 }, 0x00ff);
    e.observe('d2', { fCnt: 7, maxSnr: -3.5, dr: 0 }, 0x0007);
    e.answered('d1', { powerAck: true, dataRateAck: true, channelMaskAck: false });
    const seq: Record<string, number> = { d1: 4, d2: 1 };
    store.write(e.takeDirty().map(([d, s]) => [d, s, seq[d] ?? 0]));
    expect(e.takeDirty()).toEqual([]);
    const loaded = store.load((d) => ({ d1: 4, d2: 2 })[d]);
    expect([...loaded.keys()]).toEqual(['d1']); // d2's row belongs to session 1, the device is on 2
    expect(loaded.get('d1')).toEqual({ dr: 5, txPowerIndex: 0, nbTrans: 1, history: [], maskRefused: true });
    expect(store.load(() => 1).size).toBe(0); // d2's stale row was deleted by the first load
    e.observe('d1', { fCnt: 9, maxSnr: 1.1, dr: 5 }, 0x00ff);
    e.forget('d2');
    // One more SNR is not due yet (HISTORY_WRITE_EVERY); the forgotten device is.
    expect(e.takeDirty().map(([d, s]) => [d, s])).toEqual([['d2', undefined]]);
    store.write(e.takeDirty(true).map(([d, s]) => [d, s, 4]));
    expect(store.load(() => 4).get('d1')?.history).toEqual([{ fCnt: 9, maxSnr: 1 }]);
    store.fold(); // into the rows, where a damaged one can be made
    db.prepare(`UPDATE adr_state SET history = x'0102'`).run();
    expect(store.load(() => 4).size).toBe(0); // a history that does not parse: defaults
    db.close();
  });

  it('history blobs round-trip to 0.25 dB, at most MAX_HISTORY entries (seeded)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ fCnt: fc.integer({ min: 0, max: 0xffffffff }), maxSnr: fc.double({ min: -30, max: 30, noNaN: true }) }), { maxLength: 80 }), (h) => {
        const back = decodeHistory(encodeHistory(h)) ?? [];
        expect(back.length).toBe(Math.min(h.length, MAX_HISTORY));
        const tail = h.slice(-MAX_HISTORY);
        back.forEach((u, i) => {
          expect(u.fCnt).toBe(tail[i]?.fCnt);
          expect(Math.abs(u.maxSnr - (tail[i]?.maxSnr ?? 0))).toBeLessThanOrEqual(0.125);
        });
      }),
      { seed: 1040, numRuns: 200 },
    );
    expect(decodeHistory(Buffer.alloc(7))).toBeUndefined();
    expect(decodeHistory(Buffer.alloc((MAX_HISTORY + 1) * 6))).toBeUndefined();
  });
});

describe('AdrStore log (one appended blob per batch, compacted, folded at stop)', () => {
  const dev = (i: number, over: Partial<AdrDevice> = {}): AdrDevice => ({ dr: i % 6, txPowerIndex: i % 8, nbTrans: 1 + (i % 3), packed: [i, -5 + (i % 7), i + 1, 3.25], ...over });

  it('the latest change of each device wins across batches, compactions, a reopen and the fold; deletions stay deleted', () => {
    const path = join(dir, 'log.sqlite');
    let db = new Database(path);
    let store = new AdrStore(db, 2048);
    const model = new Map<string, AdrDevice | undefined>();
    let seed = 11;
    const rand = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // 32-bit LCG (a float product loses the low bits)
      return (seed >>> 8) % k;
    };
    for (let b = 0; b < 120; b++) {
      const changes: [string, AdrDevice | undefined, number][] = [];
      for (let k = 1 + rand(6); k > 0; k--) {
        const d = `d${rand(30)}`;
        const state = rand(8) === 0 ? undefined : dev(rand(1000), rand(4) === 0 ? { asked: { dr: 3, txPowerIndex: 1, nbTrans: 2 }, maskRefused: true } : {});
        model.set(d, state);
        changes.push([d, state, 1]);
      }
      db.transaction(() => store.write(changes))();
    }
    const rows = (): number => (db.prepare('SELECT count(*) AS n FROM adr_log').get() as { n: number }).n;

    expect(rows()).toBeLessThan(120); // compacted on the way
    const expected = new Map([...model].filter(([, s]) => s !== undefined).map(([d, s]) => [d, { ...(s as AdrDevice), history: decodeHistory(encodePackedHistory((s as AdrDevice).packed)) }]));
    const strip = (m: Map<string, unknown>) => new Map([...m].map(([d, s]) => [d, s]));
    const asLoaded = (m: typeof expected) =>
      new Map(
        [...m].map(([d, s]) => {
          const { packed: _p, ...rest } = s;
          return [d, rest];
        }),
      );
    expect(strip(store.load(() => 1))).toEqual(asLoaded(expected));
    db.close();
    db = new Database(path);
    store = new AdrStore(db, 2048);
    expect(strip(store.load(() => 1))).toEqual(asLoaded(expected));
    store.fold();
    expect(rows()).toBe(0);
    expect((db.prepare('SELECT count(*) AS n FROM adr_state').get() as { n: number }).n).toBe(expected.size);
    expect(strip(store.load(() => 1))).toEqual(asLoaded(expected));
    // A device of an earlier session is dropped at load, from the log too: it does not come back.
    db.transaction(() => store.write([['d-old', dev(1), 1]]))();
    expect(store.load((d) => (d === 'd-old' ? 2 : 1)).has('d-old')).toBe(false);
    expect(store.load(() => 1).has('d-old')).toBe(false);
    db.close();
  });
});
