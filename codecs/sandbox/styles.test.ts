import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEx10, encodeEx10Downlink } from './ex10.native.ts';
import { codecForDevice, loadScriptCodec, ScriptLoadError, type ScriptLogEntry, type ScriptStyle } from './index.ts';
import { fixture, fixturePath, options, v8Script, viaJson } from './test-support.ts';

const FRAME = [0x01, 0x04, 0xd2, 0xff, 0x38, 0x5a, 0x0c, 0xe4, 0x05, 0x0c];
const EXPECTED = {
  distance: 1234,
  temperature: -20,
  humidity: 45,
  battery: 3.3,
  alarms: { full: true, fire: false, tilt: true },
  tilt_angle: 12,
};

const STYLE_FIXTURES: ReadonlyArray<{ file: string; style: ScriptStyle; functions: string[] }> = [
  { file: 'ttn-es5.js', style: 'ttn', functions: ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'normalizeUplink'] },
  { file: 'ttn-es2015.js', style: 'ttn', functions: ['decodeUplink', 'encodeDownlink', 'decodeDownlink', 'normalizeUplink'] },
  { file: 'chirpstack-esm.js', style: 'chirpstack', functions: ['decodeUplink', 'encodeDownlink'] },
  { file: 'ttn-v2-decoder.js', style: 'ttn-v2', functions: ['Decoder', 'Encoder'] },
  { file: 'chirpstack-v3-decode.js', style: 'chirpstack-v3', functions: ['Decode', 'Encode'] },
];

