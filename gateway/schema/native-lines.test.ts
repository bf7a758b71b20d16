// nativeLines (lines built without Point objects, what a drain into InfluxDB uses) must write
// exactly what the Point path writes: encodePoints(nativePoints(r)), lines and counts alike.
import { describe, expect, it } from 'vitest';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { eventToRecord, type DecodeContext } from '../pipeline/decode.ts';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
import { recordFromWire, recordToWire } from '../pipeline/record-wire.ts';
import { parseRegistry } from '../registry/devices-file.ts';
import { batchLines, encodePoints, integer, newLineBatch } from '../sinks/influxdb/line-protocol.ts';
import { parseEventJson } from '../../lorawan/chirpstack/events.ts';
import { buildFleet, fastMessages, registryYaml } from '../../bench/gateway/fleet.ts';
import { nativeLines, nativePoints } from './native.ts';
import { T, uplinkRecord } from './testing.ts';

/** Both paths over the same records (as one batch), in comparable form. */
function bothPaths(records: readonly PipelineRecord[]): { points: object; direct: object } {
  const enc = encodePoints(records.flatMap((r) => nativePoints(r)));
  const batch = newLineBatch();
  for (const r of records) nativeLines(r, batch);
  return {
    points: {
      lines: enc.lines,
      rejected: enc.rejected,
      skippedFields: enc.skippedFields,
      skippedDetails: enc.skippedDetails,
      altered: enc.altered,
      omittedTags: enc.omittedTags,
    },
    direct: {
      lines: batchLines(batch),
      rejected: batch.rejected.map(({ index, reason }) => ({ index, reason })),
      skippedFields: batch.counters.skippedFields,
      skippedDetails: batch.counters.skippedDetails,
      altered: batch.counters.altered,
      omittedTags: batch.counters.omittedTags,
    },
  };
}

function expectSameLines(records: readonly PipelineRecord[]): void {
  const { points, direct } = bothPaths(records);
  expect(direct).toEqual(points);
  expect(newLineBatchPoints(records)).toBe(records.flatMap((r) => nativePoints(r)).length);
}

function newLineBatchPoints(records: readonly PipelineRecord[]): number {
  const batch = newLineBatch();
  for (const r of records) nativeLines(r, batch);
  return batch.points;
}

/** Read back as a sink gets it from the log: a fresh object each time. */
const fresh = (r: PipelineRecord): PipelineRecord => recordFromWire(recordToWire(r));

const device: DeviceSnapshot = { name: 'bin-1', model: 'dingtek/df703', category: 'bin-fill', tags: { district: 'd0' } };
const decodedWith = (readings: NonNullable<UplinkRecord['decoded']>['readings'], errors: string[] = []): UplinkRecord['decoded'] => ({
  model: 'm',
  by: 'codec',
  readings,
  warnings: [],
  errors,
});

