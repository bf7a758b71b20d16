/**
 * Fuzz target for `codec import-ttn`'s input: small generated vendor folders with odd YAML
 * (wrong types, anchors and aliases, duplicate and strange device ids, `__proto__` keys) and odd
 * paths (`../`, absolute names, symbolic links out of the folder), next to a secret file outside
 * the vendor folder. Whatever the folder holds, an import ends with a report or one of the
 * import's own errors (never another exception), writes only under its output folder and never
 * copies the secret. Seeded and bounded, so CI runs the same cases every time; a longer run:
 * `TTN_FUZZ_RUNS=2000 npx vitest run devices/ttn/vendor-folder.fuzz.test.ts` (devices/ttn/README.md).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { importTtnVendor, UnknownTtnDeviceError } from './import.ts';
import { TtnSourceError } from './repository.ts';

const RUNS = Number(process.env['TTN_FUZZ_RUNS'] ?? 40);
const SEED = 20261206;
const SECRET = 's3cr3t-do-not-copy';

const root = mkdtempSync(join(tmpdir(), 'ttn-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SCRIPT = 'function decodeUplink(input) { return { data: { n: input.bytes.length } }; }\n';

const id = fc.oneof(
  { arbitrary: fc.constantFrom('d1', 'd2', 'lwl01', 'x'), weight: 8 },
  { arbitrary: fc.stringMatching(/^[a-z0-9-]{0,6}$/), weight: 1 },
  { arbitrary: fc.constantFrom('../d1', 'D1', '__proto__', '', 'a/b'), weight: 1 },
);
const fileName = fc.oneof(
  { arbitrary: fc.constantFrom('c.js', 'sub/c.js'), weight: 4 },
  { arbitrary: fc.constantFrom('../outside/secret.js', '/etc/hostname', 'link.js', 'missing.js', 'a/../c.js', ''), weight: 3 },
);
const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const bytes = fc.oneof(fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 4 }), scalar);

/** YAML text for a value, written by hand so anchors, aliases and odd keys can be mixed in. */
function yamlOf(v: unknown, indent = ''): string {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : v.map((x) => `\n${indent}- ${yamlOf(x, `${indent}  `)}`).join('');
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length === 0 ? '{}' : entries.map(([k, x]) => `\n${indent}${JSON.stringify(k)}: ${yamlOf(x, `${indent}  `)}`).join('');
  }
  return JSON.stringify(v) ?? 'null';
}

const goodExample = fc.integer({ min: 0, max: 4 }).map((k) => ({
  description: `e${k}`,
  input: { fPort: 1, bytes: Array.from({ length: k + 1 }, (_, i) => i) },
  output: { data: { n: k + 1 } },
}));
const oddExample = fc.record({
  description: scalar,
  input: fc.record({ fPort: fc.oneof(fc.integer({ min: 0, max: 256 }), scalar), bytes }),
  output: fc.oneof(fc.record({ data: fc.dictionary(fc.string({ maxLength: 4 }), scalar, { maxKeys: 3 }) }), scalar),
});

const example = fc.oneof({ arbitrary: goodExample, weight: 3 }, { arbitrary: oddExample, weight: 1 });

const folder = fc.record({
  deviceIds: fc.array(id, { maxLength: 2 }),
  indexForm: fc.oneof({ arbitrary: fc.constant('list'), weight: 8 }, { arbitrary: fc.constantFrom('notalist', 'missing', 'bomb'), weight: 1 }),
  devices: fc.array(
    fc.record({
      id,
      codec: fc.oneof({ arbitrary: fc.constantFrom('c', 'c-codec'), weight: 4 }, { arbitrary: fc.constantFrom('../c', 'missing'), weight: 1 }),
      vendorID: fc.option(fc.constantFrom('acme', 'other', '../../..', 'x/y'), { nil: undefined, freq: 2 }),
      odd: fc.oneof({ arbitrary: fc.constant('none'), weight: 4 }, { arbitrary: fc.constantFrom('proto', 'alias', 'wrongtype'), weight: 2 }),
    }),
    { maxLength: 3 },
  ),
  codecFile: fileName,
  downlinkFile: fc.option(fileName, { nil: undefined }),
  examples: fc.array(example, { maxLength: 2 }),
  symlinkOut: fc.boolean(),
});

type Folder = typeof folder extends fc.Arbitrary<infer T> ? T : never;

