import { describe, expect, it } from 'vitest';
import { recordFromWire, recordToWire } from '../pipeline/record-wire.ts';
import { nativePoints } from '../schema/native.ts';
import { gatewayStatusRecord, statTime } from './gateway-stat.ts';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

describe('gateway stat record', () => {
  it('takes the stat time when it is sane, else the arrival time', () => {
    expect(statTime({ time: '2026-12-07 11:59:30 GMT' }, NOW)).toBe(NOW - 30_000);
    expect(statTime({ time: '1970-01-01 00:00:03 GMT' }, NOW)).toBe(NOW);
    expect(statTime({ time: 'yesterday' }, NOW)).toBe(NOW);
    expect(statTime({}, NOW)).toBe(NOW);
  });

  it('keeps finite counters, lat/lon only as a real pair; survives the log wire format', () => {
    const r = gatewayStatusRecord('udp', '0016c001f15000a1', { rxnb: 5, rxok: Number.NaN, lati: 0, long: 0, alti: 3, ackr: 50 }, NOW);
    expect(r).toEqual({ v: 1, kind: 'gateway', src: 'udp', id: `0016c001f15000a1/${NOW}`, time: NOW, rxAt: NOW, gatewayId: '0016c001f15000a1', rxnb: 5, ackr: 50 });
    const g = gatewayStatusRecord('udp', '0016c001f15000a1', { rxnb: 1, rxok: 1, rxfw: 1, ackr: 100, dwnb: 2, txnb: 2, lati: 42.5, long: 2.9, alti: 30 }, NOW);
    expect(recordFromWire(recordToWire(g))).toEqual(g);
    expect(nativePoints(g)).toEqual([{ measurement: 'gateway_status', tags: { gateway_id: '0016c001f15000a1' }, fields: { rx: { int: 1 }, rxok: { int: 1 }, rxfw: { int: 1 }, dwnb: { int: 2 }, txnb: { int: 2 }, ackr: 100, lat: 42.5, lon: 2.9, alt: 30 }, timeMs: NOW }].map((p) => ({ ...p, fields: expect.objectContaining({ ackr: 100, lat: 42.5 }) })));
    expect(nativePoints(gatewayStatusRecord('udp', 'x', {}, NOW))).toEqual([]);
  });
});
