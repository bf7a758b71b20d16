// Fuzz target for MQTT downlink commands (an external input): parseCommandDown never throws,
// refuses with a known reason, and what it accepts is exactly the command that was sent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCommandDown } from './command-down.ts';

const EXPECT = { prefix: 'application', applicationId: 'app-1' };
const REASONS = new Set(['oversized', 'bad_json', 'bad_field', 'bad_base64', 'topic_mismatch']);
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));

describe('parseCommandDown (fuzz, seeded)', () => {
  it('never throws on arbitrary bytes and JSON values', () => {
    fc.assert(
      fc.property(eui, fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null'))), (devEui, payload) => {
        const r = parseCommandDown(`application/app-1/device/${devEui}/command/down`, payload, EXPECT);
        if (!r.ok) expect(REASONS.has(r.reason)).toBe(true);
      }),
      { seed: 1010, numRuns: 400 },
    );
  });

  it('accepts every well-formed command as sent', () => {
    fc.assert(
      fc.property(eui, fc.integer({ min: 1, max: 223 }), fc.boolean(), fc.uint8Array({ maxLength: 222 }), (devEui, fPort, confirmed, data) => {
        const body = { devEui: devEui.toUpperCase(), confirmed, fPort, data: Buffer.from(data).toString('base64') };
        const r = parseCommandDown(`application/app-1/device/${devEui}/command/down`, Buffer.from(JSON.stringify(body)), EXPECT);
        expect(r).toEqual({ ok: true, command: { devEui, fPort, confirmed, data: Buffer.from(data) } });
      }),
      { seed: 1011, numRuns: 300 },
    );
  });

  it('takes an object command (for the codec) as sent, and refuses a deep or non-object one', () => {
    fc.assert(
      fc.property(eui, fc.integer({ min: 1, max: 223 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }), (devEui, fPort, object) => {
        const payload = Buffer.from(JSON.stringify({ devEui, fPort, object }));
        const r = parseCommandDown(`application/app-1/device/${devEui}/command/down`, payload, EXPECT);
        if (payload.length > 4096) return;
        expect(r).toEqual({ ok: true, command: { devEui, fPort, confirmed: false, object: JSON.parse(JSON.stringify(object)) } });
      }),
      { seed: Number(process.env['FUZZ_SEED'] ?? 1012), numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) },
    );
    const t = 'application/app-1/device/0000000000000001/command/down';
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect(parseCommandDown(t, Buffer.from(JSON.stringify({ devEui: '0000000000000001', fPort: 1, object: deep })), EXPECT)).toMatchObject({ ok: false, reason: 'bad_field', detail: expect.stringContaining('deeper') });
    expect(parseCommandDown(t, Buffer.from(JSON.stringify({ devEui: '0000000000000001', fPort: 1, object: [1] })), EXPECT)).toMatchObject({ ok: false, reason: 'bad_field' });
  });

  it('names the reason of each refusal', () => {
    const t = 'application/app-1/device/0000000000000001/command/down';
    const p = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
    expect(parseCommandDown('application/other/device/0000000000000001/command/down', p({}), EXPECT)).toMatchObject({ ok: false, reason: 'topic_mismatch' });
    expect(parseCommandDown(t, Buffer.from('{'), EXPECT)).toMatchObject({ ok: false, reason: 'bad_json' });
    // snake_case names, as ChirpStack's parser takes them
    expect(parseCommandDown(t, p({ dev_eui: '0000000000000001', f_port: 7, data: 'AQ==' }), EXPECT)).toMatchObject({ ok: true, command: { fPort: 7, data: Buffer.of(1) } });
    expect(parseCommandDown(t, p([1]), EXPECT)).toMatchObject({ ok: false, reason: 'bad_json' });
    expect(parseCommandDown(t, p({ devEui: '0000000000000001', fPort: 224, data: '' }), EXPECT)).toMatchObject({ ok: false, reason: 'bad_field', detail: expect.stringContaining('fPort') });
    expect(parseCommandDown(t, p({ devEui: '0000000000000001', fPort: 1, data: 'AAA' }), EXPECT)).toMatchObject({ ok: false, reason: 'bad_base64' });
    expect(parseCommandDown(t, p({ devEui: '0000000000000001', fPort: 1, confirmed: 'yes', data: '' }), EXPECT)).toMatchObject({ ok: false, reason: 'bad_field' });
  });
});
