import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AesKeyTableView } from '../../lorawan/aes-key-table.ts';
import { AesKey } from '../../lorawan/aes.ts';
import { buildDataFrame, decryptDataFrame } from '../../lorawan/data-frame.ts';
import { verifyDataMic } from '../../lorawan/mic.ts';
import { parsePhyPayload, type DataFrame } from '../../lorawan/phy-payload.ts';
import { SessionKeyTable, type KeyedSession } from './session-key-table.ts';

const session = (devEui: string, n: number, a: number): KeyedSession => ({ devEui, nwkSKey: Buffer.alloc(16, n), appSKey: Buffer.alloc(16, a) });

/** An uplink of `s` built with node:crypto keys (AesKey), parsed. */
function uplink(s: KeyedSession, payload: Buffer, fCnt = 7): DataFrame {
  const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26011bda, fCnt, fPort: 2, payload }, { nwkSKey: new AesKey(s.nwkSKey), appSKey: new AesKey(s.appSKey) });
  const p = parsePhyPayload(phy);
  if (!p.ok || p.frame.kind !== 'data') throw new Error('not a data frame');
  return p.frame;
}

describe('SessionKeyTable', () => {
  it("a re-joined session's slot carries the new keys (same slot, from the table, not the fallback); the replaced session still opens its own frames", () => {
    const t = new SessionKeyTable();
    const before = session('70b3d5e75e000001', 1, 2);
    t.put(session('70b3d5e75e000000', 5, 6));
    t.put(before);
    const old = uplink(before, Buffer.from('old'));
    expect(verifyDataMic(old, t.nwkSKey(before), 7)).toBe(true);
    const after = session(before.devEui, 3, 4); // the re-join: new key Buffers
    t.put(after);
    expect(t.size).toBe(2);
    const fresh = uplink(after, Buffer.from('new session'));
    const lookups = t.unslottedLookups;
    const nk = t.nwkSKey(after);
    expect(nk).toBeInstanceOf(AesKeyTableView);
    expect(verifyDataMic(fresh, nk, 7)).toBe(true);
    expect(verifyDataMic(old, t.nwkSKey(after), 7)).toBe(false);
    const keys = t.keys(after);
    expect(keys.appSKey).toBeInstanceOf(AesKeyTableView);
    expect(decryptDataFrame(fresh, keys, 7).payload.toString()).toBe('new session');
    expect(t.unslottedLookups).toBe(lookups);
    // The replaced session (an answer still being built for it) gets its own keys, from the small cache.
    expect(verifyDataMic(old, t.nwkSKey(before), 7)).toBe(true);
    expect(decryptDataFrame(old, t.keys(before), 7).payload.toString()).toBe('old');
    expect(t.unslottedLookups).toBe(lookups + 2);
  });

  it('a removed session frees and zeroes its slot, which the next device reuses', () => {
    const t = new SessionKeyTable();
    const a = session('0000000000000001', 1, 2);
    const b = session('0000000000000002', 3, 4);
    t.put(a);
    t.put(b);
    t.remove(a.devEui);
    expect(t.size).toBe(1);
    const lookups = t.unslottedLookups;
    t.nwkSKey(a); // no slot any more: the fallback
    expect(t.unslottedLookups).toBe(lookups + 1);
    const c = session('0000000000000003', 7, 8);
    t.put(c);
    const bytes = t.byteLength;
    expect(verifyDataMic(uplink(c, Buffer.of(1)), t.nwkSKey(c), 7)).toBe(true);
    expect(verifyDataMic(uplink(b, Buffer.of(1)), t.nwkSKey(b), 7)).toBe(true);
    expect(t.byteLength).toBe(bytes); // slot 0 reused, nothing grown
    // keys never show when the table is printed (a logger's JSON, util.inspect)
    expect(`${inspect(t, { depth: 9 })}${JSON.stringify({ t })}`).not.toMatch(/0707|07, 07|[0-9a-f]{16}/);
    t.wipe();
    expect(t.size).toBe(0);
    expect(t.nwkSKey(b)).not.toBeInstanceOf(AesKeyTableView);
  });

  it('with many sessions put, re-put and removed in any order, every session opens its frames from its slot (fixed seed)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ dev: fc.integer({ min: 0, max: 40 }), op: fc.constantFrom('put', 'put', 'remove'), k: fc.integer({ min: 0, max: 255 }) }), { maxLength: 120 }), (ops) => {
        const t = new SessionKeyTable();
        const live = new Map<string, KeyedSession>();
        for (const o of ops) {
          const devEui = o.dev.toString(16).padStart(16, '0');
          if (o.op === 'remove') {
            t.remove(devEui);
            live.delete(devEui);
          } else {
            const s = session(devEui, o.k, 255 - o.k);
            t.put(s);
            live.set(devEui, s);
          }
        }
        const lookups = t.unslottedLookups;
        for (const s of live.values()) {
          const f = uplink(s, Buffer.from(s.devEui));
          expect(verifyDataMic(f, t.nwkSKey(s), 7)).toBe(true);
          expect(decryptDataFrame(f, t.keys(s), 7).payload.toString()).toBe(s.devEui);
        }
        expect(t.unslottedLookups).toBe(lookups);
        expect(t.size).toBe(live.size);
      }),
      { seed: 1014, numRuns: 100 },
    );
  });
});
