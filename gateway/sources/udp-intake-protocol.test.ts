/**
 * The entry batches the intake worker hands to the main thread: every rxpk the codec accepts
 * comes back with the fields the network server reads (property test, fixed seed, bounded runs).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { buildPushData } from '../../lorawan/udp/gateway.ts';
import type { Rxpk } from '../../lorawan/udp/types.ts';
import { EntryBatchWriter, NO_ENTRY, readEntryBatch } from './udp-intake-protocol.ts';

const rxpk = fc.record(
  {
    tmst: fc.integer({ min: 0, max: 0xffffffff }),
    freq: fc.double({ min: 0.001, max: 1000, noNaN: true }),
    stat: fc.constant(1),
    modu: fc.constant('LORA' as const),
    datr: fc.constantFrom('SF7BW125', 'SF12BW125', 'SF9BW500'),
    codr: fc.constantFrom('4/5', '4/6', 'x'.repeat(300), 'ü4/5', '\u20ac'),
    time: fc.constantFrom('2026-12-07T14:00:00.123456Z', ''),
    chan: fc.integer({ min: 0, max: 255 }),
    rfch: fc.integer({ min: 0, max: 255 }),
    rssi: fc.integer({ min: -140, max: 0 }),
    lsnr: fc.double({ min: -30, max: 20, noNaN: true }),
    data: fc.uint8Array({ minLength: 0, maxLength: 300 }),
  },
  { requiredKeys: ['tmst', 'freq', 'stat', 'modu', 'datr', 'data'] },
);

/** What the network server reads of an rxpk (an absent field and an unrepresentable string read as undefined). */
function seen(r: Rxpk): Record<string, unknown> {
  const text = (s: string | undefined): string | undefined => (s !== undefined && s.length <= 254 && [...s].every((c) => c.charCodeAt(0) <= 0xff) ? s : undefined);
  return { tmst: r.tmst, freq: r.freq, stat: 1, modu: r.modu, datr: r.datr, codr: text(r.codr), time: text(r.time), chan: r.chan, rfch: r.rfch, rssi: r.rssi, lsnr: r.lsnr, size: r.data.length, data: Buffer.from(r.data) };
}

describe('intake entry batches', () => {
  it('round-trip every rxpk the codec accepts (seed 20261207, 200 runs)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(rxpk, { maxLength: 4 }), fc.boolean()), { minLength: 1, maxLength: 20 }), (entries) => {
        const w = new EntryBatchWriter();
        const want: { id: number; replayed: boolean; gw: number; rxpks: Record<string, unknown>[] }[] = [];
        entries.forEach(([raw, replayed], i) => {
          // Through the real codec, as the worker gets them.
          const d = decodeUdpPacket(buildPushData({ gatewayEui: '0016c001f1500001', rxpk: raw.map((r) => ({ ...r, size: r.data.length, data: Buffer.from(r.data) })) }).bytes);
          if (!d.ok || d.packet.type !== 'PUSH_DATA') throw new Error('the codec refused a valid rxpk');
          const id = i % 3 === 2 ? NO_ENTRY : 1000 + i;
          w.entry(id, 12.5 + i, replayed, i % 7, d.packet.rxpk.length);
          for (const r of d.packet.rxpk) w.rxpk(r);
          want.push({ id, replayed, gw: i % 7, rxpks: d.packet.rxpk.map(seen) });
        });
        const taken = w.take();
        expect(taken?.count).toBe(entries.length);
        const got: typeof want = [];
        readEntryBatch(taken?.buffer as ArrayBuffer, (id, at, replayed, gw, rxpks) => {
          expect(at).toBe(12.5 + got.length);
          got.push({ id, replayed, gw, rxpks: rxpks.map((r) => ({ ...r, data: Buffer.from(r.data) })) });
        });
        expect(got).toEqual(want);
        expect(w.take()).toBeUndefined();
      }),
      { seed: 20261207, numRuns: 200 },
    );
  });
});
