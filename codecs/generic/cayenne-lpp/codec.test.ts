import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../api.ts';
import { fromHex, toHex } from '../../bytes.ts';
import { jsonEqual, runExampleFile, type ExampleFile } from '../../examples.ts';
import { readingField } from '../../readings.ts';
import { describeVectorFile, loadVectorFile } from '../../testing/vectors.ts';
import { roundTrip } from './arbitrary.ts';
import { codec, decodeLpp, encodeLpp, LPP_TYPES } from './codec.ts';

describeVectorFile(codec, 'cayenne-lpp/cayenne-lpp.json');

interface EncoderExample {
  description: string;
  input: Record<string, unknown>;
  expected: { bytesHex: string };
}

const vectorFile = loadVectorFile('cayenne-lpp/cayenne-lpp.json') as ReturnType<typeof loadVectorFile> & { uplinkEncoderExamples: EncoderExample[] };
const ALL_TYPES_HEX = vectorFile.examples?.[0]?.bytesHex ?? '';

function decode(hex: string) {
  return codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort: 1 });
}

describe('generic/cayenne-lpp examples.json', () => {
  it('passes', () => {
    const file = JSON.parse(readFileSync(new URL('./examples.json', import.meta.url), 'utf8')) as ExampleFile;
    expect(runExampleFile(codec, file).filter((o) => !o.pass)).toEqual([]);
  });
});

describe('generic/cayenne-lpp uplinkEncoderExamples (vendor-data encoder encodeLpp)', () => {
  const examples = vectorFile.uplinkEncoderExamples;
  it('has examples', () => expect(examples.length).toBeGreaterThan(0));
  for (const ex of examples) {
    it(`"${ex.description}": byte-identical with rounding 'truncate'`, () => {
      expect(toHex(encodeLpp(ex.input, { rounding: 'truncate' }))).toBe(ex.expected.bytesHex);
    });
    it(`"${ex.description}": default rounding to nearest differs only where truncation loses a step`, () => {
      const nearest = toHex(encodeLpp(ex.input));
      // −15.65 → −157 (ff63), gyro z −4.1 → −410 (fe66), longitudes 4.8885 → 48885 (bef5), −5.865784 → −58658 (ff1ade)
      expect(nearest).toBe(ex.expected.bytesHex.replace('67ff64', '67ff63').replace('fe67', 'fe66').replace('bef4', 'bef5').replace('ff1adf', 'ff1ade'));
    });
    it(`"${ex.description}": decode(encode(x)) is within half a step (nearest) or one step (truncate)`, () => {
      for (const [rounding, steps] of [['nearest', 0.5], ['truncate', 1]] as const) {
        const data = decodeLpp(Uint8Array.from(encodeLpp(ex.input, { rounding }))).data ?? {};
        for (const [key, value] of Object.entries(ex.input)) {
          const t = LPP_TYPES.find((x) => key.startsWith(`${x.key}_`));
          for (const f of t?.fields ?? []) {
            const want = f.name ? (value as Record<string, number>)[f.name] : value;
            const got = f.name ? (data[key] as Record<string, number>)[f.name] : data[key];
            expect(Math.abs((got as number) - (want as number)), `${rounding} ${key}.${f.name}`).toBeLessThanOrEqual(steps / f.scale + 1e-9);
          }
        }
      }
    });
  }
});

