import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECORD_WIRE } from '../pipeline/record-wire.ts';
import type { UplinkRecord } from '../pipeline/record.ts';
import { TOO_DEEP, writeCbor } from './cbor-writer.ts';
import { nestsDeeperThan } from './depth.ts';

// The durable log's cbor-x options (log.ts): the oracle for every byte.
const cborX = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true, pack: false });
const oracle = (v: unknown): Buffer => Buffer.from(cborX.encode(v));

const bytes = (v: unknown, max = 64): Buffer => {
  const out = writeCbor(v, max);
  if (out === undefined || out === TOO_DEEP) throw new Error(`not written: ${String(out)}`);
  return Buffer.from(out);
};

const scalar = fc.oneof(
  fc.integer({ min: -0x1_0000_0001, max: 0x1_0000_0001 }),
  fc.constantFrom(0, -0, 23, 24, 255, 256, 65535, 65536, -24, -25, -256, -257, -65536, -65537, 2 ** 31, -(2 ** 31), 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 1.5, -1.5, NaN, Infinity, -Infinity, 1793491200000, 868300000, 7.5, 94.4),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ maxLength: 300 }),
  fc.constantFrom('', 'a'.repeat(23), 'a'.repeat(24), 'é'.repeat(12), 'é'.repeat(63), '\ud800', 'x\udc00y', '😀'.repeat(20), 'ü'.repeat(64), 'a'.repeat(70000)),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 40 }),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('v'), { maxLength: 30 }), fc.dictionary(fc.string({ maxLength: 12 }), tie('v'), { maxKeys: 12 }).map((d) => ({ ...d }))),
})).v;

describe('writeCbor', () => {
  it('writes exactly the bytes cbor-x writes with the log options (property, fixed seed)', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(bytes(v, 256).equals(oracle(v))).toBe(true);
      }),
      { seed: 20261207, numRuns: 1000 },
    );
  });

  it('writes a pipeline record as cbor-x does, many in a row (chunks move on, earlier views stay intact)', () => {
    const rec: UplinkRecord = {
      v: 1, kind: 'up', src: 'ns', id: '6f6b2db8-e2b4-5aba-b792-7b293a44845c', time: 1793491200000, rxAt: 1796652805296.25, devEui: 'a840410000000000',
      devAddr: '27000000', fCnt: 70_000, fPort: 3, dr: 5, adr: true, confirmed: false, payload: Buffer.from('0102030405', 'hex'),
      gateways: [{ id: '0016c001f15e0001', rssi: -80, snr: 7.5 }], device: { name: 'df703-0000', tags: { district: 'd0' }, model: 'dingtek/df703', category: 'bin-fill' },
      frequency: 868300000, sf: 7, bw: 125000, region: 'eu868',
      decoded: { model: 'dingtek/df703', readings: [{ values: { distance_mm: 300, fill_pct: 94.4, alarm_full: false } }], warnings: [], errors: [], by: 'codec' },
    };
    const views: { out: Uint8Array; want: Buffer }[] = [];
    for (let i = 0; i < 5_000; i++) {
      const r = { ...rec, fCnt: i, payload: Buffer.alloc(i % 300, i & 0xff) };
      const wire = RECORD_WIRE.encode(r);
      const out = writeCbor(wire, 64);
      if (out === undefined || out === TOO_DEEP) throw new Error('not written');
      views.push({ out, want: oracle(wire) });
    }
    for (const { out, want } of views) expect(Buffer.from(out).equals(want)).toBe(true);
  });

  it('says TOO_DEEP exactly where the depth walk does, and leaves what it does not write to cbor-x', () => {
    const nest = (n: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < n; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    for (const n of [1, 2, 10, 64, 65, 200]) {
      for (const max of [1, 9, 10, 64, 200]) {
        const out = writeCbor(nest(n), max);
        expect(out === TOO_DEEP).toBe(nestsDeeperThan(nest(n), max));
      }
    }
    expect(writeCbor(new Map([[1, 2]]), 64)).toBeUndefined();
    expect(writeCbor([new Date(0)], 64)).toBeUndefined();
    expect(writeCbor({ a: new Float32Array(2) }, 64)).toBeUndefined();
    expect(writeCbor(Object.create(null), 64)).toBeUndefined();
    expect(writeCbor([1n], 64)).toBeUndefined();
    expect(writeCbor([1], 100_000)).toBeUndefined(); // too deep a limit to recurse: the walk decides
    // after a refusal the next value is written from a clean start
    expect(bytes(['x', 1]).equals(oracle(['x', 1]))).toBe(true);
  });
});
