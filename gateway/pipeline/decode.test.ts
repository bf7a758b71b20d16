import { describe, expect, it } from 'vitest';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import type { UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import { eventToRecord, type DecodeContext } from './decode.ts';
import type { UplinkRecord } from './record.ts';

const catalogue = loadCatalogue();
const df703 = catalogue.byId.get('dingtek/df703');
const codec = nativeCodec('dingtek/df703');
if (!df703 || !codec) throw new Error('dingtek/df703 missing from the catalogue');

const devEui = '70b3d50000000001';
const ctx = (keepCodecData?: boolean): DecodeContext => ({
  registry: () => {
    const d = { dev_eui: devEui, name: 'bin-1', model: 'dingtek/df703', tags: { district: 'north' }, variables: {} };
    return { devices: [d], byEui: new Map([[devEui, d]]) };
  },
  catalogue: (id) => (id === 'dingtek/df703' ? { entry: df703, codec } : undefined),
  deviceProfiles: {},
  now: () => 1_700_000_000_000,
  ...(keepCodecData === undefined ? {} : { keepCodecData }),
});

function uplink(bytesHex: string): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: 'd-1',
    time: 1_700_000_000_000,
    deviceInfo: { tenantId: 't', tenantName: 't', applicationId: 'a', applicationName: 'a', deviceProfileId: 'p', deviceProfileName: 'p', deviceName: 'x', devEui, deviceClassEnabled: 'CLASS_A', tags: {} },
    devAddr: '26000001',
    adr: true,
    dr: 5,
    fCnt: 1,
    fPort: 3,
    confirmed: false,
    data: Buffer.from(bytesHex, 'hex'),
    rxInfo: [],
  };
}

describe('eventToRecord: the codec data object', () => {
  const good = '800001011107d000190000000000010081';

  it('is kept by default and when asked for', () => {
    for (const c of [ctx(), ctx(true)]) {
      const r = eventToRecord(uplink(good), 'cs', c).record as UplinkRecord;
      expect(r.decoded?.data).toMatchObject({ level: 2000, temperature: 25 });
      expect(r.decoded?.readings[0]?.values).toMatchObject({ distance_mm: 2000 });
    }
  });

  it('is left out when no sink needs it, but the readings and the raw payload stay', () => {
    const r = eventToRecord(uplink(good), 'cs', ctx(false)).record as UplinkRecord;
    expect(r.decoded).toBeDefined();
    expect(r.decoded && 'data' in r.decoded).toBe(false);
    expect(r.decoded?.readings[0]?.values).toMatchObject({ distance_mm: 2000 });
    expect(Buffer.from(r.payload).toString('hex')).toBe(good);
  });

  it('a frame the codec cannot read keeps its errors next to the raw payload', () => {
    // A DF703 frame with a wrong length: the codec reports an error and no readings.
    const out = eventToRecord(uplink('8000010111'), 'cs', ctx(false));
    expect(out.undecoded).toBe('codec_error');
    const r = out.record as UplinkRecord;
    expect(r.decoded?.readings).toEqual([]);
    expect(r.decoded?.errors.length).toBeGreaterThan(0);
  });
});

describe('a codec that throws', () => {
  const throwing = (where: 'decode' | 'normalize'): DecodeContext => ({
    ...ctx(),
    catalogue: (id) =>
      id === 'dingtek/df703'
        ? {
            entry: df703,
            codec: {
              ...codec,
              decodeUplink: (input) => {
                if (where === 'decode') throw new RangeError('Maximum call stack size exceeded');
                return codec.decodeUplink(input);
              },
              normalizeUplink: (data, opts) => {
                if (where === 'normalize') throw new TypeError("Cannot read properties of undefined (reading 'x')");
                return codec.normalizeUplink(data, opts);
              },
            },
          }
        : undefined,
  });

  it('in decodeUplink: the record keeps its raw payload and the error, and is stored as codec_error', () => {
    const out = eventToRecord(uplink('0012345600000000000000'.slice(0, 16)), 'cs', throwing('decode'));
    const r = out.record as UplinkRecord;
    expect(out.undecoded).toBe('codec_error');
    expect(r.payload.length).toBeGreaterThan(0);
    expect(r.decoded?.errors).toEqual(['decoder threw: Maximum call stack size exceeded']);
  });

  it('in normalizeUplink: the decoded data is kept with the error', () => {
    const enc = codec.encodeUplink({ readings: [{ values: { distance_mm: 500, temperature_c: 10 } }] });
    const out = eventToRecord(uplink(Buffer.from(enc.bytes ?? []).toString('hex')), 'cs', throwing('normalize'));
    const r = out.record as UplinkRecord;
    expect(out.undecoded).toBe('codec_error');
    expect(r.decoded?.errors[0]).toMatch(/^normalizer threw: Cannot read properties/);
    expect(r.decoded?.data).toBeDefined();
  });
});

