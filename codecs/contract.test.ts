/**
 * The contract every registered codec keeps, checked the same way for all of them:
 * - its folder has the files a codec folder must have, and every folder is registered;
 * - its own examples.json passes;
 * - the decoder never throws and always returns a well-formed result, on 10,000+ inputs per
 *   codec: random bytes on random ports, and the public examples truncated, extended,
 *   bit-flipped and sent on the wrong port;
 * - `normalizeUplink(decodeUplink(encodeUplink(x)))` gives back x (property test on the
 *   codec's own readings grid, from its arbitrary.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Codec, DecodeResult } from './api.ts';
import { fromHex, toHex } from './bytes.ts';
import { findNonJson } from './define.ts';
import { jsonEqual, runExampleFile, type ExampleFile } from './examples.ts';
import { readingField } from './readings.ts';
import { NATIVE_CODECS } from './registry.ts';
import type { RoundTripSpec } from './testing/round-trip.ts';
import { REPO_ROOT } from './testing/paths.ts';

const CODECS_DIR = join(REPO_ROOT, 'codecs');
// `lorawan-edge codec test <id> --contract` runs the contract of one codec alone.
const ONLY = process.env['LORAWAN_EDGE_CONTRACT_CODEC'];
const CHECKED = ONLY ? NATIVE_CODECS.filter((c) => c.id === ONLY) : NATIVE_CODECS;
const REQUIRED_FILES = ['codec.ts', 'codec.test.ts', 'arbitrary.ts', 'examples.json', 'README.md'];
const NOT_VENDORS = new Set(['testing', 'sandbox', 'node_modules']);

function codecFolders(): string[] {
  const out: string[] = [];
  for (const vendor of readdirSync(CODECS_DIR)) {
    const vdir = join(CODECS_DIR, vendor);
    if (NOT_VENDORS.has(vendor) || !statSync(vdir).isDirectory()) continue;
    for (const id of readdirSync(vdir)) {
      if (statSync(join(vdir, id)).isDirectory()) out.push(`${vendor}/${id}`);
    }
  }
  return out.sort();
}

function loadExamples(codec: Codec): ExampleFile {
  return JSON.parse(readFileSync(join(CODECS_DIR, codec.id, 'examples.json'), 'utf8')) as ExampleFile;
}

/** A decode result is well formed: data is plain JSON or absent; no data means a reason. */
function assertWellFormed(r: DecodeResult, context: string): void {
  if (!r || typeof r !== 'object') throw new Error(`${context}: result is not an object`);
  for (const key of ['errors', 'warnings'] as const) {
    const list = r[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((e) => typeof e !== 'string' || e.length === 0)) {
      throw new Error(`${context}: ${key} must be an array of non-empty strings: ${JSON.stringify(list)}`);
    }
  }
  if (r.data === undefined || r.data === null) {
    if (!r.errors || r.errors.length === 0) throw new Error(`${context}: no data and no errors`);
    return;
  }
  if (typeof r.data !== 'object' || Array.isArray(r.data)) throw new Error(`${context}: data is not an object`);
  const bad = findNonJson(r.data);
  if (bad) throw new Error(`${context}: non-JSON value at ${bad}`);
}

describe('codec folders', () => {
  it('every folder under codecs/<vendor>/ is registered and vice versa', () => {
    expect(codecFolders()).toEqual(NATIVE_CODECS.map((c) => c.id).sort());
  });
  for (const codec of CHECKED) {
    it(`${codec.id} has ${REQUIRED_FILES.join(', ')}`, () => {
      const missing = REQUIRED_FILES.filter((f) => !existsSync(join(CODECS_DIR, codec.id, f)));
      expect(missing).toEqual([]);
    });
  }
});