describe('script styles', () => {
  for (const { file, style, functions } of STYLE_FIXTURES) {
    it(`${file}: detected as ${style}, decodes the EX-10 frame like the native decoder`, async () => {
      const codec = await loadScriptCodec(fixture(file), options(file));
      expect(codec.style).toBe(style);
      expect([...codec.functions].sort()).toEqual([...functions].sort());
      const result = codec.decodeUplink({ bytes: FRAME, fPort: 1, variables: { site: 'depot-7' } });
      const expected = style === 'chirpstack-v3' ? { ...EXPECTED, site: 'depot-7' } : EXPECTED;
      expect(result).toEqual({ data: expected });
      expect(decodeEx10(FRAME, 1)).toEqual({ data: EXPECTED });
      // Forcing the detected style gives the same codec.
      const forced = await loadScriptCodec(fixture(file), options(file, { style }));
      expect(forced.decodeUplink({ bytes: FRAME, fPort: 1, variables: { site: 'depot-7' } })).toEqual(result);
      codec.dispose();
      forced.dispose();
    });

    it(`${file}: encodes the downlink`, async () => {
      const codec = await loadScriptCodec(fixture(file), options(file));
      const legacy = style === 'ttn-v2' || style === 'chirpstack-v3';
      expect(codec.encodeDownlink?.({ data: { interval_minutes: 300 } })).toEqual({ bytes: [1, 1, 44], fPort: legacy ? 1 : 3 });
      codec.dispose();
    });
  }

  it('TS013 scripts: decodeDownlink, errors and warnings pass through like native results', async () => {
    for (const file of ['ttn-es5.js', 'ttn-es2015.js']) {
      const codec = await loadScriptCodec(fixture(file), options(file));
      expect(codec.decodeDownlink?.({ bytes: [1, 1, 44], fPort: 3 })).toEqual({ data: { interval_minutes: 300 } });
      expect(codec.decodeDownlink?.({ bytes: [9, 9], fPort: 3 })).toEqual({ errors: ['unknown downlink'] });
      expect(codec.decodeUplink({ bytes: FRAME, fPort: 2 })).toEqual({ errors: ['unknown FPort'] });
      expect(codec.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ errors: ['expected 10 bytes, got 2'] });
      const low = [...FRAME];
      low[6] = 0x0b;
      low[7] = 0xb8;
      expect(codec.decodeUplink({ bytes: low, fPort: 1 })).toEqual({ data: { ...EXPECTED, battery: 3 } });
      low[7] = 0xb7;
      expect(codec.decodeUplink({ bytes: low, fPort: 1 }).warnings).toEqual(['low battery']);
      expect(codec.encodeDownlink?.({ data: { interval_minutes: 0 } })).toEqual({ errors: ['interval_minutes must be an integer 1..1440'] });
      codec.dispose();
    }
  });

  it('results equal what the same scripts give in V8', async () => {
    const inputs = [FRAME, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 255, 255, 128, 0, 255, 255, 255, 255, 255], [2, 0, 0, 0, 0, 0, 0, 0, 0, 0], [1, 2, 3]];
    for (const file of ['ttn-es5.js', 'ttn-es2015.js', 'ttn-v2-decoder.js', 'chirpstack-v3-decode.js']) {
      const codec = await loadScriptCodec(fixture(file), options(file));
      const v8 = v8Script(fixture(file), ['decodeUplink', 'Decoder', 'Decode']);
      for (const bytes of inputs) {
        const ours = codec.decodeUplink({ bytes, fPort: 1, variables: { site: 's' } });
        let reference: unknown;
        if (v8['decodeUplink']) reference = viaJson(v8['decodeUplink']({ bytes, fPort: 1, variables: { site: 's' } }));
        else if (v8['Decoder']) reference = { data: viaJson(v8['Decoder'](bytes, 1)) };
        else reference = { data: viaJson(v8['Decode']?.(1, bytes, { site: 's' })) };
        const r = reference as { data?: unknown; errors?: unknown; warnings?: unknown[] };
        // Our results leave out empty warnings and drop data when errors are present.
        const normalized = r.errors ? { errors: r.errors } : { data: r.data, ...(r.warnings?.length ? { warnings: r.warnings } : {}) };
        expect(ours, `${file} ${JSON.stringify(bytes)}`).toEqual(normalized);
      }
      codec.dispose();
    }
    const esm = (await import(fixturePath('chirpstack-esm.js').href)) as { decodeUplink(input: unknown): unknown };
    const codec = await loadScriptCodec(fixture('chirpstack-esm.js'), options('esm'));
    for (const bytes of inputs) {
      const r = viaJson(esm.decodeUplink({ bytes, fPort: 1, variables: {} })) as { data?: unknown; errors?: unknown; warnings?: unknown[] };
      const normalized = r.errors ? { errors: r.errors } : { data: r.data, ...(r.warnings?.length ? { warnings: r.warnings } : {}) };
      expect(codec.decodeUplink({ bytes, fPort: 1 })).toEqual(normalized);
    }
    codec.dispose();
  });

  it('normalizeUplink maps the TTN normalized payload onto readings, and says what it drops', async () => {
    const codec = await loadScriptCodec(fixture('ttn-es5.js'), options('norm'));
    const decoded = codec.decodeUplink({ bytes: FRAME, fPort: 1 });
    expect(codec.normalizeUplink(decoded.data ?? {})).toEqual({ readings: [{ values: { temperature_c: -20, humidity_pct: 45 } }] });
    const rich = await loadScriptCodec(
      `function decodeUplink(i) { return { data: {} }; }
       function normalizeUplink(input) {
         return { data: [
           { time: '2024-05-01T10:00:00+02:00', air: { co2: 612, pressure: 1003.2, lightIntensity: 80 }, wind: { speed: 3 } },
           { air: { temperature: 'warm' } },
         ] };
       }`,
      options('rich'),
    );
    expect(rich.normalizeUplink({})).toEqual({
      readings: [{ time: '2024-05-01T08:00:00.000Z', values: { co2_ppm: 612, pressure_hpa: 1003.2, light_lux: 80 } }],
      warnings: ['normalized field(s) without a lorawan-edge reading dropped: air.temperature, wind.speed'],
    });
    const none = await loadScriptCodec(fixture('chirpstack-esm.js'), options('none'));
    expect(none.normalizeUplink({ distance: 1 })).toEqual({ readings: [], warnings: ['the script has no normalizeUplink: no normalized readings'] });
    expect(none.encodeUplink({ readings: [{ values: { distance_mm: 1 } }] })).toEqual({ errors: ['script codecs have no device-side encoder'] });
    for (const c of [codec, rich, none]) c.dispose();
  });

  it('TTN v2 Converter and Validator run after Decoder', async () => {
    const codec = await loadScriptCodec(
      `function Decoder(bytes, port) { return { raw: bytes[0] }; }
       function Converter(decoded, port) { return { celsius: decoded.raw - 40 }; }
       function Validator(converted, port) { return converted.celsius < 100; }`,
      options('v2chain'),
    );
    expect(codec.style).toBe('ttn-v2');
    expect(codec.decodeUplink({ bytes: [60], fPort: 1 })).toEqual({ data: { celsius: 20 } });
    expect(codec.decodeUplink({ bytes: [200], fPort: 1 })).toEqual({ errors: ["the script's Validator rejected the decoded payload"] });
    codec.dispose();
  });

  it('ChirpStack style runs in strict mode, like ChirpStack v4 since 4.17', async () => {
    const sloppy = `function decodeUplink(input) { undeclared = input.bytes[0]; return { data: { v: undeclared } }; }`;
    const asTtn = await loadScriptCodec(sloppy, options('sloppy'));
    expect(asTtn.style).toBe('ttn');
    expect(asTtn.decodeUplink({ bytes: [7], fPort: 1 })).toEqual({ data: { v: 7 } });
    const asChirpstack = await loadScriptCodec(sloppy, options('strict', { style: 'chirpstack' }));
    expect(asChirpstack.decodeUplink({ bytes: [7], fPort: 1 }).errors?.[0]).toMatch(/^script threw: ReferenceError: .*undeclared/);
    // A ChirpStack v4 script need not export anything: module-scope functions are found.
    const plain = await loadScriptCodec(`function decodeUplink(input) { return { data: { n: Buffer.from(input.bytes).readUInt16LE(0) } }; }`, options('cs', { style: 'chirpstack' }));
    expect(plain.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ data: { n: 513 } });
    // …and ChirpStack passes variables (always an object) as strings.
    const vars = await loadScriptCodec(`export function decodeUplink(input) { return { data: { site: input.variables.site ?? null, n: Object.keys(input.variables).length } }; }`, options('vars'));
    expect(vars.decodeUplink({ bytes: [1], fPort: 1 })).toEqual({ data: { site: null, n: 0 } });
    expect(vars.decodeUplink({ bytes: [1], fPort: 1, variables: { site: 'a' } })).toEqual({ data: { site: 'a', n: 1 } });
    for (const c of [asTtn, asChirpstack, plain, vars]) c.dispose();
  });

  it('recvTime arrives as a Date', async () => {
    const codec = await loadScriptCodec(
      `function decodeUplink(input) { return { data: { isDate: input.recvTime instanceof Date, iso: input.recvTime.toISOString(), year: input.recvTime.getUTCFullYear() } }; }`,
      options('time'),
    );
    expect(codec.decodeUplink({ bytes: [1], fPort: 1, recvTime: new Date('2024-03-04T05:06:07.089Z') })).toEqual({
      data: { isDate: true, iso: '2024-03-04T05:06:07.089Z', year: 2024 },
    });
    codec.dispose();
  });

  it('input is checked like a native codec before the script sees it', async () => {
    const codec = await loadScriptCodec(fixture('ttn-es5.js'), options('input'));
    expect(codec.decodeUplink({ bytes: [1, 256], fPort: 1 })).toEqual({ errors: ['bytes[1] is not a byte (0..255): 256'] });
    expect(codec.decodeUplink({ bytes: [1], fPort: 0 })).toEqual({ errors: ['fPort 0 carries MAC commands, not application data'] });
    expect(codec.decodeUplink({ bytes: [], fPort: 1 })).toEqual({ errors: ['empty payload: no application data (MAC-only uplink?)'] });
    expect(codec.decodeUplink({ bytes: new Uint8Array(FRAME), fPort: 1 })).toEqual({ data: EXPECTED });
    expect(codec.decodeUplink({ bytes: FRAME, fPort: 1, variables: { n: 10n } }).errors?.[0]).toMatch(/^input is not JSON-compatible/);
    codec.dispose();
  });

  it('downlink results are checked: real bytes and an application port', async () => {
    const codec = await loadScriptCodec(
      `function encodeDownlink(input) {
         switch (input.data.kind) {
           case 'big': return { bytes: [1, 300], fPort: 2 };
           case 'port': return { bytes: [1], fPort: 0 };
           case 'none': return { fPort: 2 };
           default: return { bytes: [1, 2], fPort: 2, warnings: ['careful'] };
         }
       }`,
      options('down'),
    );
    expect(codec.encodeDownlink?.({ data: { kind: 'ok' } })).toEqual({ bytes: [1, 2], fPort: 2, warnings: ['careful'] });
    expect(codec.encodeDownlink?.({ data: { kind: 'big' } })).toEqual({ errors: ['encodeDownlink returned bytes[1] = 300, not a byte (0..255)'] });
    expect(codec.encodeDownlink?.({ data: { kind: 'port' } })).toEqual({ errors: ['encodeDownlink returned fPort 0, not an application port (1..223)'] });
    expect(codec.encodeDownlink?.({ data: { kind: 'none' } })).toEqual({ errors: ['encodeDownlink returned bytes that are not an array (got undefined)'] });
    expect(codec.decodeDownlink).toBeUndefined();
    codec.dispose();
  });

  it('scripts that cannot work are rejected at load with the reason', async () => {
    await expect(loadScriptCodec('function decodeUplink(input) { return {', options('syntax'))).rejects.toThrow(/syntax error: SyntaxError/);
    await expect(loadScriptCodec('var x = 1;', options('nothing'))).rejects.toThrow(/defines none of decodeUplink/);
    await expect(loadScriptCodec(fixture('hostile/esm-import-fs.js'), options('fs'))).rejects.toThrow(/module 'fs' is not available in the codec sandbox/);
    await expect(loadScriptCodec('for (;;) {}\nfunction decodeUplink() {}', options('toplevel', { loadTimeoutMs: 200 }))).rejects.toThrow(
      /timed out after 200 ms while loading/,
    );
    await expect(loadScriptCodec('throw new Error("nope")', options('throws'))).rejects.toThrow(/script threw while loading: Error: nope/);
    await expect(loadScriptCodec(fixture('ttn-es5.js'), options('forced', { style: 'ttn-v2' }))).rejects.toThrow(/neither Decoder nor Encoder/);
    await expect(loadScriptCodec('function decodeUplink() {}', options('bad', { timeoutMs: 0 }))).rejects.toThrow(TypeError);
    const err = await loadScriptCodec('}', options('syntax2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScriptLoadError);
  });

  it('console output goes to onLog, bounded, never to the host console', async () => {
    const entries: ScriptLogEntry[] = [];
    const codec = await loadScriptCodec(fixture('hostile/console-chatter.js'), options('log', { onLog: (e) => entries.push(e) }));
    expect(codec.forDevice('dev-1').decodeUplink({ bytes: [1, 2], fPort: 5 })).toEqual({ data: { ok: true } });
    expect(entries).toEqual([{ codecId: 'test/log', deviceId: 'dev-1', operation: 'decodeUplink', lines: ['decoding 2 bytes on port 5', 'warn: {"first":1}'] }]);
    expect(codec.decodeUplink({ bytes: [0xff], fPort: 5 })).toEqual({ data: { ok: true } });
    const flood = entries[1]?.lines ?? [];
    expect(flood.length).toBeLessThanOrEqual(51);
    expect(flood.join('\n').length).toBeLessThan(9000);
    expect(flood.at(-1)).toMatch(/^… \d+ more console line\(s\) dropped$/);
    codec.dispose();
  });

  it('codecForDevice gives script codecs a device view and leaves native codecs alone', async () => {
    const codec = await loadScriptCodec(fixture('ttn-es5.js'), options('view'));
    const view = codecForDevice(codec, 'dev-9');
    expect(view).toBe(codec.forDevice('dev-9'));
    expect(view.decodeUplink({ bytes: FRAME, fPort: 1 })).toEqual({ data: EXPECTED });
    const native = { ...view };
    expect(codecForDevice(native, 'x')).toBe(native);
    codec.dispose();
    expect(view.decodeUplink({ bytes: FRAME, fPort: 1 })).toEqual({ errors: ['the script codec was disposed'] });
  });
});

