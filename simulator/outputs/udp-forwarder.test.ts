import { createSocket } from 'node:dgram';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import type { SimUplink } from '../frames.ts';
import type { OutputHost } from './output.ts';
import { pushDataDatagram, rxpkOf, rxpkParts, UdpForwarderOutput } from './udp-forwarder.ts';

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

/**
 * A real UDP network-server stand-in that stays silent to the first `silentFor` copies of every
 * PUSH_DATA (a gateway that is down, then back) and PUSH_ACKs the later ones.
 */
async function silentServer(silentFor: number) {
  const socket = createSocket('udp4');
  const copies = new Map<string, { n: number; bytes: Buffer[] }>();
  socket.on('message', (msg, from) => {
    const d = decodeUdpPacket(msg);
    if (!d.ok) return;
    const p = d.packet;
    if (p.type === 'PULL_DATA') socket.send(encodeUdpPacket({ type: 'PULL_ACK', version: 2, token: p.token }), from.port, from.address);
    if (p.type !== 'PUSH_DATA') return;
    const k = `${p.gatewayEui}/${p.token}`;
    const c = copies.get(k) ?? { n: 0, bytes: [] };
    c.n++;
    c.bytes.push(Buffer.from(msg));
    copies.set(k, c);
    if (c.n > silentFor) socket.send(encodeUdpPacket({ type: 'PUSH_ACK', version: 2, token: p.token }), from.port, from.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, copies, close: () => new Promise<void>((r) => socket.close(() => r())) };
}

const host: OutputHost = {
  gateways: [
    { id: '0016c001f1500001', lat: 47.3, lon: 5.0 },
    { id: '0016c001f1500002', lat: 47.3, lon: 5.1 },
  ],
  chirpstack: undefined as unknown as OutputHost['chirpstack'],
  simNow: () => Date.now(),
  downlink: () => {},
  warn: () => {},
};

function frame(i: number): SimUplink {
  return {
    timeMs: 1_800_000_000_000 + i,
    spreadingFactor: 7,
    frequencyHz: 868_100_000,
    channel: 0,
    rfChain: 0,
    phyPayload: Buffer.from([0x40, 1, 2, 3, 4, 0, i & 0xff, 0, 1, 9, 9, 9, 9, 9]),
    receptions: [
      { gatewayIndex: 0, gatewayId: '0016c001f1500001', rssi: -80, snr: 7, tmst: 1000 + i, uplinkId: 1, nsTimeMs: 0 },
      { gatewayIndex: 1, gatewayId: '0016c001f1500002', rssi: -90, snr: 3, tmst: 2000 + i, uplinkId: 2, nsTimeMs: 0 },
    ],
  } as unknown as SimUplink;
}

describe('UDP forwarder resend (--udp-resend)', () => {
  it('keeps each PUSH_DATA until its PUSH_ACK and sends it again byte for byte, same token', async () => {
    const server = await silentServer(2);
    const out = new UdpForwarderOutput({ host: '127.0.0.1', port: server.port, keepaliveMs: 60_000, statIntervalMs: 0, ackTimeoutMs: 200, resendMs: 20 });
    try {
      await out.start(host);
      for (let i = 0; i < 10; i++) await out.uplink(frame(i));
      await out.drain(10_000);
      const c = out.counters();
      expect(c['pushData']).toBe(20);
      expect(c['pushAck']).toBe(20);
      expect(c['pushAckMissing']).toBe(0);
      expect(c['pushResent']).toBe(40);
      expect(c['pushResendGaveUp']).toBe(0);
      expect(server.copies.size).toBe(20);
      for (const { n, bytes } of server.copies.values()) {
        expect(n).toBe(3);
        for (const b of bytes) expect(b.equals(bytes[0] as Buffer)).toBe(true);
      }
      expect(out.summary()).toMatch(/resend every 20 ms: 40 resent, 0 given up, 0 dropped/);
    } finally {
      await out.stop();
      await server.close();
    }
  }, 30_000);

  it('gives a PUSH_DATA up after resendRetries, and bounds what it keeps', async () => {
    const server = await silentServer(1_000);
    const out = new UdpForwarderOutput({ host: '127.0.0.1', port: server.port, keepaliveMs: 60_000, statIntervalMs: 0, ackTimeoutMs: 200, resendMs: 10, resendRetries: 3, resendQueue: 4 });
    try {
      await out.start(host);
      for (let i = 0; i < 4; i++) await out.uplink(frame(i));
      await out.drain(10_000);
      const c = out.counters();
      // 8 datagrams, 4 kept at most: the 4 oldest dropped when the later ones came, the rest given up after 1 + 3 sends.
      expect(c['pushResendDropped']).toBe(4);
      expect(c['pushResendGaveUp']).toBe(4);
      expect(c['pushAckMissing']).toBe(8);
      expect(c['pushAck']).toBe(0);
      const late = [...server.copies.values()].filter((x) => x.n === 4);
      expect(late).toHaveLength(4);
    } finally {
      await out.stop();
      await server.close();
    }
  }, 30_000);

  it('without the option sends each PUSH_DATA once and counts the missing acks (the stock forwarder)', async () => {
    const server = await silentServer(1_000);
    const out = new UdpForwarderOutput({ host: '127.0.0.1', port: server.port, keepaliveMs: 60_000, statIntervalMs: 0, ackTimeoutMs: 100 });
    try {
      await out.start(host);
      for (let i = 0; i < 5; i++) await out.uplink(frame(i));
      await out.drain(5_000);
      const c = out.counters();
      expect(c['pushAckMissing']).toBe(10);
      expect(c['pushResent']).toBe(0);
      for (const { n } of server.copies.values()) expect(n).toBe(1);
      expect(out.summary()).not.toMatch(/resend/);
    } finally {
      await out.stop();
      await server.close();
    }
  }, 30_000);
});
