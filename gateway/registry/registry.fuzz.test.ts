/**
 * Fuzz targets: the device registry (YAML) and the CSV import. Whatever the text, the registry
 * parses or throws a RegistryError whose problems name a field (and a line inside the file);
 * the CSV import never throws and every problem names a line of the file (or the file).
 */
import fc from 'fast-check';
import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../devices/catalogue.ts';
import { fuzzParams, fuzzTimeoutMs } from '../../support/fuzz.ts';
import { devicesFromCsv } from './csv.ts';
import { parseRegistry, RegistryError } from './devices-file.ts';

const catalogue = loadCatalogue();
const FIELDS = ['dev_eui', 'name', 'model', 'tags', 'variables', 'time', 'DEV_EUI', 'commune', 'container_depth_mm', 'sensor_offset_mm', '__proto__', 'constructor', 'naming'];
const SCALARS = ['a84041000181c9e2', 'A8-40-41-00-01-81-C9-E2', '0000000000000001', 'dingtek/df703', 'milesight-iot/em310-udl', 'nope/nope', 'bin-1', '1200', 'abc', '1e999', '.inf', '-5', '', ' ', 'ttn'];

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.constantFrom(...SCALARS), fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...FIELDS), tie('v'), { maxKeys: 6 }),
  ),
})).v;

const device = fc.record(
  { dev_eui: fc.constantFrom(...SCALARS), name: fc.constantFrom(...SCALARS), model: fc.constantFrom(...SCALARS), tags: value, variables: value },
  { requiredKeys: [] },
);
const TOKENS = ['\n', '  ', '- ', ': ', '{', '}', '[', ']', ',', '&a ', '*a', '<<: *a', '"', "'", '#', 'devices:', '\t'];
const registryText = fc.oneof(
  fc.array(fc.oneof(device, value), { maxLength: 6 }).map((devices) => yaml.dump({ devices }, { noRefs: true })),
  fc.array(fc.oneof(fc.constantFrom(...TOKENS, ...FIELDS, ...SCALARS), fc.string({ maxLength: 6 })), { maxLength: 60 }).map((p) => `devices:\n${p.join('')}`),
);

const HEADERS = ['dev_eui', 'DEV_EUI', 'name', 'Name', 'model', 'tag:commune', 'TAG:time', 'var:container_depth_mm', 'Var:Sensor_Offset_MM', 'variables.naming', 'colour', ''];
const cell = fc.oneof(fc.constantFrom(...SCALARS, '1200,5', '"quoted, cell"', '"', '""'), fc.string({ maxLength: 8 }));
const csvText = fc
  .tuple(fc.constantFrom(',', ';'), fc.array(fc.constantFrom(...HEADERS), { minLength: 0, maxLength: 7 }), fc.array(fc.array(cell, { maxLength: 8 }), { maxLength: 8 }), fc.constantFrom('\n', '\r\n'))
  .map(([sep, header, rows, eol]) => [header.join(sep), ...rows.map((r) => r.join(sep))].join(eol));

describe('fuzz: registry YAML', () => {
  it('parses or throws a RegistryError naming fields and real lines', () => {
    fc.assert(
      fc.property(registryText, (text) => {
        const lines = text.split('\n').length;
        try {
          const reg = parseRegistry(text, 'devices.yaml', catalogue, 'write');
          for (const d of reg.devices) expect(d.dev_eui).toMatch(/^[0-9a-f]{16}$/);
        } catch (err) {
          if (!(err instanceof RegistryError)) throw err;
          for (const p of err.problems) {
            expect(p.where.length).toBeGreaterThan(0);
            if (p.line !== undefined) expect(p.line >= 1 && p.line <= lines).toBe(true);
          }
        }
      }),
      fuzzParams(300),
    );
  }, fuzzTimeoutMs(300));
});

describe('fuzz: CSV import', () => {
  it('never throws; every problem names a line of the file', () => {
    fc.assert(
      fc.property(csvText, (text) => {
        const lines = text.split('\n').length;
        const r = devicesFromCsv(text, catalogue);
        for (const p of r.problems) {
          const m = /^line (\d+)/.exec(p.where);
          if (m) expect(Number(m[1]) >= 1 && Number(m[1]) <= lines).toBe(true);
          else expect(p.where).toBe('csv');
        }
        expect(r.lines).toHaveLength(r.devices.length);
      }),
      fuzzParams(500),
    );
  }, fuzzTimeoutMs(500));
});
