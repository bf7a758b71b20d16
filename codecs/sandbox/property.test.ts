import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEx10, encodeEx10Downlink } from './ex10.native.ts';
import { loadScriptCodec, type ScriptCodec } from './index.ts';
import { fixture, options } from './test-support.ts';

/** Mostly well-formed EX-10 frames, and some of everything else. */
const uplink = fc.oneof(
  {
    weight: 7,
    arbitrary: fc.record({
      bytes: fc.tuple(fc.constant(1), fc.uint8Array({ minLength: 9, maxLength: 9 })).map(([v, rest]) => [v, ...rest]),
      fPort: fc.constant(1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 14 }),
      fPort: fc.integer({ min: 1, max: 223 }),
    }),
  },
);

describe('a script codec agrees with the native implementation', () => {
  const codecs: Record<string, ScriptCodec> = {};
  beforeAll(async () => {
    for (const file of ['ttn-es5.js', 'ttn-es2015.js', 'chirpstack-esm.js', 'ttn-v2-decoder.js', 'chirpstack-v3-decode.js']) {
      codecs[file] = await loadScriptCodec(fixture(file), options(file));
    }
  });
  afterAll(() => {
    for (const c of Object.values(codecs)) c.dispose();
  });

  it('on 10,000 random uplinks (TTN ES5 script)', () => {
    const device = codecs['ttn-es5.js']?.forDevice('property') ?? expect.unreachable();
    fc.assert(
      fc.property(uplink, ({ bytes, fPort }) => {
        expect(device.decodeUplink({ bytes, fPort })).toEqual(decodeEx10(bytes, fPort));
      }),
      { numRuns: 10_000 },
    );
  });

  it('in every style, on random well-formed frames', () => {
    for (const [file, codec] of Object.entries(codecs)) {
      const device = codec.forDevice('property');
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 9, maxLength: 9 }), (rest) => {
          const bytes = [1, ...rest];
          const native = decodeEx10(bytes, 1);
          const ours = device.decodeUplink({ bytes, fPort: 1, variables: { site: 's' } });
          const data = file === 'chirpstack-v3-decode.js' ? { ...native.data, site: 's' } : native.data;
          // The legacy styles have no warnings; TS013 styles pass the script's warnings on.
          const legacy = file === 'ttn-v2-decoder.js' || file === 'chirpstack-v3-decode.js';
          expect(ours, file).toEqual(legacy || !native.warnings ? { data } : { data, warnings: native.warnings });
        }),
        { numRuns: 1_000 },
      );
    }
  });

  it('on random downlinks', () => {
    for (const file of ['ttn-es5.js', 'ttn-es2015.js', 'chirpstack-esm.js']) {
      const codec = codecs[file] ?? expect.unreachable();
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double(), fc.string()), (minutes) => {
          expect(codec.encodeDownlink?.({ data: { interval_minutes: minutes } }), file).toEqual(encodeEx10Downlink(minutes));
        }),
        { numRuns: 500 },
      );
    }
  });
});