for (const codec of CHECKED) {
  describe(`${codec.id} contract`, () => {
    it('passes its own examples.json', () => {
      const outcomes = runExampleFile(codec, loadExamples(codec));
      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.filter((o) => !o.pass)).toEqual([]);
    });

    it('never throws and always returns a well-formed result (10,000+ inputs)', () => {
      const seeds = (loadExamples(codec).examples ?? [])
        .map((e) => ({ bytes: fromHex(e.bytesHex) ?? new Uint8Array(), fPort: e.fPort }))
        .filter((s) => s.bytes.length > 0);
      const anyPort = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(-1, 256, 1.5, Number.NaN));
      const randomInput = fc.record({ bytes: fc.uint8Array({ maxLength: 80 }), fPort: anyPort });
      const mutated =
        seeds.length === 0
          ? randomInput
          : fc
              .record({
                seed: fc.constantFrom(...seeds),
                cut: fc.nat({ max: 64 }),
                extra: fc.uint8Array({ maxLength: 16 }),
                flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { maxLength: 4 }),
                mode: fc.constantFrom('truncate', 'extend', 'flip', 'wrong-port', 'all'),
                port: anyPort,
              })
              .map(({ seed, cut, extra, flips, mode, port }) => {
                let b = Uint8Array.from(seed.bytes);
                let fPort = seed.fPort;
                if (mode === 'truncate' || mode === 'all') b = b.subarray(0, Math.max(0, b.length - 1 - (cut % b.length)));
                if (mode === 'extend' || mode === 'all') b = Uint8Array.from([...b, ...extra]);
                if (mode === 'flip' || mode === 'all') {
                  for (const [at, bit] of flips) if (b.length > 0) b[at % b.length] = (b[at % b.length] as number) ^ (1 << bit);
                }
                if (mode === 'wrong-port' || mode === 'all') fPort = port;
                return { bytes: b, fPort };
              });
      let runs = 0;
      fc.assert(
        fc.property(fc.oneof(randomInput, mutated, mutated), fc.boolean(), (input, asArray) => {
          runs++;
          const bytes = asArray ? Array.from(input.bytes) : input.bytes;
          const r = codec.decodeUplink({ bytes, fPort: input.fPort, recvTime: new Date(1_760_000_000_000) });
          assertWellFormed(r, `decodeUplink(${toHex(input.bytes)}, port ${input.fPort})`);
          if (r.data) {
            const n = codec.normalizeUplink(r.data, { variables: { container_depth_mm: 1000 }, recvTime: new Date(1_760_000_000_000) });
            if (!Array.isArray(n.readings)) throw new Error('normalize did not return readings');
            for (const reading of n.readings) {
              for (const [k, v] of Object.entries(reading.values)) {
                const field = readingField(k);
                if (!field) throw new Error(`normalize emitted unknown reading ${k}`);
                if (typeof v !== field.type) throw new Error(`normalize emitted ${k}=${String(v)}, expected ${field.type}`);
                if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`normalize emitted ${k}=${v}`);
              }
            }
          }
        }),
        { numRuns: 10_000 },
      );
      expect(runs).toBeGreaterThanOrEqual(10_000);
    });

    it('rejects empty payloads, non-byte arrays and bad ports with errors, not exceptions', () => {
      for (const input of [
        { bytes: [], fPort: 1 },
        { bytes: [256], fPort: 1 },
        { bytes: [-1, 2], fPort: 1 },
        { bytes: 'abc', fPort: 1 },
        { bytes: [1, 2, 3], fPort: -1 },
        { bytes: [1, 2, 3], fPort: 0 },
        null,
      ]) {
        const r = codec.decodeUplink(input as never);
        expect(r.errors?.length, JSON.stringify(input)).toBeGreaterThan(0);
        expect(r.data).toBeUndefined();
      }
    });

    it('round-trips: normalize(decode(encodeUplink(x))) == x', async () => {
      // Codec ids hold a slash; import by file URL (vite cannot analyse a two-level variable path).
      const url = pathToFileURL(join(CODECS_DIR, codec.id, 'arbitrary.ts')).href;
      const mod = (await import(/* @vite-ignore */ url)) as { roundTrip: RoundTripSpec };
      fc.assert(
        fc.property(mod.roundTrip.arbitrary, (input) => {
          const enc = codec.encodeUplink(input);
          if (!enc.bytes || enc.fPort === undefined) throw new Error(`encodeUplink failed: ${JSON.stringify(enc.errors)}`);
          const dec = codec.decodeUplink({
            bytes: enc.bytes,
            fPort: enc.fPort,
            ...(input.time ? { recvTime: input.time } : {}),
            ...(input.variables ? { variables: input.variables } : {}),
          });
          if (!dec.data) throw new Error(`decode of ${toHex(enc.bytes)} failed: ${JSON.stringify(dec.errors)}`);
          const norm = codec.normalizeUplink(dec.data, {
            ...(input.variables ? { variables: input.variables } : {}),
            ...(input.time ? { recvTime: input.time } : {}),
          });
          const expected = mod.roundTrip.expected ? mod.roundTrip.expected(input) : input.readings;
          if (!jsonEqual(JSON.parse(JSON.stringify(norm.readings)), JSON.parse(JSON.stringify(expected)))) {
            throw new Error(`round trip differs for ${toHex(enc.bytes)}:\n got ${JSON.stringify(norm.readings)}\n want ${JSON.stringify(expected)}`);
          }
        }),
        { numRuns: 1_000 },
      );
    });
  });
}