describe('generic/cayenne-lpp uplink', () => {
  it('decodes every type of the table through encodeLpp', () => {
    for (const t of LPP_TYPES) {
      const value = t.fields.length === 1 ? 1 : Object.fromEntries(t.fields.map((f, i) => [f.name, i + 1]));
      const bytes = encodeLpp({ [`${t.key}_7`]: value });
      expect(bytes.slice(0, 2), t.key).toEqual([7, t.code]);
      expect(bytes.length, t.key).toBe(2 + t.size * t.fields.length);
      expect(decodeLpp(Uint8Array.from(bytes)).data, t.key).toEqual({ [`${t.key}_7`]: value });
    }
  });

  it('decodes hand-computed records', () => {
    // temperature −27.3 °C = −273 = 0xfeef; humidity 0x91 = 145 → 72.5 %; voltage 0x0ce4 = 3300 → 33 V
    expect(decode('0267feef' + '0568' + '91' + '0974' + '0ce4').data).toEqual({ temperature_2: -27.3, relative_humidity_5: 72.5, voltage_9: 33 });
  });

  it('rejects every cut inside a record of the all-types frame, never returns partial data', () => {
    const bytes = fromHex(ALL_TYPES_HEX) as Uint8Array;
    const boundaries = new Set<number>();
    for (let at = 0; at < bytes.length; ) {
      boundaries.add(at);
      const t = LPP_TYPES.find((x) => x.code === bytes[at + 1]);
      at += 2 + (t ? t.size * t.fields.length : 0);
    }
    for (let n = 1; n < bytes.length; n++) {
      const r = codec.decodeUplink({ bytes: bytes.subarray(0, n), fPort: 1 });
      if (boundaries.has(n)) {
        expect(r.errors, `cut at ${n} is a record boundary`).toBeUndefined();
      } else {
        expect(r.data, `cut at ${n}`).toBeUndefined();
        expect(r.errors, `cut at ${n}`).toEqual(['unexpected EOF']);
        expect(r.warnings?.[0], `cut at ${n}`).toMatch(/^truncated payload: .* at offset \d+/);
      }
    }
  });

  it('names the unknown type and its offset', () => {
    expect(decode('0167011003aa00')).toEqual({ errors: ['cayennelpp: unknown type'], warnings: ['unknown LPP type 0xaa (170) at offset 5 (channel 3)'] });
  });
});

describe('generic/cayenne-lpp normalize', () => {
  it('emits only known reading names with the channel suffix', () => {
    const n = codec.normalizeUplink(decode(ALL_TYPES_HEX).data ?? {});
    const names = Object.keys(n.readings[0]?.values ?? {});
    expect(names).toHaveLength(18);
    for (const name of names) expect(readingField(name), name).toBeDefined();
  });

  it('warns about keys it cannot normalize and about a GPS and an altitude on one channel', () => {
    const n = codec.normalizeUplink({ gps_1: { latitude: 1, longitude: 2, altitude: 3 }, altitude_1: 4, battery: 3.1, temperature_2: 'x', digital_in_3: 0 });
    expect(n.readings).toEqual([{ values: { latitude_deg_ch1: 1, longitude_deg_ch1: 2, altitude_m_ch1: 4, digital_input_ch3: false } }]);
    expect(n.warnings).toEqual([
      'altitude_m_ch1 given twice: the later value is kept',
      'battery: not a Cayenne LPP key, not normalized',
      'temperature_2 is not a number, not normalized',
    ]);
  });

  it('gives distance in whole millimetres', () => {
    expect(codec.normalizeUplink({ distance_4: 0.007 }).readings).toEqual([{ values: { distance_mm_ch4: 7 } }]);
  });
});