let n = 0;
function build(f: Folder): { repo: string; vendor: string; out: string } {
  const repo = join(root, `case-${n++}`);
  const vendor = join(repo, 'vendor', 'acme');
  mkdirSync(join(vendor, 'sub'), { recursive: true });
  mkdirSync(join(repo, 'vendor', 'outside'), { recursive: true });
  const outside = join(repo, 'outside');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.js'), `// ${SECRET}\n${SCRIPT}`);
  writeFileSync(join(repo, 'vendor', 'index.yaml'), 'vendors:\n  - id: acme\n    name: Acme\n');
  // Mostly the devices that have files (sometimes listed twice), plus the generated odd ids.
  const listed = [...f.devices.map((d) => d.id), ...f.devices.slice(0, 1).map((d) => d.id), ...f.deviceIds];
  if (f.indexForm === 'list') writeFileSync(join(vendor, 'index.yaml'), `endDevices:${yamlOf(listed, '  ')}\n`);
  else if (f.indexForm === 'notalist') writeFileSync(join(vendor, 'index.yaml'), 'endDevices: 3\n');
  else if (f.indexForm === 'bomb') {
    const lines = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < 8; i++) {
      const p = String.fromCharCode(96 + i);
      lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${p}`).join(',')}]`);
    }
    writeFileSync(join(vendor, 'index.yaml'), `${lines.join('\n')}\nendDevices: [d1]\n`);
  }
  writeFileSync(join(vendor, 'c.js'), SCRIPT);
  writeFileSync(join(vendor, 'sub', 'c.js'), SCRIPT);
  if (f.symlinkOut) symlinkSync(join(outside, 'secret.js'), join(vendor, 'link.js'));
  for (const d of f.devices) {
    if (d.id === '' || d.id.includes('/') || d.id.includes('..')) continue;
    const profile: Record<string, unknown> = { id: 'p', codec: d.codec };
    if (d.vendorID !== undefined) profile['vendorID'] = d.vendorID;
    let text = `name: ${JSON.stringify(d.id)}\nfirmwareVersions:${yamlOf([{ version: '1.0', profiles: { 'EU863-870': profile } }], '  ')}\nsensors: [distance]\n`;
    if (d.odd === 'proto') text += '__proto__:\n  name: hijacked\n';
    if (d.odd === 'alias') text = `base: &b {x: 1}\nagain: *b\n${text}`;
    if (d.odd === 'wrongtype') text = 'firmwareVersions: yes\nname: [1]\n';
    writeFileSync(join(vendor, `${d.id}.yaml`), text);
  }
  writeFileSync(join(vendor, 'p.yaml'), "macVersion: '1.0.3'\nsupportsJoin: true\n");
  const codec: Record<string, unknown> = { uplinkDecoder: { fileName: f.codecFile, examples: f.examples } };
  if (f.downlinkFile !== undefined) codec['downlinkEncoder'] = { fileName: f.downlinkFile, examples: [] };
  for (const name of ['c', 'c-codec']) writeFileSync(join(vendor, `${name}.yaml`), `${yamlOf(codec)}\n`);
  return { repo, vendor, out: join(repo, 'out', 'devices') };
}

/** Every file under a folder. */
function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe('fuzz: codec import-ttn on generated vendor folders', () => {
  it(`ends with a report or its own error, writes only under --out, never copies a file from outside (${RUNS} cases, seed ${SEED})`, async () => {
    let reports = 0;
    let refused = 0;
    let imported = 0;
    await fc.assert(
      fc.asyncProperty(folder, async (f) => {
        const { repo, vendor, out } = build(f);
        const before = new Set(files(repo));
        try {
          const report = await importTtnVendor({ vendorDir: vendor, outDir: out });
          reports++;
          imported += report.devices.filter((d) => d.status === 'imported').length;
        } catch (err) {
          if (!(err instanceof TtnSourceError || err instanceof UnknownTtnDeviceError)) throw err;
          expect(err.message.split('\n')).toHaveLength(1);
          refused++;
        }
        for (const file of files(repo)) {
          if (before.has(file)) continue;
          expect(file.startsWith(`${out}/`), `${file} written outside ${out}`).toBe(true);
          expect(readFileSync(file, 'utf8')).not.toContain(SECRET);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    console.log(`import-ttn fuzz: ${RUNS} folders, ${reports} reports (${imported} devices imported), ${refused} refused folders, 0 crashes`);
  }, 600_000);
});
