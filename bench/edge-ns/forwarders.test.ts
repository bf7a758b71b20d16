import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { decodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { TMST_PLACEHOLDER, tmstOffset } from './answer-times.ts';
import { pushDataFor } from './datagrams.ts';
import { batchPushData, drive, gatewayEuiOf, hearingGateways, isWorstCase, NB_PKT_MAX, parseForwarderModel, takeDue, VirtualForwarder, type HeardCopy } from './forwarders.ts';

const PHY = (n: number): Buffer => Buffer.from(`40f17dbe49000200${n.toString(16).padStart(2, '0')}954378762b11ff0d`, 'hex');

describe('bench/edge-ns forwarder model', () => {
  it('parses the flags, naming the flag of a bad value; the defaults are the worst case', () => {
    expect(isWorstCase(parseForwarderModel('1', '1', '1'))).toBe(true);
    expect(parseForwarderModel('50', 'auto', '2')).toEqual({ gateways: 50, batching: { mode: 'auto' }, heardBy: 2 });
    expect(parseForwarderModel('4', '8', '1').batching).toEqual({ mode: 'fixed', n: 8 });
    expect(() => parseForwarderModel('2', '1', '3')).toThrow(/^--heard-by: "3" is not an integer 1\.\.2$/);
    expect(() => parseForwarderModel('0', '1', '1')).toThrow(/^--gateways/);
    expect(() => parseForwarderModel('1', '256', '1')).toThrow(/^--rxpk-per-datagram/);
    expect(() => parseForwarderModel('1', 'lots', '1')).toThrow(/^--rxpk-per-datagram/);
  });

  it('keeps gateway 0 on the EUI the bench always used, and gives every device its home gateway and the next ones', () => {
    expect(gatewayEuiOf(0)).toBe('0016c001f15e0001');
    expect(gatewayEuiOf(49)).toBe('0016c001f15e0032');
    expect(hearingGateways(7, 50, 1)).toEqual([7]);
    expect(hearingGateways(149, 50, 3)).toEqual([49, 0, 1]);
  });

  it('fetches what was heard by now, at most max at once', () => {
    const q = [0, 1, 2, 5, 5, 9].map((dueMs) => ({ dueMs }));
    expect(takeDue(q, 0, 4.9, NB_PKT_MAX)).toBe(3);
    expect(takeDue(q, 3, 5, NB_PKT_MAX)).toBe(5);
    expect(takeDue(q, 0, 100, 2)).toBe(2);
    expect(takeDue(q, 6, 100, 2)).toBe(6);
  });

  it('puts the rxpk of several one-rxpk PUSH_DATAs into one, as lora_pkt_fwd writes it, and the gateway codec reads them all', () => {
    const eui = gatewayEuiOf(3);
    const singles = [1, 2, 3].map((n) => {
      const d = pushDataFor(eui, PHY(n), 1_500_000_000 + n, Date.UTC(2026, 0, 1) + n, n - 1);
      return d;
    });
    const b = batchPushData(0xbeef, singles);
    expect([b[1], b[2]]).toEqual([0xbe, 0xef]);
    const p = decodeUdpPacket(b);
    expect(p.ok && p.packet.type === 'PUSH_DATA').toBe(true);
    if (!p.ok || p.packet.type !== 'PUSH_DATA') return;
    expect(p.packet.gatewayEui).toBe(eui);
    expect(p.packet.rxpk.map((r) => r.tmst)).toEqual([1_500_000_001, 1_500_000_002, 1_500_000_003]);
    expect(p.packet.rxpk.map((r) => Buffer.from(r.data).toString('hex'))).toEqual([1, 2, 3].map((n) => PHY(n).toString('hex')));
    expect(p.packet.rxpk.map((r) => r.rssi)).toEqual([-90, -96, -102]);
    expect(() => batchPushData(1, [Buffer.from('02000000')])).toThrow(/not a PUSH_DATA/);
  });

  it('auto: batches what a forwarder heard while it waited for its PUSH_ACK (a real socket, a server that ACKs late)', { timeout: 30_000 }, async () => {
    // The server: PUSH_ACK 40 ms after each PUSH_DATA; it keeps what it got.
    const server = createSocket('udp4');
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const got: { rxpk: number; tmst: number[] }[] = [];
    let closed = false;
    server.on('message', (msg, from) => {
      const p = decodeUdpPacket(msg);
      if (!p.ok || p.packet.type !== 'PUSH_DATA') return;
      got.push({ rxpk: p.packet.rxpk.length, tmst: p.packet.rxpk.map((r) => r.tmst) });
      // The callback keeps a send that was still pending when the server closed (a loaded
      // machine runs the timer late) from throwing ERR_SOCKET_DGRAM_NOT_RUNNING after the test.
      setTimeout(() => {
        if (!closed) server.send(Buffer.from([2, msg[1] as number, msg[2] as number, 1]), from.port, from.address, () => undefined);
      }, 40);
    });
    const f = new VirtualForwarder(0, server.address().port, () => undefined);
    await f.open();
    // 60 frames, one every 2 ms (500/s: more than one per ACK wait).
    const queue: HeardCopy[] = Array.from({ length: 60 }, (_, k) => {
      const bytes = pushDataFor(f.eui, PHY(k), TMST_PLACEHOLDER, Date.UTC(2026, 0, 1) + k);
      return { bytes, tmstAt: tmstOffset(bytes), dueMs: 2 * k };
    });
    f.load(queue);
    const started = performance.now();
    const sent: number[] = [];
    await drive([f], { mode: 'auto' }, started, started + 20_000, (_c, tmst) => sent.push(tmst));
    f.close();
    // Every frame once, in order; fewer datagrams than frames (each waited ~40 ms for its ACK).
    expect(sent).toHaveLength(60);
    expect(f.counts.rxpk).toBe(60);
    expect(f.counts.datagrams).toBeLessThan(30);
    expect(f.counts.maxRxpk).toBeGreaterThan(2);
    const deadline = performance.now() + 10_000;
    while (got.reduce((n, g) => n + g.rxpk, 0) < 60 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    closed = true;
    server.close();
    expect(got.reduce((n, g) => n + g.rxpk, 0)).toBe(60);
    // tmst = the counter when the frame was heard: 2 ms apart, whatever datagram it went in.
    const tmsts = got.flatMap((g) => g.tmst);
    for (let k = 1; k < tmsts.length; k++) expect(Math.abs((tmsts[k] as number) - (tmsts[k - 1] as number) - 2000)).toBeLessThanOrEqual(1);
  });
});
