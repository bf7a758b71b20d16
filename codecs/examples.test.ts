import { describe, expect, it } from 'vitest';
import { defineCodec } from './define.ts';
import { firstDifference, jsonEqual, runExampleFile } from './examples.ts';

describe('jsonEqual / firstDifference', () => {
  it('ignores key order, respects types and tolerance', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: '1' })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual([1.000001], [1], 1e-5)).toBe(true);
    expect(firstDifference({ a: { b: [1, 2] } }, { a: { b: [1, 3] } })).toBe('.a.b[1]: got 2, expected 3');
  });
});

describe('runExampleFile', () => {
  const codec = defineCodec({
    id: 't/t',
    name: 't',
    category: 'generic',
    fPorts: [1],
    decodeUplink: ({ bytes, fPort }) => (fPort === 1 ? { data: { v: bytes[0] ?? 0 } } : { errors: ['unknown FPort'] }),
    normalizeUplink: (data) => ({ readings: [{ values: { analog_input: data['v'] as number } }] }),
    encodeUplink: () => ({ bytes: [0], fPort: 1 }),
  });

  it('passes matching examples and explains failing ones', () => {
    const outcomes = runExampleFile(codec, {
      examples: [
        { description: 'ok', fPort: 1, bytesHex: '05', expected: { v: 5 }, expectedReadings: [{ values: { analog_input: 5 } }] },
        { description: 'wrong', fPort: 1, bytesHex: '05', expected: { v: 6 } },
        { description: 'errors', fPort: 2, bytesHex: '05', expected: null, errors: ['unknown FPort'] },
        { description: 'errors wrong', fPort: 2, bytesHex: '05', expected: null, errors: ['other'] },
      ],
      downlinkEncoderExamples: [{ description: 'no encoder', input: { data: {} }, expected: { bytesHex: '00' } }],
    });
    expect(outcomes.map((o) => [o.kind, o.description, o.pass])).toEqual([
      ['uplink', 'ok', true],
      ['normalize', 'ok', true],
      ['uplink', 'wrong', false],
      ['uplink', 'errors', true],
      ['uplink', 'errors wrong', false],
      ['downlink-encode', 'no encoder', false],
    ]);
    expect(outcomes[2]?.problem).toBe('data.v: got 5, expected 6');
  });

  it('runs encoder examples that expect errors, and compares listed errors and warnings exactly', () => {
    const downlink = defineCodec({
      id: 't/d',
      name: 'd',
      category: 'generic',
      fPorts: [1],
      decodeUplink: () => ({ data: {} }),
      normalizeUplink: () => ({ readings: [] }),
      encodeUplink: () => ({ bytes: [0], fPort: 1 }),
      encodeDownlink: ({ data }) => {
        const n = data['n'];
        if (typeof n !== 'number' || n > 9) return { errors: ['n must be 0..9'] };
        return { bytes: [n], fPort: 3, ...(n === 0 ? { warnings: ['zero'] } : {}) };
      },
      decodeDownlink: ({ bytes }) => ({ data: { n: bytes[0] ?? 0 }, ...(bytes[0] === 0 ? { warnings: ['zero'] } : {}) }),
    });
    const outcomes = runExampleFile(downlink, {
      downlinkEncoderExamples: [
        { description: 'fails as expected', input: { data: { n: 12 } }, expected: null, errors: ['n must be 0..9'] },
        { description: 'fails, errors unlisted', input: { data: { n: 12 } }, expected: null },
        { description: 'other error', input: { data: { n: 12 } }, expected: null, errors: ['n is too big'] },
        { description: 'expected to fail but encodes', input: { data: { n: 1 } }, expected: null, errors: ['n must be 0..9'] },
        { description: 'warning listed', input: { data: { n: 0 } }, expected: { bytesHex: '00', fPort: 3 }, warnings: ['zero'] },
        { description: 'warning missing', input: { data: { n: 1 } }, expected: { bytesHex: '01', fPort: 3 }, warnings: ['zero'] },
      ],
      downlinkDecoderExamples: [
        { description: 'decoder warning', fPort: 3, bytesHex: '00', expected: { n: 0 }, warnings: ['zero'] },
        { description: 'decoder warning wrong', fPort: 3, bytesHex: '00', expected: { n: 0 }, warnings: [] },
      ],
    });
    expect(outcomes.map((o) => [o.description, o.pass])).toEqual([
      ['fails as expected', true],
      ['fails, errors unlisted', true],
      ['other error', false],
      ['expected to fail but encodes', false],
      ['warning listed', true],
      ['warning missing', false],
      ['decoder warning', true],
      ['decoder warning wrong', false],
    ]);
    expect(outcomes[2]?.problem).toBe('errors[0]: got "n must be 0..9", expected "n is too big"');
    expect(outcomes[3]?.problem).toContain('expected errors, got bytes 01');
    expect(outcomes[5]?.problem).toBe('warnings[0]: got undefined, expected "zero"');
  });
});
