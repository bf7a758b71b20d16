/**
 * `lorawan-edge codec new <vendor>/<id>`: an integrator's first device in minutes. Writes a
 * native codec folder that already keeps the codec contract — `codec.ts`, `codec.test.ts`,
 * `arbitrary.ts`, `examples.json`, `README.md` —, the catalogue entry
 * `devices/<vendor>/<id>.yaml` and the line in `codecs/registry.ts`, so `validate` and the contract
 * test pass before the first edit. The integrator then replaces the placeholder frame layout with
 * the device's own (the generated README says where) and keeps the tests green.
 *
 * Without `--from`, the codec is a small documented frame for the category (bin-fill: distance +
 * battery; water-meter: index + battery; air-quality: CO₂, temperature, humidity; generic: one
 * value). With `--from <existing id>`, the existing native codec (ours) is the starting point:
 * its codec, test, arbitrary and examples are copied under the new id.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES, type Category } from '../codecs/api.ts';
import { PACKAGE_ROOT } from '../codecs/package-root.ts';
import { fillPercent } from '../codecs/readings.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export interface ScaffoldOptions {
  root: string;
  id: string;
  category?: Category;
  from?: string;
  name?: string;
}

export interface ScaffoldResult {
  files: string[];
}

export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

const ID_RE = /^([a-z0-9][a-z0-9-]*)\/([a-z0-9][a-z0-9-]*)$/;

function camel(id: string): string {
  return id.replace(/[-/]([a-z0-9])/g, (_m, c: string) => c.toUpperCase()).replace(/^[a-z]/, (c) => c);
}

interface Template {
  fields: { key: string; reading: string; unit: string; bytes: 1 | 2 | 4; signed?: boolean; scale: number; min: number; max: number; description: string }[];
  readingsExtra?: string;
}

const TEMPLATES: Record<Category, Template> = {
  'bin-fill': {
    fields: [
      { key: 'distance', reading: 'distance_mm', unit: 'mm', bytes: 2, scale: 1, min: 0, max: 65535, description: 'distance from the sensor face to the waste, mm' },
      { key: 'battery', reading: 'battery_pct', unit: '%', bytes: 1, scale: 1, min: 0, max: 100, description: 'battery, %' },
    ],
    readingsExtra: 'fill_pct',
  },
  'water-meter': {
    fields: [
      { key: 'volume', reading: 'volume_m3', unit: 'm³', bytes: 4, scale: 1000, min: 0, max: 4294967295, description: 'meter index, litres (volume_m3 = litres / 1000)' },
      { key: 'battery', reading: 'battery_pct', unit: '%', bytes: 1, scale: 1, min: 0, max: 100, description: 'battery, %' },
    ],
  },
  'air-quality': {
    fields: [
      { key: 'co2', reading: 'co2_ppm', unit: 'ppm', bytes: 2, scale: 1, min: 0, max: 65535, description: 'CO₂, ppm' },
      { key: 'temperature', reading: 'temperature_c', unit: '°C', bytes: 2, signed: true, scale: 10, min: -32768, max: 32767, description: 'temperature × 10, °C' },
      { key: 'humidity', reading: 'humidity_pct', unit: '%RH', bytes: 1, scale: 1, min: 0, max: 100, description: 'relative humidity, %' },
    ],
  },
  generic: {
    fields: [{ key: 'value', reading: 'generic_value', unit: '', bytes: 2, signed: true, scale: 100, min: -32768, max: 32767, description: 'a value × 100' }],
  },
};

const readOp = (f: Template['fields'][number]): string => (f.bytes === 1 ? 'u8' : f.bytes === 2 ? (f.signed ? 'i16be' : 'u16be') : 'u32be');

function codecSource(id: string, name: string, category: Category, t: Template): string {
  const frameBytes = t.fields.reduce((n, f) => n + f.bytes, 0);
  let offset = 0;
  const layout = t.fields.map((f) => {
    const line = ` *   ${String(offset).padEnd(2)}${f.bytes > 1 ? `-${offset + f.bytes - 1}` : '  '} ${readOp(f).padEnd(6)} ${f.description}`;
    offset += f.bytes;
    return line;
  });
  const dataValue = (f: Template['fields'][number]): string => (f.scale === 1 || f.reading === 'volume_m3' ? `r.${readOp(f)}('${f.key}')` : `r.${readOp(f)}('${f.key}') / ${f.scale}`);
  const readingValue = (f: Template['fields'][number]): string => (f.reading === 'volume_m3' ? `num('${f.key}') / 1000` : `num('${f.key}')`);
  const encodeValue = (f: Template['fields'][number]): string => {
    if (f.reading === 'volume_m3') return `.${readOp(f)}(Math.round(numberValue(v, '${f.reading}', 0) * 1000), '${f.reading}')`;
    return `.${readOp(f)}(Math.round(numberValue(v, '${f.reading}', 0)${f.scale === 1 ? '' : ` * ${f.scale}`}), '${f.reading}')`;
  };
  const bin = category === 'bin-fill';
  return `/**
 * ${name}, fPort 1. PLACEHOLDER LAYOUT written by \`lorawan-edge codec new\`: replace it with the
 * device's own frame format (from the vendor's documentation), and keep \`data\` exactly what the
 * vendor's or TTN's codec returns for it.
 *
 * ${frameBytes} bytes, integers big-endian:
${layout.join('\n')}
 */