describe('eventToRecord: variables and tags', () => {
  it('gives each uplink its own variables: the catalogue defaults (made once per entry) under the registry values', () => {
    const seen: Record<string, unknown>[] = [];
    const spy = { ...codec, decodeUplink: (input: Parameters<typeof codec.decodeUplink>[0]) => (seen.push(input.variables ?? {}), codec.decodeUplink(input)) };
    const reg = { dev_eui: devEui, name: 'bin-1', model: 'dingtek/df703', tags: { district: 'north', empty: '' }, variables: { container_depth_mm: 1234 } };
    const c: DecodeContext = { ...ctx(), registry: () => ({ devices: [reg], byEui: new Map([[devEui, reg]]) }), catalogue: (id) => (id === 'dingtek/df703' ? { entry: df703, codec: spy } : undefined) };
    const defaults = Object.fromEntries(Object.entries(df703.variables ?? {}).flatMap(([k, v]) => (v.default === undefined ? [] : [[k, v.default]])));
    const ev = { ...uplink('800001011107d000190000000000010081'), deviceInfo: { ...uplink('').deviceInfo, tags: { time: 'x', other: 'y' } } };
    const a = eventToRecord(ev, 'src', c).record as UplinkRecord;
    eventToRecord(ev, 'src', c);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({ ...defaults, container_depth_mm: 1234 });
    expect(seen[0]).not.toBe(seen[1]);
    // ChirpStack's tags renamed where reserved, the registry's on top, empty values left out.
    expect(a.device.tags).toEqual({ chirpstack_time: 'x', other: 'y', district: 'north' });
  });
});

describe('eventToRecord: the device snapshot', () => {
  it('is shared (frozen) by the records of a registered device whose events bring no tags, and new for a new registry entry', () => {
    const reg = { dev_eui: devEui, name: 'bin-1', model: 'dingtek/df703', tags: { district: 'north' }, variables: {} };
    let current = reg;
    const c: DecodeContext = { ...ctx(), registry: () => ({ devices: [current], byEui: new Map([[devEui, current]]) }) };
    const ev = uplink('800001011107d000190000000000010081');
    const a = (eventToRecord(ev, 'src', c).record as UplinkRecord).device;
    const b = (eventToRecord(ev, 'src', c).record as UplinkRecord).device;
    expect(b).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.tags)).toBe(true);
    expect(a).toEqual({ name: 'bin-1', tags: { district: 'north' }, model: 'dingtek/df703', category: 'bin-fill' });
    // Tags of the event's own (ChirpStack's): a snapshot of its own, not shared.
    const tagged = { ...ev, deviceInfo: { ...ev.deviceInfo, tags: { street: 'x' } } };
    const t = (eventToRecord(tagged, 'src', c).record as UplinkRecord).device;
    expect(t.tags).toEqual({ street: 'x', district: 'north' });
    expect(Object.isFrozen(t)).toBe(false);
    // A reloaded registry (new entries): the new name is in the next record.
    current = { ...reg, name: 'bin-renamed' };
    expect((eventToRecord(ev, 'src', c).record as UplinkRecord).device.name).toBe('bin-renamed');
  });
});
