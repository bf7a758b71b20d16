/**
 * Fuzz target: the gateway config file. Whatever the bytes, loadConfig gives a config or a
 * ConfigError whose every problem is one line naming a key — never another exception, never a
 * hang on aliases (the bounded YAML reader), never a prototype change.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { fuzzParams, fuzzTimeoutMs } from '../support/fuzz.ts';
import { ConfigError, loadConfig } from './config.ts';

const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = ['name', 'data_dir', 'http', 'listen', 'log', 'level', 'registry', 'devices_file', 'buffer', 'rejects', 'sources', 'sinks', 'type', 'url', 'password', 'topics', 'format', '__proto__', 'constructor', 'prototype', 'schema', 'dir'];
const TOKENS = ['\n', '  ', '- ', ': ', '{', '}', '[', ']', ',', '&a ', '*a', '&b [*a,*a,*a]', '<<: *a', '"', "'", '#', '!!binary ', '${HOME}', '${UNSET:-x}', 'chirpstack_mqtt', 'mqtt://u:p@127.0.0.1:1883', 'influxdb', 'file', '.inf', '1e999', '-1', '0x10', 'true', '~', '\t', '\u0000', '\uFEFF'];

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('chirpstack_mqtt', 'mqtt://127.0.0.1:1883', 'influxdb', 'file', '127.0.0.1:0')),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('v'), { maxKeys: 5 }),
  ),
})).v;

/** Structured documents (valid YAML, odd shapes) and token soup (mostly invalid YAML). */
const documents = fc.oneof(
  value.map((v) => yaml.dump(v, { noRefs: true })),
  fc.array(fc.oneof(fc.constantFrom(...TOKENS, ...KEYS), fc.string({ maxLength: 8 })), { maxLength: 60 }).map((parts) => parts.join('')),
);

describe('fuzz: gateway config YAML', () => {
  it('gives a config or a ConfigError of one-line problems naming keys', () => {
    let n = 0;
    fc.assert(
      fc.property(documents, (text) => {
        const file = join(dir, `c${n++ % 8}.yaml`);
        writeFileSync(file, text);
        try {
          const cfg = loadConfig(file, {});
          expect(cfg.sources.length).toBeGreaterThan(0);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          for (const p of err.problems) {
            expect(p.key.length).toBeGreaterThan(0);
            expect(p.message).not.toContain('\n');
          }
        }
        expect(({} as Record<string, unknown>)['data_dir']).toBeUndefined();
      }),
      fuzzParams(300),
    );
  }, fuzzTimeoutMs(300));
});