import type { DecodeResult, JsonObject, NormalizeResult, Reading, UplinkEncodeInput, UplinkEncodeResult } from '../../api.ts';
import { ByteReader, ByteWriter, PayloadError } from '../../bytes.ts';
import { defineCodec, firstReading, numberValue } from '../../define.ts';
${bin ? "import { distanceForFill, fillPercent } from '../../readings.ts';\n" : ''}
const PORT = 1;
const FRAME_BYTES = ${frameBytes};

function decodeFrame(bytes: Uint8Array): DecodeResult {
  if (bytes.length !== FRAME_BYTES) throw new PayloadError(\`unexpected frame length \${bytes.length}: ${name} frames are \${FRAME_BYTES} bytes\`);
  const r = new ByteReader(bytes);
  const data: JsonObject = {
${t.fields.map((f) => `    ${f.key}: ${dataValue(f)},`).join('\n')}
  };
  return { data };
}

function normalize(data: JsonObject, variables: Record<string, unknown> | undefined): NormalizeResult {
  const num = (key: string): number => {
    const v = data[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new PayloadError(\`data.\${key} must be a number\`);
    return v;
  };
  const values: Reading['values'] = {
${t.fields.map((f) => `    ${f.reading}: ${readingValue(f)},`).join('\n')}
  };
${
  bin
    ? `  const fill = fillPercent(num('distance'), variables);
  if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
  return { readings: [{ values }], ...(fill.warning ? { warnings: [fill.warning] } : {}) };`
    : `  void variables;
  return { readings: [{ values }] };`
}
}

function encodeUplink(input: UplinkEncodeInput): UplinkEncodeResult {
  if (input.fPort !== undefined && input.fPort !== PORT) throw new PayloadError(\`${name} sends on fPort \${PORT} only, not \${input.fPort}\`);
  const v = { ...firstReading(input) };
${bin ? "  if (typeof v['distance_mm'] !== 'number' && typeof v['fill_pct'] === 'number') {\n    const d = distanceForFill(v['fill_pct'], input.variables);\n    if (d !== undefined) v['distance_mm'] = d;\n  }\n" : ''}  const bytes = new ByteWriter()
${t.fields.map((f) => `    ${encodeValue(f)}`).join('\n')}
    .toArray();
  return { bytes, fPort: PORT };
}

export const codec = defineCodec({
  id: '${id}',
  name: '${name.replace(/'/g, "\\'")}',
  category: '${category}',
  fPorts: [PORT],
  decodeUplink({ bytes, fPort }) {
    if (fPort !== PORT) return { errors: ['unknown FPort'] };
    return decodeFrame(bytes);
  },
  normalizeUplink(data, { variables }) {
    return normalize(data, variables);
  },
  encodeUplink,
});
`;
}

function arbitrarySource(category: Category, t: Template): string {
  const gen = (f: Template['fields'][number]): string => {
    if (f.reading === 'volume_m3') return `${f.reading}: fc.integer({ min: 0, max: 4294967295 }).map((l) => l / 1000)`;
    return `${f.reading}: fc.integer({ min: ${f.min}, max: ${f.max} })${f.scale === 1 ? '' : `.map((x) => x / ${f.scale})`}`;
  };
  const bin = category === 'bin-fill';
  return `/**
 * Readings on the placeholder frame's grid (see codec.ts): whole units as the frame carries them,
 * within its ranges. Update it with the layout.
 */
import fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../../api.ts';
${bin ? "import { fillPercent } from '../../readings.ts';\n" : ''}import type { RoundTripSpec } from '../../testing/round-trip.ts';

const values = fc.record({
${t.fields.map((f) => `  ${gen(f)},`).join('\n')}
});
${
  bin
    ? `const variables = fc.option(fc.record({ container_depth_mm: fc.integer({ min: 100, max: 7500 }), sensor_offset_mm: fc.integer({ min: 0, max: 500 }) }), { nil: undefined });

export const roundTrip: RoundTripSpec = {
  arbitrary: fc.record({ values, variables }).map(({ values: v, variables: vars }) => ({ readings: [{ values: v }], ...(vars ? { variables: vars } : {}) })),
  expected(input: UplinkEncodeInput): Reading[] {
    const v = (input.readings[0] as Reading).values;
    const fill = fillPercent(v['distance_mm'] as number, input.variables).fill_pct;
    return [{ values: { ...v, ...(fill !== undefined ? { fill_pct: fill } : {}) } }];
  },
};`
    : `
export const roundTrip: RoundTripSpec = {
  arbitrary: values.map((v) => ({ readings: [{ values: v }] })),
  expected: (input: UplinkEncodeInput): Reading[] => input.readings,
};`
}
`;
}

function testSource(id: string): string {
  return `/**
 * ${id}: the examples round-trip through the device side (decode → normalize → encode → decode
 * gives the same data), and a frame cut short is an error, never an exception. The contract
 * test (codecs/contract.test.ts) adds its fuzz and property tests for every codec.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../api.ts';
import { fromHex } from '../../bytes.ts';
import { codec } from './codec.ts';

interface Example {
  description: string;
  fPort: number;
  bytesHex: string;
  variables?: Record<string, unknown>;
  expected?: unknown;
  errors?: string[];
}
const file = JSON.parse(readFileSync(new URL('./examples.json', import.meta.url), 'utf8')) as { examples?: Example[] };
const valid = (file.examples ?? []).filter((e) => e.expected !== null && !e.errors?.length);

describe('${id} uplink', () => {
  it.each(valid.map((e) => [e.description, e] as const))('%s: its readings survive encode → decode → normalize', (_d, e) => {
    const first = codec.decodeUplink({ bytes: fromHex(e.bytesHex) as Uint8Array, fPort: e.fPort, variables: e.variables });
    expect(first.errors ?? []).toEqual([]);
    const readings = codec.normalizeUplink(first.data as JsonObject, { variables: e.variables }).readings;
    const encoded = codec.encodeUplink({ readings, variables: e.variables, fPort: e.fPort });
    expect(encoded.errors ?? []).toEqual([]);
    const again = codec.decodeUplink({ bytes: Uint8Array.from(encoded.bytes ?? []), fPort: encoded.fPort ?? e.fPort, variables: e.variables });
    const back = codec.normalizeUplink(again.data as JsonObject, { variables: e.variables }).readings;
    // The device side may send a richer frame than the example (more fields): what the example
    // carried must come back unchanged.
    readings.forEach((r, i) => expect(back[i]?.values).toMatchObject(r.values));
  });

  it('reports a frame cut short as an error on every port, never throws', () => {
    for (const fPort of codec.fPorts) {
      const r = codec.decodeUplink({ bytes: fromHex('01') as Uint8Array, fPort });
      expect(r.errors?.length, \`fPort \${fPort}\`).toBeGreaterThan(0);
    }
  });
});
`;
}

function examplesFor(id: string, name: string, category: Category, t: Template): object {
  // Two frames: every field at a typical value, and at its extremes; one truncated frame.
  const typical: Record<string, number> = { distance: 850, battery: 87, volume: 123456, co2: 612, temperature: 214, humidity: 48, value: -1234 };
  const frame = (pick: (f: Template['fields'][number]) => number): { hex: string; data: Record<string, number>; values: Record<string, number> } => {
    let hex = '';
    const data: Record<string, number> = {};
    const values: Record<string, number> = {};
    for (const f of t.fields) {
      const raw = pick(f);
      const bytes = f.bytes;
      const unsigned = raw < 0 ? raw + 2 ** (8 * bytes) : raw;
      hex += unsigned.toString(16).padStart(bytes * 2, '0');
      const dataValue = f.reading === 'volume_m3' ? raw : raw / f.scale;
      data[f.key] = dataValue;
      values[f.reading] = f.reading === 'volume_m3' ? raw / 1000 : dataValue;
    }
    return { hex, data, values };
  };
  const a = frame((f) => typical[f.key] ?? 1);
  const b = frame((f) => (f.signed ? f.min : f.max));
  const withFill = (v: Record<string, number>, vars: Record<string, number> | undefined): Record<string, number> => {
    if (category !== 'bin-fill' || !vars) return v;
    // fill_pct exactly as the codec's normalize computes it, from the same geometry function.
    const fill = fillPercent(v['distance_mm'] as number, vars).fill_pct;
    return fill === undefined ? v : { ...v, fill_pct: fill };
  };
  const vars = category === 'bin-fill' ? { container_depth_mm: 1200, sensor_offset_mm: 50 } : undefined;
  return {
    examples: [
      { description: 'typical frame (placeholder layout)', fPort: 1, bytesHex: a.hex, ...(vars ? { variables: vars } : {}), expected: a.data, expectedReadings: [{ values: withFill(a.values, vars) }] },
      { description: 'extreme values (placeholder layout)', fPort: 1, bytesHex: b.hex, expected: b.data, expectedReadings: [{ values: b.values }] },
      { description: 'truncated frame', fPort: 1, bytesHex: a.hex.slice(0, 2), expected: null, errors: [`unexpected frame length 1: ${name} frames are ${t.fields.reduce((n, f) => n + f.bytes, 0)} bytes`] },
      { description: 'unknown fPort', fPort: 99, bytesHex: a.hex, expected: null, errors: ['unknown FPort'] },
    ],
    _id: id,
  };
}

export function scaffoldCodec(o: ScaffoldOptions): ScaffoldResult {
  const m = ID_RE.exec(o.id);
  if (!m) throw new ScaffoldError(`"${o.id}" is not a codec id: write <vendor>/<id> in lower case, digits and dashes (e.g. acme/bin-sensor-2)`);
  const [, vendor, model] = m as unknown as [string, string, string];
  const codecDir = join(o.root, 'codecs', vendor, model);
  const yamlFile = join(o.root, 'devices', vendor, `${model}.yaml`);
  if (existsSync(codecDir)) throw new ScaffoldError(`codecs/${o.id}/ exists already`);
  if (existsSync(yamlFile)) throw new ScaffoldError(`devices/${o.id}.yaml exists already`);
  const registryFile = join(o.root, 'codecs', 'registry.ts');
  const registry = readFileSync(registryFile, 'utf8');
  const name = o.name ?? `${vendor.replace(/(^|-)([a-z])/g, (_x, _d, c: string) => c.toUpperCase())} ${model.toUpperCase()}`;
  const files: Record<string, string> = {};
  let category: Category;
  let yaml: string;
  if (o.from) {
    const src = join(o.root, 'codecs', o.from);
    const srcYaml = join(o.root, 'devices', `${o.from}.yaml`);
    if (!existsSync(join(src, 'codec.ts')) || !existsSync(srcYaml)) throw new ScaffoldError(`--from ${o.from}: no native codec with that id (see "lorawan-edge devices")`);
    const swap = (text: string): string => text.split(`'${o.from}'`).join(`'${o.id}'`).split(`"${o.from}"`).join(`"${o.id}"`);
    files['codec.ts'] = swap(readFileSync(join(src, 'codec.ts'), 'utf8'));
    files['arbitrary.ts'] = swap(readFileSync(join(src, 'arbitrary.ts'), 'utf8'));
    files['examples.json'] = readFileSync(join(src, 'examples.json'), 'utf8');
    files['codec.test.ts'] = swap(readFileSync(join(src, 'codec.test.ts'), 'utf8'));
    const srcCategory = /^category:\s*(\S+)/m.exec(readFileSync(srcYaml, 'utf8'))?.[1] as Category | undefined;
    category = o.category ?? srcCategory ?? 'generic';
    yaml = readFileSync(srcYaml, 'utf8')
      .replace(/^id: .*$/m, `id: ${o.id}`)
      .replace(/^vendor: .*$/m, `vendor: ${vendor}`)
      .replace(/^codec: .*$/m, `codec: ${o.id}`)
      .replace(/^name: .*$/m, `name: ${name} (started from ${o.from})`)
      .replace(/^model: .*$/m, `model: ${model.toUpperCase()}`)
      .replace(/^category: .*$/m, `category: ${category}`);
    // A codec copied by hand would keep the imports of its own folder: the shared modules of
    // a vendor (../channels.ts) are only there for the same vendor.
    if (/from '\.\.\/[a-z]/.test(files['codec.ts'] ?? '') && vendor !== o.from.split('/')[0]) {
      throw new ScaffoldError(`--from ${o.from}: its codec imports modules of its vendor folder; start a ${vendor} codec from a codec without them, or from a ${o.from.split('/')[0]} id`);
    }
  } else {
    category = o.category ?? 'generic';
    const t = TEMPLATES[category];
    files['codec.ts'] = codecSource(o.id, name, category, t);
    files['arbitrary.ts'] = arbitrarySource(category, t);
    const ex = examplesFor(o.id, name, category, t) as { examples: unknown[] };
    files['examples.json'] = `${JSON.stringify({ examples: ex.examples }, null, 2)}\n`;
    const readings = [...t.fields.map((f) => `  ${f.reading}: '${f.unit}'`), ...(t.readingsExtra ? [`  ${t.readingsExtra}: '%'`] : [])];
    yaml = `id: ${o.id}
vendor: ${vendor}
model: ${model.toUpperCase()}
name: ${name}
category: ${category}
codec: ${o.id}
fPorts: [1]
readings:
${readings.join('\n')}
reportingInterval: 3600
${
  category === 'bin-fill'
    ? `variables:
  container_depth_mm:
    description: distance from the sensor face to the container bottom (what an empty bin measures)
    unit: mm
  sensor_offset_mm:
    description: distance from the sensor face to the full line (what a full bin measures)
    unit: mm
    default: 0
`
    : ''
}lorawan:
  macVersion: 1.0.3
  regions: [EU863-870]
  activation: [OTAA]
  class: A
notes: Scaffolded by "lorawan-edge codec new"; replace the placeholder frame layout in codecs/${o.id}/codec.ts.
`;
  }
  // A copied codec keeps its own tests (same code, same expectations; vector files stay those of
  // the original device); a template gets the generic round-trip test.
  files['codec.test.ts'] ??= testSource(o.id);
  files['README.md'] = `# ${o.id}

${name}. Scaffolded by \`lorawan-edge codec new${o.from ? ` --from ${o.from}` : ''}\`.

To make it the device's codec:

1. \`codec.ts\`: write the device's frame layout from the vendor's documentation. \`data\` must be
   exactly what the vendor's (or TTN's Device Repository) codec returns; normalized readings use
   the names in \`codecs/readings.ts\`.
2. \`examples.json\`: the vendor's documented example frames with their \`data\` and readings,
   plus truncated and unknown frames with \`expectedErrors\`.
3. \`arbitrary.ts\`: readings on the device's own grid, for the round-trip property test.
4. \`devices/${o.id}.yaml\`: model, ports, readings, variables, reporting interval.
5. \`lorawan-edge codec test ${o.id} --contract\` and \`npm run validate\` until both pass.

List here every input where \`data\` deliberately differs from the vendor's codec, with the evidence.
`;
  // The registry line, in alphabetical order of the import names.
  const ident = camel(o.id);
  const importLine = `import { codec as ${ident} } from './${o.id}/codec.ts';`;
  const lines = registry.split('\n');
  const imports = lines.map((l, i) => [l, i] as const).filter(([l]) => /^import \{ codec as /.test(l));
  const lastImport = imports.at(-1)?.[1];
  if (lastImport === undefined || !registry.includes('export const NATIVE_CODECS')) throw new ScaffoldError('codecs/registry.ts does not have the expected shape (imports, then NATIVE_CODECS)');
  const insertAt = imports.find(([l]) => l > importLine)?.[1] ?? lastImport + 1;
  lines.splice(insertAt, 0, importLine);
  const listEnd = lines.findIndex((l, i) => i > insertAt && l.startsWith('];'));
  lines.splice(listEnd, 0, `  ${ident},`);

  mkdirSync(codecDir, { recursive: true });
  mkdirSync(join(o.root, 'devices', vendor), { recursive: true });
  const written: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    writeFileSync(join(codecDir, file), text);
    written.push(`codecs/${o.id}/${file}`);
  }
  writeFileSync(yamlFile, yaml);
  written.push(`devices/${o.id}.yaml`);
  writeFileSync(registryFile, lines.join('\n'));
  written.push('codecs/registry.ts');
  return { files: written };
}

export function isCategory(c: string): c is Category {
  return (CATEGORIES as readonly string[]).includes(c);
}

export const CODEC_NEW_HELP = `Usage: lorawan-edge codec new <vendor>/<id> [--category bin-fill|water-meter|air-quality|generic]
                              [--from <existing codec id>] [--name "<model name>"]

Creates codecs/<vendor>/<id>/ (codec.ts, codec.test.ts, arbitrary.ts, examples.json, README.md),
devices/<vendor>/<id>.yaml and its line in codecs/registry.ts. Without --from, a placeholder frame
for the category; with --from, a copy of that native codec under the new id. Both pass
"lorawan-edge validate" and "lorawan-edge codec test <vendor>/<id> --contract" as written; then
replace the placeholder with the device's format.`;

export async function runCodecNew(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { category: { type: 'string' }, from: { type: 'string' }, name: { type: 'string' }, root: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(`${CODEC_NEW_HELP}\n`);
    return EXIT_OK;
  }
  const [id, ...rest] = positionals;
  if (!id) throw new UsageError('give the new codec id: codec new <vendor>/<id>');
  if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (values.category !== undefined && !isCategory(values.category)) throw new UsageError(`unknown category "${values.category}" (${CATEGORIES.join(', ')})`);
  try {
    const r = scaffoldCodec({ root: values.root ?? PACKAGE_ROOT, id, category: values.category as Category | undefined, from: values.from, name: values.name });
    for (const f of r.files) io.stdout.write(`wrote ${f}\n`);
    io.stdout.write(`next: edit codecs/${id}/codec.ts, then "lorawan-edge codec test ${id} --contract" and "lorawan-edge validate"\n`);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ScaffoldError) {
      io.stderr.write(`codec new: ${err.message}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
}

/** `codec test <id> --contract`: the contract test (fuzz, property, examples) and the codec's own tests, for that codec alone. */
export function runContract(codecId: string, io: Io, root = PACKAGE_ROOT): number {
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  if (!existsSync(vitest)) {
    io.stderr.write('codec test --contract: the contract test needs the development dependencies (run "npm ci" in the project folder)\n');
    return EXIT_ERRORS;
  }
  const own = join('codecs', codecId);
  if (!existsSync(join(root, own, 'codec.ts'))) {
    io.stderr.write(`codec test --contract: ${codecId} is not a native codec (codecs/${codecId}/ has no codec.ts); script codecs are checked by "codec test ${codecId}"\n`);
    return EXIT_ERRORS;
  }
  const r = spawnSync(process.execPath, [vitest, 'run', 'codecs/contract.test.ts', own], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, LORAWAN_EDGE_CONTRACT_CODEC: codecId, NO_COLOR: '1' } });
  const ansi = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
  const out = `${r.stdout}${r.stderr}`.replace(ansi, '');
  const summary = out.split('\n').filter((l) => /Test Files|Tests |FAIL|✗|×/.test(l));
  io.stdout.write(`${summary.join('\n')}\n`);
  return r.status === 0 ? EXIT_OK : EXIT_ERRORS;
}
