import { describe, expect, it } from 'vitest';
import { decodeUdpPacket } from '../../lorawan/udp/codec.ts';
import { AnswerTimes, ConcentratorClock, stampTmst, TMST_PLACEHOLDER, tmstOffset } from './answer-times.ts';
import { pushDataFor } from './datagrams.ts';

describe('bench/edge-ns answer times', () => {
  it('stamps the tmst of a pre-built PUSH_DATA in place, and the forwarder JSON still parses', () => {
    const d = pushDataFor('0016c001f15e0001', Buffer.from('40f17dbe4900020001954378762b11ff0d', 'hex'), TMST_PLACEHOLDER, Date.UTC(2026, 0, 1));
    const off = tmstOffset(d);
    stampTmst(d, off, 3_512_348_611);
    const p = decodeUdpPacket(d);
    expect(p.ok && p.packet.type === 'PUSH_DATA' && p.packet.rxpk[0]?.tmst).toBe(3_512_348_611);
    expect(() => stampTmst(d, off, 12)).toThrow(/ten digits/);
  });

  it('runs the counter in real time with ten digits', () => {
    const c = new ConcentratorClock(0, 1_500_000_000);
    expect(String(c.now())).toHaveLength(10);
    expect(new ConcentratorClock(performance.now() - 2000).now() - 1_500_000_000).toBeGreaterThanOrEqual(2_000_000);
  });

  it('matches PULL_RESPs to their uplinks by window, and counts what got none', () => {
    const a = new AnswerTimes();
    a.sentAt('ack', 1_600_000_000, 10);
    a.sentAt('ack', 1_600_500_000, 20);
    a.sentAt('join', 1_700_000_000, 30);
    a.sentAt('ack', 1_800_000_000, 40);
    expect(a.resp(1_601_000_000, 25)).toBe(true); // RX1 of the first ACK
    expect(a.resp(1_602_500_000, 60)).toBe(true); // RX2 of the second
    expect(a.resp(1_705_000_000, 80)).toBe(true); // join-accept RX1
    expect(a.resp(1_999_000_000, 90)).toBe(false);
    expect(a.summary('ack')).toMatchObject({ sent: 3, answered: 2, rx1: 1, rx2: 1, maxMs: 40 });
    expect(a.summary('join')).toMatchObject({ sent: 1, answered: 1, rx1: 1, p50Ms: 50 });
  });

  it('counts a frame heard by several gateways once, answered through any of them', () => {
    const a = new AnswerTimes();
    // Uplink 7 heard by gateways 0 and 1 (their own counters), sent at 10 and 14; uplink 8 by 1 and 2.
    a.sentAt('ack', 1_600_000_000, 10, { id: 7, gateway: 0 });
    a.sentAt('ack', 1_601_000_003, 14, { id: 7, gateway: 1 });
    a.sentAt('ack', 1_700_000_000, 20, { id: 8, gateway: 1 });
    a.sentAt('ack', 1_701_000_003, 21, { id: 8, gateway: 2 });
    expect(a.resp(1_602_000_003, 50, 1)).toBe(true); // uplink 7 in RX1 through gateway 1: timed from its first copy
    expect(a.resp(1_601_000_000, 60, 0)).toBe(false); // a second answer for it matches nothing
    expect(a.resp(1_701_000_000, 70, 0)).toBe(false); // gateway 0 did not hear uplink 8
    expect(a.summary('ack')).toMatchObject({ sent: 2, answered: 1, rx1: 1, maxMs: 40 });
  });
});
