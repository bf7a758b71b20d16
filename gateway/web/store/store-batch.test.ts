/**
 * The batch encoding between sink `local` and its worker: every field the store uses comes back
 * as it went in (any strings, missing optional fields, joins, status, gateway stats), the
 * readings' JSON text is exactly JSON.stringify of their values, and a record that cannot be
 * encoded goes as `skip` without disturbing the records after it (which share its strings).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ReadingValue } from '../../../codecs/api.ts';
import type { PipelineRecord, UplinkRecord } from '../../pipeline/record.ts';
import { T, uplinkRecord } from '../../schema/testing.ts';
import { decodeBatch, encodeBatch, tagsObject, type StoreUplink } from './store-batch.ts';

const value: fc.Arbitrary<ReadingValue> = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.string({ unit: 'binary' }));
const text = fc.string({ unit: 'binary', maxLength: 12 });

const uplink: fc.Arbitrary<UplinkRecord> = fc
  .record({
    dev: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 16, maxLength: 16 }),
    name: text,
    model: fc.option(text, { nil: undefined }),
    tags: fc.dictionary(text, text, { maxKeys: 3 }),
    time: fc.integer({ min: 0, max: 2 ** 45 }),
    sf: fc.option(fc.integer({ min: 7, max: 12 }), { nil: undefined }),
    payload: fc.uint8Array({ maxLength: 30 }),
    gateways: fc.array(fc.record({ id: text, rssi: fc.integer({ min: -140, max: 0 }), snr: fc.double({ min: -20, max: 15, noNaN: true }) }), { maxLength: 3 }),
    decoded: fc.option(
      fc.record({
        readings: fc.array(fc.record({ time: fc.option(fc.constantFrom('2026-11-01T00:00:00Z', 'not a time'), { nil: undefined }), values: fc.dictionary(fc.constantFrom('fill_pct', 'alarm_full', 'x', '__proto__', 'a"b', 'é'), value, { maxKeys: 4 }) }), { maxLength: 3 }),
        warnings: fc.array(text, { maxLength: 2 }),
        errors: fc.array(text, { maxLength: 2 }),
      }),
      { nil: undefined },
    ),
  })
  .map((x) =>
    uplinkRecord(x.dev, { name: x.name, tags: x.tags, ...(x.model === undefined ? {} : { model: x.model }) }, {
      time: x.time,
      rxAt: x.time + 5,
      payload: x.payload,
      gateways: x.gateways,
      ...(x.sf === undefined ? { sf: undefined } : { sf: x.sf }),
      ...(x.decoded === undefined ? {} : { decoded: { model: 'm/x', by: 'codec' as const, ...x.decoded } }),
    }),
  );

function expected(logId: number, r: UplinkRecord): StoreUplink {
  const d = r.decoded;
  return {
    kind: 'up',
    logId,
    id: r.id,
    time: r.time,
    rxAt: r.rxAt,
    devEui: r.devEui,
    devAddr: r.devAddr,
    fCnt: r.fCnt,
    fPort: r.fPort,
    dr: r.dr,
    sf: r.sf ?? null,
    frequency: r.frequency ?? null,
    payload: Buffer.from(r.payload),
    device: { name: r.device.name, model: r.device.model ?? null, category: r.device.category ?? null, tags: Object.entries(r.device.tags).flat() },
    gateways: r.gateways.map((g) => ({ ...g })),
    decodedModel: d?.model,
    readings: (d?.readings ?? []).map((x) => {
      const t = x.time === undefined ? NaN : Date.parse(x.time);
      return { time: Number.isFinite(t) ? t : r.time, values: x.values, valuesJson: JSON.stringify(x.values) };
    }),
    warnings: d?.warnings ?? [],
    errors: d?.errors ?? [],
  };
}

describe('store batch encoding', () => {
  it('gives back every field the store uses, for any uplinks', () => {
    fc.assert(
      fc.property(fc.array(uplink, { minLength: 1, maxLength: 20 }), (ups) => {
        const { bytes, unreadable } = encodeBatch(ups.map((value, i) => ({ id: i + 1, value })));
        expect(unreadable).toEqual([]);
        const back = decodeBatch(bytes);
        expect(back).toHaveLength(ups.length);
        back.forEach((b, i) => {
          const want = expected(i + 1, ups[i] as UplinkRecord);
          expect({ ...b, payload: Buffer.from((b as StoreUplink).payload) }).toEqual(want);
          for (const x of (b as StoreUplink).readings) expect(JSON.parse(x.valuesJson)).toEqual(JSON.parse(JSON.stringify(x.values)));
        });
      }),
      { seed: 1307, numRuns: 200 },
    );
  });

  it('carries joins, status and gateway stats', () => {
    const device = { name: 'bin ö', model: 'dingtek/df703', category: 'bin-fill', tags: { commune: 'Dijon' } };
    const records: PipelineRecord[] = [
      { v: 1, kind: 'join', src: 'cs', id: 'j', time: T, rxAt: T, devEui: '70b3d5e75e000001', devAddr: '26000001', device },
      { v: 1, kind: 'status', src: 'cs', id: 's', time: T + 1, rxAt: T + 1, devEui: '70b3d5e75e000001', device, margin: 12, externalPower: false, batteryUnavailable: false, batteryPct: 87.5 },
      { v: 1, kind: 'gateway', src: 'udp', id: 'g/1', time: T + 2, rxAt: T + 2, gatewayId: 'aa555a0000000001', rxnb: 3, lat: 47.3 },
    ];
    const back = decodeBatch(encodeBatch(records.map((value, i) => ({ id: i + 10, value }))).bytes);
    expect(back[0]).toEqual({ kind: 'join', logId: 10, time: T, devEui: '70b3d5e75e000001', devAddr: '26000001', device: { name: 'bin ö', model: 'dingtek/df703', category: 'bin-fill', tags: ['commune', 'Dijon'] } });
    expect(back[1]).toMatchObject({ kind: 'status', logId: 11, margin: 12, externalPower: false, batteryUnavailable: false, batteryPct: 87.5 });
    expect(back[2]).toEqual({ kind: 'gateway', logId: 12, record: records[2] });
    expect(tagsObject(['commune', 'Dijon', 'lat', '47.3'])).toEqual({ commune: 'Dijon', lat: '47.3' });
  });

  it('a record it cannot encode goes as skip, and the records after it (sharing its strings) are intact', () => {
    const good = (n: number): UplinkRecord => uplinkRecord('70b3d5e75e000001', { name: 'shared-name', tags: { commune: 'shared' } }, { id: `u${n}`, decoded: { model: 'm/x', by: 'codec', readings: [{ values: { fill_pct: n, fresh_key: true } }], warnings: [], errors: [] } });
    // The bad record introduces new strings (its name, a field name) before it fails.
    const bad = { ...good(2), device: { name: 'only-in-bad', tags: {} }, decoded: { model: 'm/new', by: 'codec', readings: [{ values: { new_key: 1 } }, { values: null }], warnings: [], errors: [] } } as unknown as PipelineRecord;
    const { bytes, unreadable } = encodeBatch([good(1), bad, good(3), { ...good(4), device: { name: 'only-in-bad', tags: {} } }].map((value, i) => ({ id: i + 1, value })));
    expect(unreadable).toMatchObject([{ logId: 2, devEui: '70b3d5e75e000001' }]);
    const back = decodeBatch(bytes);
    expect(back.map((b) => b.kind)).toEqual(['up', 'skip', 'up', 'up']);
    expect((back[2] as StoreUplink).readings[0]?.values).toEqual({ fill_pct: 3, fresh_key: true });
    expect((back[3] as StoreUplink).device.name).toBe('only-in-bad');
  });
});