describe('nativeLines writes what the Point path writes', () => {
  it('for the bench fleet’s uplinks, read back from the log format', () => {
    const devices = buildFleet();
    const catalogue = loadCatalogue();
    const registry = parseRegistry(registryYaml(devices), 'devices.yaml', (id) => catalogue.byId.has(id));
    const codecs = new Map(
      catalogue.devices.flatMap((entry) => {
        const codec = typeof entry.codec === 'string' ? nativeCodec(entry.codec) : undefined;
        return codec ? [[entry.id, { entry, codec }] as const] : [];
      }),
    );
    const ctx: DecodeContext = { registry: () => registry, catalogue: (id) => codecs.get(id), deviceProfiles: {}, now: Date.now, keepCodecData: false };
    const make = fastMessages(devices, 'lines', Date.UTC(2026, 10, 1));
    const records: PipelineRecord[] = [];
    for (let i = 0; i < 3_000; i++) {
      const parsed = parseEventJson('up', Buffer.from(make(i).payload));
      if (!parsed.ok) throw new Error(parsed.error);
      records.push(fresh(eventToRecord(parsed.event, 'cs', ctx).record));
    }
    const { points, direct } = bothPaths(records);
    expect((points as { lines: string[] }).lines.length).toBeGreaterThan(records.length);
    expect(direct).toEqual(points);
  });

  it('for names and values that need escaping or normalising', () => {
    const odd: DeviceSnapshot = { name: 'bin 1,a=b', model: 'x\\', category: 'nope', tags: { 'dis trict': 'd=0', empty: '', 'line\nbreak': 'v' } };
    expectSameLines([
      uplinkRecord('e 1', odd, { decoded: decodedWith([{ values: { 'a b': 1, 'x,y': 'say "hi"\n', plain: 'back\\slash', 'a\nc': 2, 'a b ': 3 } }]) }),
      // Field keys that normalise alike: that reading's point is rejected, on both paths.
      uplinkRecord('e 1', odd, { decoded: decodedWith([{ values: { 'a b': 1, 'a\nb': 2 } }, { values: { ok: 1 } }]) }),
      fresh(uplinkRecord('e2', device, { decoded: decodedWith([{ values: { '#hash': 1, '': 2, 'q"': true } }]) })),
    ]);
  });

  it('for missing fields and readings without values', () => {
    expectSameLines([
      uplinkRecord('e3', { name: 'n', tags: {} }, { gateways: [], sf: undefined, frequency: undefined, decoded: undefined }),
      uplinkRecord('e3', { name: 'n', tags: {} }, { decoded: decodedWith([{ values: {} }, { values: { a: null, b: undefined } as never }, { values: { c: 1 } }], ['e']) }),
      uplinkRecord('e4', device, { decoded: decodedWith([]) }),
    ]);
  });

  it('for history readings with their own time (and times that cannot be written)', () => {
    expectSameLines([
      uplinkRecord('e5', device, {
        decoded: decodedWith([
          { time: '2026-01-01T00:00:00Z', values: { v: 1 } },
          { time: '2026-01-01T01:00:00.250Z', values: { v: 2 } },
          { time: 'not a time', values: { v: 3 } },
          { time: '+300000-01-01T00:00:00Z', values: { v: 4 } },
          { values: { v: 5 } },
        ]),
      }),
      uplinkRecord('e6', device, { time: 1e16, decoded: decodedWith([{ values: { v: 1 } }]) }),
      uplinkRecord('e6', device, { time: T + 0.5 }),
    ]);
  });

  it('for NaN, infinities and integers InfluxDB cannot store', () => {
    expectSameLines([
      uplinkRecord('e7', device, { decoded: decodedWith([{ values: { a: Number.NaN, b: 1.5, c: Number.POSITIVE_INFINITY } }, { values: { only: Number.NaN } }]) }),
      uplinkRecord('e8', device, { fCnt: 2 ** 60, gateways: [{ id: 'g', rssi: Number.NaN, snr: Number.NaN }], sf: 7.5, frequency: Number.NaN }),
      uplinkRecord('e9', device, { dr: -1, fPort: 0, gateways: [{ id: 'g', rssi: -120.5, snr: -20 }, { id: 'h', rssi: -121, snr: 12.25 }] }),
      uplinkRecord('e9', device, { decoded: decodedWith([{ values: { i: integer(2 ** 40) as never, big: 5n as never, t: true } }]) }),
    ]);
  });

  it('for join and status records', () => {
    expectSameLines([
      { v: 1, kind: 'join', src: 'cs', id: 'j', time: T, rxAt: T, devEui: 'e10', devAddr: '0102abcd', device },
      { v: 1, kind: 'status', src: 'cs', id: 's', time: T, rxAt: T, devEui: 'e10', device, margin: 7, externalPower: false, batteryUnavailable: false, batteryPct: 87.5 },
      { v: 1, kind: 'status', src: 'cs', id: 's', time: T, rxAt: T, devEui: 'e10', device, margin: 7, externalPower: true, batteryUnavailable: true, batteryPct: Number.NaN },
    ]);
  });
});