describe('generic/cayenne-lpp encodeUplink', () => {
  it('encodes the brief\'s names, GPS parts as one record, altitude alone as the altitude type', () => {
    const enc = codec.encodeUplink({
      readings: [
        {
          values: {
            temperature_c_ch3: 21.5,
            humidity_pct_ch5: 40,
            pressure_hpa_ch1: 1013.2,
            digital_input_ch2: true,
            light_lux_ch4: 300,
            acceleration_x_g_ch7: -1,
            latitude_deg_ch8: 52.1,
            altitude_m_ch8: 12.34,
            altitude_m_ch9: 250,
          },
        },
      ],
    });
    expect(enc.fPort).toBe(1);
    expect(toHex(enc.bytes ?? [])).toBe(
      '036700d7' + '056850' + '0173' + '2794' + '020001' + '0465012c' + '0771fc1800000000' + '0888' + '07f328' + '000000' + '0004d2' + '097900fa',
    );
  });

  it('sends the latest reading; skips readings LPP cannot carry, with a warning', () => {
    const readings: Reading[] = [{ values: { temperature_c_ch1: 1 } }, { values: { temperature_c_ch1: 2, co2_ppm: 400 } }];
    expect(codec.encodeUplink({ readings })).toEqual({
      bytes: [1, 0x67, 0, 20],
      fPort: 1,
      warnings: ['no Cayenne LPP type carries reading co2_ppm: not sent'],
    });
  });

  it('sends names without a channel suffix on channel 1, with a warning', () => {
    expect(codec.encodeUplink({ readings: [{ values: { temperature_c: 20 } }], fPort: 5 })).toEqual({
      bytes: [1, 0x67, 0, 200],
      fPort: 5,
      warnings: ['temperature_c has no _ch<N> suffix: sent on channel 1'],
    });
  });

  it('rejects what LPP cannot carry', () => {
    const err = (values: Record<string, unknown>) => codec.encodeUplink({ readings: [{ values: values as never }] }).errors?.[0];
    expect(err({ co2_ppm_ch1: 400 })).toBe('encodeUplink: no value the LPP types can carry (no Cayenne LPP type carries reading co2_ppm_ch1: not sent)');
    expect(err({ temperature_c_ch1: 4000 })).toBe('encodeLpp: temperature_1 = 4000 is out of range -3276.8..3276.7');
    expect(err({ digital_input_ch1: 1 })).toBe('encodeUplink: digital_input_ch1 must be a boolean, got 1');
    expect(err({ temperature_c_ch300: 1 })).toBe('encodeUplink: channel of temperature_c_ch300 must be 0..255');
    expect(err({ temperature_c: 1, temperature_c_ch1: 2 })).toBe('encodeUplink: temperature_c given twice for channel 1');
    expect(err({})).toBe('encodeUplink: no value the LPP types can carry (empty reading)');
    expect(codec.encodeUplink({ readings: [] }).errors).toEqual(['encodeUplink needs at least one reading {values: {...}}']);
  });

  it('round-trips on the LPP grid (same property as the contract test)', () => {
    fc.assert(
      fc.property(roundTrip.arbitrary, (input) => {
        const enc = codec.encodeUplink(input);
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 0 });
        return jsonEqual(codec.normalizeUplink(dec.data ?? {}).readings, input.readings);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('generic/cayenne-lpp downlink', () => {
  it('round-trips values', () => {
    const data = { value_0: -327.68, value_1: 0.01, value_200: 123.45 };
    const enc = codec.encodeDownlink?.({ data });
    expect(toHex(enc?.bytes ?? [])).toBe('008000' + '010001' + 'c83039');
    expect(codec.decodeDownlink?.({ bytes: enc?.bytes ?? [], fPort: enc?.fPort ?? 1 }).data).toEqual(data);
  });

  it('reports bad downlinks', () => {
    const errs = (data: Record<string, number | string>) => codec.encodeDownlink?.({ data }).errors;
    expect(errs({ value_255: 1 })).toEqual(['value_255: downlink keys are value_<channel>, channel 0..254 (255 ends the list)']);
    expect(errs({ temperature_1: 1 })).toEqual(['temperature_1: downlink keys are value_<channel>, channel 0..254 (255 ends the list)']);
    expect(errs({ value_1: 400 })).toEqual(['value_1 = 400 is out of range -327.68..327.67']);
    expect(errs({ value_1: 'on' })).toEqual(['value_1 must be a finite number, got "on"']);
    expect(errs({})).toEqual(['no value_<channel> keys to send']);
    const r = codec.decodeDownlink?.({ bytes: [1, 0, 100, 2, 0xea], fPort: 3 });
    expect(r?.errors).toEqual(['unexpected EOF']);
    expect(r?.data ?? undefined).toBeUndefined();
    expect(r?.warnings).toEqual(['truncated payload: value_2 needs 2 byte(s) at offset 4, 1 left']);
  });
});
