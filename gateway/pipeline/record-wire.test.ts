import { Decoder, Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord, UplinkRecord } from './record.ts';
import { recordFromWire, recordToWire, WireFormatError } from './record-wire.ts';

// The log's own CBOR settings (gateway/buffer/log.ts).
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true, pack: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, copyBuffers: true });
const throughLog = (r: PipelineRecord): PipelineRecord => recordFromWire(decoder.decode(Uint8Array.prototype.slice.call(encoder.encode(recordToWire(r)))));

/** Bytes compare as bytes (the log gives Buffers back for Uint8Arrays). */
const plain = (r: PipelineRecord): unknown =>
  JSON.parse(
    JSON.stringify(r, function (this: Record<string, unknown>, k: string, v: unknown) {
      const raw = this[k]; // before Buffer#toJSON
      return raw instanceof Uint8Array ? `bytes:${Buffer.from(raw).toString('hex')}` : v;
    }),
  );

// cbor-x decodes maps into plain objects, where a `__proto__` key cannot survive (format 1 alike).
const key = fc.string().filter((k) => k !== '__proto__');
const device = fc.record(
  { name: fc.string(), model: fc.string(), category: fc.constantFrom('bin-fill', 'water-meter', 'air-quality'), tags: fc.dictionary(key, fc.string(), { maxKeys: 3 }) },
  { requiredKeys: ['name', 'tags'] },
);
const json = fc.dictionary(key, fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true })), { maxKeys: 4 });
const common = { src: fc.string(), id: fc.string(), time: fc.nat(), rxAt: fc.nat(), devEui: fc.stringMatching(/^[0-9a-f]{16}$/), device };
const up: fc.Arbitrary<UplinkRecord> = fc.record(
  {
    v: fc.constant(1 as const),
    kind: fc.constant('up' as const),
    ...common,
    devAddr: fc.stringMatching(/^[0-9a-f]{8}$/),
    fCnt: fc.nat(),
    fPort: fc.integer({ min: 0, max: 255 }),
    dr: fc.integer({ min: 0, max: 15 }),
    adr: fc.boolean(),
    confirmed: fc.boolean(),
    payload: fc.uint8Array({ maxLength: 64 }),
    gateways: fc.array(fc.record({ id: fc.stringMatching(/^[0-9a-f]{16}$/), rssi: fc.integer({ min: -140, max: 0 }), snr: fc.double({ min: -20, max: 15, noNaN: true }) }), { maxLength: 4 }),
    frequency: fc.nat(),
    sf: fc.integer({ min: 7, max: 12 }),
    bw: fc.constantFrom(125_000, 250_000),
    region: fc.constantFrom('eu868', 'us915'),
    csObject: json,
    decoded: fc.record(
      {
        model: fc.string(),
        data: json,
        readings: fc.array(fc.record({ time: fc.string(), values: json }, { requiredKeys: ['values'] }), { maxLength: 3 }),
        warnings: fc.array(fc.string(), { maxLength: 2 }),
        errors: fc.array(fc.string(), { maxLength: 2 }),
        by: fc.constantFrom('codec' as const, 'chirpstack' as const),
      },
      { requiredKeys: ['model', 'readings', 'warnings', 'errors', 'by'] },
    ),
  },
  { requiredKeys: ['v', 'kind', 'src', 'id', 'time', 'rxAt', 'devEui', 'device', 'devAddr', 'fCnt', 'fPort', 'dr', 'adr', 'confirmed', 'payload', 'gateways'] },
);
const join = fc.record({ v: fc.constant(1 as const), kind: fc.constant('join' as const), ...common, devAddr: fc.stringMatching(/^[0-9a-f]{8}$/) });
const status = fc.record({
  v: fc.constant(1 as const),
  kind: fc.constant('status' as const),
  ...common,
  margin: fc.integer({ min: -20, max: 30 }),
  externalPower: fc.boolean(),
  batteryUnavailable: fc.boolean(),
  batteryPct: fc.double({ min: 0, max: 100, noNaN: true }),
});

describe('record wire format 2', () => {
  it('gives back every record as it was, through the log\'s CBOR settings', () => {
    fc.assert(
      fc.property(fc.oneof(up, join, status), (r) => {
        expect(plain(throughLog(r))).toEqual(plain(r));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is an array without field names, smaller than the map', () => {
    const r = fc.sample(up, { numRuns: 1, seed: 7 })[0] as UplinkRecord;
    const wire = recordToWire(r);
    expect(Array.isArray(wire)).toBe(true);
    expect(wire[0]).toBe(2);
    expect(encoder.encode(wire).length).toBeLessThan(encoder.encode(r).length);
  });

  it('reads format-1 records (maps written by earlier versions) as they are', () => {
    const old = fc.sample(up, { numRuns: 1, seed: 3 })[0] as UplinkRecord;
    const back = recordFromWire(decoder.decode(encoder.encode(old)));
    expect(plain(back)).toEqual(plain(old));
  });

  it('refuses what it does not know, so the log counts it as damaged', () => {
    expect(() => recordFromWire([3, 'up'])).toThrow(WireFormatError);
    expect(() => recordFromWire([2, 'bogus', 's', 'i', 1, 2, 'e'])).toThrow(/kind/);
    expect(() => recordFromWire({ v: 9, kind: 'up' })).toThrow(WireFormatError);
    expect(() => recordFromWire('text')).toThrow(WireFormatError);
    expect(() => recordFromWire([2, 'up', 's', 'i', 1, 2, 'e', 'a', 1, 1, 1, true, false, 'not bytes', [], null, null, null, null, ['n', null, null, {}], null, null])).toThrow(/payload/);
  });
});