describe('Buffer for ChirpStack-style scripts', () => {
  const READS = [
    'readUInt8', 'readInt8', 'readUInt16LE', 'readUInt16BE', 'readInt16LE', 'readInt16BE', 'readUInt32LE', 'readUInt32BE',
    'readInt32LE', 'readInt32BE', 'readFloatLE', 'readFloatBE', 'readDoubleLE', 'readDoubleBE',
  ];

  it('behaves like Node Buffer for reads, writes and encodings', async () => {
    const codec = await loadScriptCodec(
      `export function decodeUplink(input) {
         const b = Buffer.from(input.bytes);
         const reads = {};
         for (const name of ${JSON.stringify(READS)}) {
           const size = /8/.test(name) ? 1 : /16/.test(name) ? 2 : /32|Float/.test(name) ? 4 : 8;
           reads[name] = b.length >= size ? String(b[name](0)) : 'short';
         }
         const w = Buffer.alloc(12);
         w.writeUInt16BE(0xabcd, 0); w.writeInt16LE(-2, 2); w.writeUInt32LE(0xdeadbeef, 4); w.writeInt32BE(-5, 8);
         return { data: {
           reads,
           hex: b.toString('hex'), base64: b.toString('base64'), utf8: b.toString('utf8'), latin1: b.toString('latin1'),
           fromHex: Array.from(Buffer.from(b.toString('hex'), 'hex')), fromBase64: Array.from(Buffer.from(b.toString('base64'), 'base64')),
           slice: Array.from(b.slice(1, 3)), written: w.toString('hex'), json: b.toJSON(),
           uintBE: b.length >= 3 ? b.readUIntBE(0, 3) : null, intLE: b.length >= 3 ? b.readIntLE(0, 3) : null,
           concat: Buffer.concat([b, Buffer.from([1])]).length, isBuffer: Buffer.isBuffer(b),
         } };
       }`,
      options('buffer'),
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 12 }), async (arr) => {
        const b = Buffer.from(arr);
        const reads: Record<string, string> = {};
        for (const name of READS) {
          const size = /8/.test(name) ? 1 : /16/.test(name) ? 2 : /32|Float/.test(name) ? 4 : 8;
          reads[name] = b.length >= size ? String((b as unknown as Record<string, (o: number) => number>)[name]?.call(b, 0)) : 'short';
        }
        const w = Buffer.alloc(12);
        w.writeUInt16BE(0xabcd, 0);
        w.writeInt16LE(-2, 2);
        w.writeUInt32LE(0xdeadbeef, 4);
        w.writeInt32BE(-5, 8);
        const expected = {
          reads,
          hex: b.toString('hex'),
          base64: b.toString('base64'),
          utf8: b.toString('utf8'),
          latin1: b.toString('latin1'),
          fromHex: Array.from(b),
          fromBase64: Array.from(b),
          slice: Array.from(b.subarray(1, 3)),
          written: w.toString('hex'),
          json: b.toJSON(),
          uintBE: b.length >= 3 ? b.readUIntBE(0, 3) : null,
          intLE: b.length >= 3 ? b.readIntLE(0, 3) : null,
          concat: b.length + 1,
          isBuffer: true,
        };
        if (arr.length === 0) return; // empty payloads are rejected before the script runs
        expect(codec.decodeUplink({ bytes: arr, fPort: 1 })).toEqual({ data: viaJson(expected) });
      }),
      { numRuns: 300 },
    );
    codec.dispose();
  });

  it('can be imported the ChirpStack way', async () => {
    const codec = await loadScriptCodec(
      `import { Buffer } from 'buffer';
       export function decodeUplink(input) { return { data: { v: Buffer.from(input.bytes).readUInt16BE(0) } }; }`,
      options('import-buffer'),
    );
    expect(codec.decodeUplink({ bytes: [1, 2], fPort: 1 })).toEqual({ data: { v: 258 } });
    codec.dispose();
  });
});

describe('native reference', () => {
  it('encodes the EX-10 downlink like the fixtures', () => {
    expect(encodeEx10Downlink(300)).toEqual({ fPort: 3, bytes: [1, 1, 44] });
    expect(encodeEx10Downlink(0)).toEqual({ errors: ['interval_minutes must be an integer 1..1440'] });
  });
});
