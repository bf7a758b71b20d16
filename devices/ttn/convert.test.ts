/**
 * The pieces of `codec import-ttn` without files: codec choice per firmware and region, example
 * conversion, the category guess. The end-to-end import is test/import-ttn.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { convertExamples, fPortsOf, guessCategory, oneLineName, readingsOfNormalized, toJson } from './convert.ts';
import { chooseProfile, NoProfileError, regionName, type TtnCodec, type TtnDevice } from './repository.ts';

function device(firmwareVersions: TtnDevice['firmwareVersions']): TtnDevice {
  return { id: 'd', file: '/x/d.yaml', name: 'D', sensors: [], firmwareVersions };
}

describe('chooseProfile', () => {
  const eu = (codec: string) => ({ 'EU863-870': { id: 'p', codec } });
  it('takes the latest firmware with a codec for the region, by numeric, else by version', () => {
    expect(chooseProfile(device([{ version: '1.0', numeric: 2, profiles: eu('a') }, { version: '2.0', numeric: 1, profiles: eu('b') }]), 'd.yaml').codecId).toBe('a');
    expect(chooseProfile(device([{ version: '1.10', profiles: eu('a') }, { version: '1.9', profiles: eu('b') }]), 'd.yaml').codecId).toBe('a');
    // Equal versions: the later entry.
    expect(chooseProfile(device([{ version: '1', profiles: eu('a') }, { version: '1', profiles: eu('b') }]), 'd.yaml').codecId).toBe('b');
    // The latest firmware has no EU profile: the latest that has one.
    const c = chooseProfile(device([{ version: '1', profiles: eu('a') }, { version: '2', profiles: { 'US902-928': { codec: 'u' } } }]), 'd.yaml');
    expect([c.firmware.version, c.codecId, c.regions]).toEqual(['1', 'a', ['EU863-870']]);
  });

  it('honours --firmware and --region (short region names too), and says what exists otherwise', () => {
    const d = device([
      { version: '1', profiles: { ...eu('a'), 'US902-928': { codec: 'a' } } },
      { version: '2', profiles: eu('b') },
    ]);
    expect(chooseProfile(d, 'd.yaml', { firmware: '1' }).codecId).toBe('a');
    expect(chooseProfile(d, 'd.yaml', { firmware: '1' }).regions).toEqual(['EU863-870', 'US902-928']);
    expect(chooseProfile(d, 'd.yaml', { region: 'us915' }).region).toBe('US902-928');
    expect(regionName('EU868')).toBe('EU863-870');
    expect(() => chooseProfile(d, 'd.yaml', { firmware: '3' })).toThrow('d.yaml: no firmware version "3" (has: 1, 2)');
    expect(() => chooseProfile(d, 'd.yaml', { region: 'AS923' })).toThrow(NoProfileError);
    expect(() => chooseProfile(d, 'd.yaml', { region: 'AS923' })).toThrow('regions: EU863-870, US902-928');
  });
});

describe('guessCategory', () => {
  it('maps TTN sensors to a category, bins first, generic otherwise', () => {
    expect(guessCategory(['Distance', 'temperature'])).toBe('bin-fill');
    expect(guessCategory(['battery', 'pulse count'])).toBe('water-meter');
    expect(guessCategory(['co2', 'temperature', 'humidity'])).toBe('air-quality');
    expect(guessCategory(['pm2.5'])).toBe('air-quality');
    expect(guessCategory(['temperature', 'humidity'])).toBe('generic');
    expect(guessCategory([])).toBe('generic');
  });
});

describe('readingsOfNormalized', () => {
  it('maps TTN normalized fields that have a reading, keeps time, drops empty measurements', () => {
    expect(
      readingsOfNormalized({
        data: [{ air: { temperature: 21.5, relativeHumidity: 40 } }, { time: '2024-01-01T10:00:00+01:00', air: { co2: 600 } }, { time: '2024-01-01T09:00:00Z' }],
      }),
    ).toEqual({
      readings: [{ values: { temperature_c: 21.5, humidity_pct: 40 } }, { time: '2024-01-01T09:00:00.000Z', values: { co2_ppm: 600 } }],
    });
    // A measurement object instead of a list, as normalizeUplink may return.
    expect(readingsOfNormalized({ data: { air: { pressure: 1013 } } })).toEqual({ readings: [{ values: { pressure_hpa: 1013 } }] });
  });

  it('fields without a reading are listed; those that map still give their readings', () => {
    expect(readingsOfNormalized({ data: [{ air: { temperature: 20, location: 'indoor' } }] })).toEqual({
      readings: [{ values: { temperature_c: 20 } }],
      unmapped: ['air.location'],
    });
    expect(readingsOfNormalized({ data: [{ soil: { moisture: 30 } }, { wind: { speed: 3 }, air: { co2: 410 } }] })).toEqual({
      readings: [{ values: { co2_ppm: 410 } }],
      unmapped: ['soil.moisture', 'wind.speed'],
    });
    expect(readingsOfNormalized({ errors: ['x'] })).toEqual({ why: 'normalizedOutput expects errors' });
  });
});

describe('convertExamples', () => {
  const codec = (over: Partial<TtnCodec>): TtnCodec => ({ id: 'c', file: '/v/c.yaml', ...over });
  const both = { encoder: true, decoder: true };

  it('keeps errors exactly and drops data next to errors, with a note', () => {
    const r = convertExamples(
      codec({
        uplinkDecoder: {
          fileName: 'c.js',
          examples: [{ description: 'bad', input: { fPort: 9, bytes: [1] }, output: { data: { x: 1 }, errors: ['unknown FPort'], warnings: [] } }],
        },
      }),
      'vendor/v/c.yaml',
      both,
    );
    expect(r.file.examples).toEqual([{ description: 'bad', fPort: 9, bytesHex: '01', expected: null, errors: ['unknown FPort'], warnings: [] }]);
    expect(r.notes).toEqual(['uplink example "bad": output.data is ignored next to errors (a result with errors has no data, as in The Things Stack)']);
    expect(fPortsOf(r.file)).toEqual([]);
  });

  it('normalizedOutput: kept as written to compare with the script, readings from the fields that map', () => {
    const normalizedOutput = { data: [{ air: { temperature: 21.5 }, wind: { speed: 3.2 } }], warnings: [] };
    const r = convertExamples(
      codec({
        uplinkDecoder: {
          fileName: 'c.js',
          examples: [
            { description: 'mixed', input: { fPort: 1, bytes: [1] }, output: { data: { t: 21.5 } }, normalizedOutput },
            { description: 'failing', input: { fPort: 2, bytes: [1] }, output: { errors: ['no'] }, normalizedOutput },
          ],
        },
      }),
      'vendor/v/c.yaml',
      both,
    );
    expect(r.file.examples?.[0]).toEqual({
      description: 'mixed',
      fPort: 1,
      bytesHex: '01',
      expected: { t: 21.5 },
      expectedNormalized: normalizedOutput,
      expectedReadings: [{ values: { temperature_c: 21.5 } }],
    });
    expect(r.file.examples?.[1]?.expectedNormalized).toBeUndefined();
    expect(r.notes).toEqual([
      'uplink example "mixed": normalizedOutput field(s) without a lorawan-edge reading: wind.speed; checked as TTN does, the readings only from the fields that map',
      'uplink example "failing": normalizedOutput is ignored next to errors (nothing is decoded to normalize)',
    ]);
  });

  it('skips downlink examples of a codec in a file the entry does not have, saying so', () => {
    const r = convertExamples(
      codec({
        uplinkDecoder: { fileName: 'c.js', examples: [] },
        downlinkEncoder: { fileName: 'enc.js', examples: [{ input: { data: {} }, output: { bytes: [1] } }] },
        downlinkDecoder: {
          fileName: 'c.js',
          examples: [
            { description: 'ok', input: { fPort: 2, bytes: [1] }, output: { data: { on: true } } },
            { description: 'no', input: { fPort: 2, bytes: [9] }, output: { errors: ['unknown'] } },
          ],
        },
      }),
      'vendor/v/c.yaml',
      { encoder: false, decoder: true },
    );
    expect(r.file.downlinkEncoderExamples).toBeUndefined();
    expect(r.file.downlinkDecoderExamples).toEqual([
      { description: 'ok', fPort: 2, bytesHex: '01', expected: { on: true } },
      { description: 'no', fPort: 2, bytesHex: '09', expected: null, errors: ['unknown'] },
    ]);
    expect(r.notes).toEqual(['downlinkEncoder is in a third file (enc.js), besides the uplink decoder\'s and the downlink script: its 1 example(s) are not imported']);
  });

  it('keeps encoder examples that expect errors, and warnings of downlink examples, to be checked', () => {
    const r = convertExamples(
      codec({
        uplinkDecoder: { fileName: 'c.js', examples: [] },
        downlinkEncoder: {
          fileName: 'c.js',
          examples: [
            { description: 'too long', input: { data: { period: 99999 } }, output: { errors: ['period must be 1..65535 s'] } },
            { description: 'ok', input: { data: { period: 60 } }, output: { bytes: [0, 60], fPort: 4, warnings: ['rounded'] } },
          ],
        },
        downlinkDecoder: { fileName: 'c.js', examples: [{ description: 'ok', input: { fPort: 4, bytes: [0, 60] }, output: { data: { period: 60 }, warnings: [] } }] },
      }),
      'vendor/v/c.yaml',
      both,
    );
    expect(r.file.downlinkEncoderExamples).toEqual([
      { description: 'too long', input: { data: { period: 99999 } }, expected: null, errors: ['period must be 1..65535 s'] },
      { description: 'ok', input: { data: { period: 60 } }, expected: { bytesHex: '003c', fPort: 4 }, warnings: ['rounded'] },
    ]);
    expect(r.file.downlinkDecoderExamples).toEqual([{ description: 'ok', fPort: 4, bytesHex: '003c', expected: { period: 60 }, warnings: [] }]);
    expect(r.notes).toEqual([]);
  });

  it('says that encoder input beside data never reaches the script, as in The Things Stack', () => {
    const r = convertExamples(
      codec({
        uplinkDecoder: { fileName: 'c.js', examples: [] },
        downlinkEncoder: { fileName: 'c.js', examples: [{ description: 'reset', input: { command: 3, data: { reset: true } }, output: { bytes: [0xff], fPort: 5 } }] },
      }),
      'vendor/v/c.yaml',
      both,
    );
    expect(r.file.downlinkEncoderExamples).toEqual([{ description: 'reset', input: { data: { reset: true } }, expected: { bytesHex: 'ff', fPort: 5 } }]);
    expect(r.notes).toEqual(['downlink encoder example "reset": input command beside data never reaches the script (The Things Stack passes only data)']);
  });

  it('leaves a malformed example out alone, as a failed outcome with the file and the path of the value', () => {
    const problems = (examples: unknown[]): string[] =>
      convertExamples(codec({ uplinkDecoder: { fileName: 'c.js', examples } }), 'vendor/v/c.yaml', both).malformed.map((m) => m.problem as string);
    const prefix = 'malformed in the repository, not run: vendor/v/c.yaml: ';
    expect(problems([{ input: { fPort: 1, bytes: '0102' }, output: { data: {} } }])).toEqual([`${prefix}uplinkDecoder.examples[0].input.bytes: must be a list of bytes`]);
    expect(problems([{ input: { fPort: 0, bytes: [1] }, output: { data: {} } }])).toEqual([`${prefix}uplinkDecoder.examples[0].input.fPort: must be an application port 1..223, got 0`]);
    expect(problems([{ input: { fPort: 1, bytes: [1] }, output: {} }])).toEqual([`${prefix}uplinkDecoder.examples[0].output: has neither data nor errors`]);
    expect(problems([{ input: { fPort: 1, bytes: [1] }, output: { data: { v: Number.NaN } } }])).toEqual([`${prefix}uplinkDecoder.examples[0].output.data.v: NaN is not representable in JSON`]);
    // The good examples beside a bad one are converted (real case: Tektelic t00056xx-codec.yaml,
    // whose encoder example gives output {data: {port, bytes}} instead of {bytes, fPort}).
    const r = convertExamples(
      codec({
        uplinkDecoder: { fileName: 'c.js', examples: [{ description: 'ok', input: { fPort: 10, bytes: [1] }, output: { data: { a: 1 } } }, 'x'] },
        downlinkEncoder: { fileName: 'c.js', examples: [{ description: 'Threshold', input: { data: { t: { value: 1 } } }, output: { data: { port: '100', bytes: '[188, 1]' } } }] },
      }),
      'vendor/v/c.yaml',
      both,
    );
    expect(r.file.examples).toEqual([{ description: 'ok', fPort: 10, bytesHex: '01', expected: { a: 1 } }]);
    expect(r.file.downlinkEncoderExamples).toBeUndefined();
    expect(r.malformed).toEqual([
      { kind: 'uplink', description: 'example 2', pass: false, problem: `${prefix}uplinkDecoder.examples[1]: must be a mapping {description, input, output}` },
      { kind: 'downlink-encode', description: 'Threshold', pass: false, problem: `${prefix}downlinkEncoder.examples[0].output.bytes: must be a list of bytes` },
    ]);
  });

  it('toJson turns YAML timestamps into ISO strings', () => {
    expect(toJson({ t: new Date('2024-05-01T00:00:00Z'), l: [1, 'a', null] }, 'x')).toEqual({ t: '2024-05-01T00:00:00.000Z', l: [1, 'a', null] });
  });
});

describe('oneLineName', () => {
  it('vendor, model and the first sentence of the description, on one bounded line', () => {
    expect(oneLineName('ACME', 'X1', 'Level sensor.\nReports distance.')).toBe('ACME X1: Level sensor');
    expect(oneLineName('ACME', 'X1', undefined)).toBe('ACME X1');
    expect(oneLineName('ACME', 'X1', 'a'.repeat(300)).length).toBe(120);
  });
});
