import { Decoder, Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PipelineRecord, UplinkRecord } from './record.ts';
import { TOO_DEEP, writeCbor, writeCborWith } from '../buffer/cbor-writer.ts';
import { recordFromWire, recordToWire, WireFormatError, writeRecord } from './record-wire.ts';

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

describe('writeRecord (the log writes records without the positional arrays)', () => {
  const up = fc.record(
    {
      v: fc.constant(1 as const),
      kind: fc.constant('up' as const),
      src: fc.string({ maxLength: 10 }),
      id: fc.uuid(),
      time: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.double()),
      rxAt: fc.double({ min: 0, max: 2 ** 42, noNaN: true }),
      devEui: fc.stringMatching(/^[0-9a-f]{16}$/),
      devAddr: fc.stringMatching(/^[0-9a-f]{8}$/),
      fCnt: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fPort: fc.integer({ min: 0, max: 255 }),
      dr: fc.integer({ min: 0, max: 15 }),
      adr: fc.boolean(),
      confirmed: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
      gateways: fc.array(fc.record({ id: fc.stringMatching(/^[0-9a-f]{16}$/), rssi: fc.integer({ min: -140, max: 0 }), snr: fc.double({ min: -25, max: 15, noNaN: true }) }, { noNullPrototype: true }), { maxLength: 4 }),
      frequency: fc.integer({ min: 863_000_000, max: 870_000_000 }),
      sf: fc.integer({ min: 7, max: 12 }),
      bw: fc.constantFrom(125_000, 250_000),
      region: fc.constant('eu868'),
      device: fc.record({ name: fc.string({ maxLength: 12 }), model: fc.string({ maxLength: 20 }), category: fc.string({ maxLength: 10 }), tags: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }).map((d) => ({ ...d })) }, { requiredKeys: ['name', 'tags'], noNullPrototype: true }),
      csObject: fc.jsonValue({ maxDepth: 3 }).map((j) => ({ j })),
      decoded: fc.record(
        {
          model: fc.string({ maxLength: 20 }),
          readings: fc.array(fc.record({ values: fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.double(), fc.boolean(), fc.string({ maxLength: 8 }))).map((d) => ({ ...d })) }, { noNullPrototype: true }), { maxLength: 3 }),
          warnings: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
          errors: fc.array(fc.string({ maxLength: 20 }), { maxLength: 2 }),
          by: fc.constantFrom('codec' as const, 'chirpstack' as const),
          data: fc.jsonValue({ maxDepth: 3 }).map((j) => ({ j })),
        },
        { requiredKeys: ['model', 'readings', 'warnings', 'errors', 'by'], noNullPrototype: true },
      ),
    },
    { requiredKeys: ['v', 'kind', 'src', 'id', 'time', 'rxAt', 'devEui', 'devAddr', 'fCnt', 'fPort', 'dr', 'adr', 'confirmed', 'payload', 'gateways', 'device'], noNullPrototype: true },
  );

  const direct = (r: PipelineRecord, max = 64): Buffer | typeof TOO_DEEP | undefined => {
    const out = writeCborWith((o) => writeRecord(r, o), max);
    return out instanceof Uint8Array ? Buffer.from(out) : out;
  };
  const viaWire = (r: PipelineRecord, max = 64): Buffer | typeof TOO_DEEP | undefined => {
    const out = writeCbor(recordToWire(r), max);
    return out instanceof Uint8Array ? Buffer.from(out) : out;
  };

  it('writes the bytes recordToWire + the writer give, for any uplink record (property, fixed seed)', () => {
    fc.assert(
      fc.property(up, (r) => {
        const a = direct(r as UplinkRecord);
        const b = viaWire(r as UplinkRecord);
        // the same bytes as before, so what the log reads back is what it read before (tested above)
        expect(a instanceof Buffer && b instanceof Buffer && a.equals(b)).toBe(true);
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it('agrees on TOO_DEEP, and other kinds go through recordToWire', () => {
    const r = { v: 1, kind: 'join', src: 's', id: 'i', time: 1, rxAt: 2, devEui: 'e', devAddr: 'a', device: { name: 'n', tags: {} } } as const;
    expect((direct(r) as Buffer).equals(viaWire(r) as Buffer)).toBe(true);
    const deep = { v: 1, kind: 'up', src: 's', id: 'i', time: 1, rxAt: 2, devEui: 'e', devAddr: 'a', fCnt: 1, fPort: 1, dr: 0, adr: false, confirmed: false, payload: Buffer.alloc(1), gateways: [], device: { name: 'n', tags: {} }, csObject: { a: { b: { c: [[1]] } } } } as UplinkRecord;
    for (const max of [3, 4, 5, 6, 7]) expect(direct(deep, max)).toEqual(viaWire(deep, max));
    expect(direct(deep, 5)).toBe(TOO_DEEP);
  });
});
