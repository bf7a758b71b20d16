import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import type { SimUplink } from '../frames.ts';
import { pushDataDatagram, rxpkOf, rxpkParts } from './udp-forwarder.ts';

describe('PUSH_DATA datagrams', () => {
  it('are byte for byte what the lorawan/ UDP codec encodes, and decode back', () => {
    fc.assert(
      fc.property(
        fc.record({
          timeMs: fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
          sf: fc.integer({ min: 7, max: 12 }),
          freq: fc.constantFrom(868_100_000, 868_300_000, 868_500_000, 867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000),
          chan: fc.integer({ min: 0, max: 7 }),
          rfch: fc.integer({ min: 0, max: 1 }),
          phy: fc.uint8Array({ minLength: 12, maxLength: 64 }),
          tmst: fc.integer({ min: 0, max: 0xffffffff }),
          rssi: fc.integer({ min: -139, max: -20 }),
          snr: fc.integer({ min: -80, max: 54 }).map((x) => x / 4),
          token: fc.integer({ min: 0, max: 0xffff }),
          eui: fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex')),
        }),
        (a) => {
          const frame = {
            timeMs: a.timeMs,
            spreadingFactor: a.sf,
            frequencyHz: a.freq,
            channel: a.chan,
            rfChain: a.rfch,
            phyPayload: Buffer.from(a.phy),
          } as unknown as SimUplink;
          const r = { gatewayIndex: 0, gatewayId: a.eui, rssi: a.rssi, snr: a.snr, tmst: a.tmst, uplinkId: 1, nsTimeMs: a.timeMs };
          const fast = pushDataDatagram(frame, r, a.token, rxpkParts(frame));
          const reference = encodeUdpPacket({ type: 'PUSH_DATA', version: 2, token: a.token, gatewayEui: a.eui, rxpk: [rxpkOf(frame, r)], stat: null, rejected: [] });
          expect(fast.equals(reference)).toBe(true);
          const back = decodeUdpPacket(fast);
          expect(back.ok && back.packet.type === 'PUSH_DATA' && back.packet.rxpk[0]?.tmst).toBe(a.tmst);
          expect(rxpkOf(frame, r).time).toBe(`${new Date(a.timeMs).toISOString().slice(0, 23)}000Z`);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
