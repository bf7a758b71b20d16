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
});
