// `object` commands through the catalogue codec: encoded as `lorawan-edge downlink --command`
// does, refused with a reason otherwise; a seeded fuzz target over arbitrary objects (an
// external input: MQTT) shows the encoder path never throws and never passes a bad payload.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Codec } from '../../codecs/api.ts';
import { nativeCodec } from '../../codecs/registry.ts';
import { loadCatalogue } from '../../devices/catalogue.ts';
import type { DeviceRegistry } from '../registry/devices-file.ts';
import { MAX_DOWNLINK_PAYLOAD } from './command-down.ts';
import { encodeCommandObject } from './command-encode.ts';

const catalogue = loadCatalogue();
const df703 = catalogue.byId.get('dingtek/df703');
const codec = nativeCodec('dingtek/df703') as Codec;
const thrower = { ...codec, encodeDownlink: () => { throw new Error('boom'); } } as Codec;
const registry: DeviceRegistry = {
  devices: [],
  byEui: new Map([
    ['0000000000000001', { dev_eui: '0000000000000001', name: 'bin-1', model: 'dingtek/df703', tags: {}, variables: {} }],
    ['0000000000000002', { dev_eui: '0000000000000002', name: 'bin-2', model: 'acme/unknown', tags: {}, variables: {} }],
    ['0000000000000003', { dev_eui: '0000000000000003', name: 'bin-3', model: 'test/thrower', tags: {}, variables: {} }],
  ]),
};
const ctx = {
  registry: () => registry,
  catalogue: (id: string) => (id === 'dingtek/df703' && df703 ? { entry: df703, codec } : id === 'test/thrower' && df703 ? { entry: df703, codec: thrower } : undefined),
};

describe('encodeCommandObject', () => {
  it('encodes with the device codec, its fPort first', () => {
    const r = encodeCommandObject('0000000000000001', { uploadInterval: 4 }, 10, ctx);
    const want = codec.encodeDownlink?.({ data: { uploadInterval: 4 } });
    expect(r).toEqual({ ok: true, bytes: Buffer.from(want?.bytes ?? []), fPort: want?.fPort ?? 10 });
  });

  it('names why it cannot', () => {
    expect(encodeCommandObject('00000000000000ff', { a: 1 }, 1, ctx)).toMatchObject({ ok: false, reason: 'no_codec', detail: expect.stringContaining('registry') });
    expect(encodeCommandObject('0000000000000002', { a: 1 }, 1, ctx)).toMatchObject({ ok: false, reason: 'no_codec' });
    expect(encodeCommandObject('0000000000000001', { uploadInterval: 999 }, 1, ctx)).toMatchObject({ ok: false, reason: 'encode_error', detail: expect.stringContaining('uploadInterval') });
    expect(encodeCommandObject('0000000000000003', { uploadInterval: 4 }, 1, ctx)).toMatchObject({ ok: false, reason: 'encode_error', detail: 'encodeDownlink threw: boom' });
  });

  it('never throws on arbitrary objects, and what it passes fits a downlink (fuzz, seeded)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constantFrom('uploadInterval', 'detectInterval', 'levelThreshold', 'fallEnable'), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }), (obj) => {
        const r = encodeCommandObject('0000000000000001', obj as Record<string, unknown>, 5, ctx);
        if (r.ok) {
          expect(r.bytes.length).toBeLessThanOrEqual(MAX_DOWNLINK_PAYLOAD);
          expect(r.fPort).toBeGreaterThanOrEqual(1);
          expect(r.fPort).toBeLessThanOrEqual(223);
        } else expect(['no_codec', 'encode_error']).toContain(r.reason);
      }),
      { seed: Number(process.env['FUZZ_SEED'] ?? 1041), numRuns: Number(process.env['FUZZ_RUNS'] ?? 400) },
    );
  });
});
