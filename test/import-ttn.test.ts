/**
 * `lorawan-edge codec import-ttn` end to end: a vendor folder laid out like The Things Network's
 * device repository (test/fixtures/ttn-repo, written for these tests) is imported into a
 * temporary catalogue; the written entries pass the validator, every imported example runs in
 * the sandbox, a wrong example fails the import. And the shipped script-codec device
 * (acme/bin-sensor) works through the real command.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExampleFile } from '../codecs/examples.ts';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { main } from '../cli/main.ts';
import { CATALOGUE_DIR, loadCatalogue } from '../devices/catalogue.ts';
import { resolveCodec } from '../devices/resolve.ts';
import { validateCatalogue } from '../devices/validate.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const FIXTURE_REPO = join(REPO_ROOT, 'test', 'fixtures', 'ttn-repo');
const VENDOR = join(FIXTURE_REPO, 'vendor', 'acme-city');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real command as a child process. */
function cli(args: string[], input = ''): Run {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', cwd: REPO_ROOT, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same command in-process (faster; same main(), same output). */
async function run(args: string[]): Promise<Run> {
  const sink = (): Writable & { text: string } => {
    const w = new Writable({
      write(chunk: Buffer, _enc, cb) {
        w.text += chunk.toString();
        cb();
      },
    }) as Writable & { text: string };
    w.text = '';
    return w;
  };
  const stdout = sink();
  const stderr = sink();
  const code = await main(args, { stdout, stderr, stdin: process.stdin });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const temps: string[] = [];
/** An empty catalogue folder `<tmp>/devices`. */
function tempCatalogue(): string {
  const root = mkdtempSync(join(tmpdir(), 'import-ttn-test-'));
  temps.push(root);
  return join(root, 'devices');
}
/** A copy of the fixture repository to spoil. */
function fixtureCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'ttn-repo-'));
  temps.push(root);
  cpSync(FIXTURE_REPO, root, { recursive: true });
  return join(root, 'vendor', 'acme-city');
}
afterAll(() => {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
});

function readYamlFile(path: string): Record<string, unknown> {
  return yaml.load(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

function readExamples(path: string): ExampleFile & { source?: string } {
  return JSON.parse(readFileSync(path, 'utf8')) as ExampleFile & { source?: string };
}

describe('codec import-ttn: the fixture vendor folder, end to end', () => {
  const out = tempCatalogue();
  let result: Run;

  it('imports both devices through the real command and reports PASS per example', () => {
    result = cli(['codec', 'import-ttn', VENDOR, '--out', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`import-ttn: vendor acme-city (ACME City Systems) → ${out}`);
    expect(lines).toContain('acme-city/bs-100: firmware 2.1, EU863-870, codec bs-100-codec → bin-fill, fPorts 10,11, readings temperature_c');
    expect(lines).toContain('acme-city/wm-20: firmware 3.0, EU863-870, codec wm-20-codec → water-meter, fPorts 1,2, readings none');
    for (const f of ['acme-city/bs-100.yaml', 'acme-city/codecs/bs-100-codec.js', 'acme-city/codecs/bs-100-codec.examples.json', 'acme-city/wm-20.yaml']) {
      expect(lines).toContain(`  wrote ${join(out, f)}`);
    }
    const verdicts = lines.filter((l) => /^(PASS|FAIL) /.test(l));
    expect(verdicts).toEqual([
      'PASS acme-city/bs-100 uplink "Measurement, 1234 mm, 21.5 °C"',
      'PASS acme-city/bs-100 normalize "Measurement, 1234 mm, 21.5 °C"',
      // normalizedOutput compared with the script's own normalizeUplink output, as TTN's validator does.
      'PASS acme-city/bs-100 normalized-output "Measurement, 1234 mm, 21.5 °C"',
      'PASS acme-city/bs-100 uplink "Measurement below zero, nearly empty battery"',
      'PASS acme-city/bs-100 normalize "Measurement below zero, nearly empty battery"',
      'PASS acme-city/bs-100 normalized-output "Measurement below zero, nearly empty battery"',
      'PASS acme-city/bs-100 uplink "Fire event"',
      'PASS acme-city/bs-100 uplink "Unknown FPort"',
      'PASS acme-city/bs-100 downlink-encode "Report every 30 minutes"',
      // An encoder example that expects errors runs too (The Things Stack's validator runs it).
      'PASS acme-city/bs-100 downlink-encode "Interval out of range"',
      'PASS acme-city/bs-100 downlink-decode "Report every 30 minutes"',
      'PASS acme-city/wm-20 uplink "Meter index and open valve"',
      'PASS acme-city/wm-20 uplink "Leak alarm"',
      'PASS acme-city/wm-20 uplink "Unknown FPort"',
      'PASS acme-city/wm-20 downlink-encode "Close the valve"',
      'PASS acme-city/wm-20 downlink-decode "Open the valve"',
    ]);
    // What could not be converted is said, not silently dropped.
    expect(result.stdout).not.toContain('expects errors');
    expect(result.stdout).toContain('note: the script has no normalizeUplink');
    expect(lines.at(-1)).toBe('summary: 2 device(s) imported, 0 skipped, 0 not imported; examples: 16 passed, 0 failed');
  });

  it('writes catalogue entries from the device, profile and codec YAML', () => {
    const bs = readYamlFile(join(out, 'acme-city', 'bs-100.yaml'));
    expect(bs).toMatchObject({
      id: 'acme-city/bs-100',
      vendor: 'acme-city',
      vendorName: 'ACME City Systems',
      model: 'BS-100',
      category: 'bin-fill',
      codec: { script: 'codecs/bs-100-codec.js', examples: 'codecs/bs-100-codec.examples.json' },
      fPorts: [10, 11],
      readings: { temperature_c: '°C' },
      reportingInterval: 3600,
      downlink: { supported: true, fPort: 20 },
      firmware: '2.1',
      lorawan: { macVersion: '1.0.3', regions: ['EU863-870', 'US902-928'], activation: ['OTAA'], class: 'A' },
      links: ['https://acme-city.invalid/bs-100', 'https://acme-city.invalid/bs-100.pdf'],
    });
    expect(bs['name']).toBe('ACME City Systems BS-100: Ultrasonic fill-level sensor for waste bins and drop-off containers');
    expect(bs['notes']).toContain('vendor/acme-city/bs-100.yaml, vendor/acme-city/bs-100-codec.yaml, vendor/acme-city/bs-100.js');
    const wm = readYamlFile(join(out, 'acme-city', 'wm-20.yaml'));
    expect(wm).toMatchObject({ category: 'water-meter', fPorts: [1, 2], readings: {}, downlink: { supported: true, fPort: 5 }, lorawan: { class: 'C' } });
    expect(wm['notes']).toContain('vendor/acme-city/payload/wm-20.js');

    // The scripts are copied byte for byte, including the one from a subfolder.
    expect(readFileSync(join(out, 'acme-city', 'codecs', 'bs-100-codec.js'), 'utf8')).toBe(readFileSync(join(VENDOR, 'bs-100.js'), 'utf8'));
    expect(readFileSync(join(out, 'acme-city', 'codecs', 'wm-20-codec.js'), 'utf8')).toBe(readFileSync(join(VENDOR, 'payload', 'wm-20.js'), 'utf8'));
  });

  it('converts the examples: bytes → hex, output → expected, errors and warnings kept, downlinks, normalizedOutput → expectedReadings', () => {
    const bs = readExamples(join(out, 'acme-city', 'codecs', 'bs-100-codec.examples.json'));
    expect(bs.source).toBe('vendor/acme-city/bs-100-codec.yaml (The Things Network device repository), converted by lorawan-edge codec import-ttn');
    expect(bs.examples?.[0]).toEqual({
      description: 'Measurement, 1234 mm, 21.5 °C',
      fPort: 10,
      bytesHex: '04d200d75a',
      expected: { distance: 1234, temperature: 21.5, batteryLevel: 90 },
      errors: [],
      warnings: [],
      expectedReadings: [{ values: { temperature_c: 21.5 } }],
      expectedNormalized: { data: [{ air: { temperature: 21.5 } }] },
    });
    expect(bs.examples?.[1]?.warnings).toEqual(['battery low']);
    expect(bs.examples?.[3]).toEqual({ description: 'Unknown FPort', fPort: 42, bytesHex: '04d200d75a', expected: null, errors: ['unknown FPort'] });
    expect(bs.downlinkEncoderExamples).toEqual([
      { description: 'Report every 30 minutes', input: { data: { interval: 30 } }, expected: { bytesHex: '01001e', fPort: 20 } },
      { description: 'Interval out of range', input: { data: { interval: 0 } }, expected: null, errors: ['interval must be 1..1440 minutes'] },
    ]);
    expect(bs.downlinkDecoderExamples).toEqual([{ description: 'Report every 30 minutes', fPort: 20, bytesHex: '01001e', expected: { interval: 30 } }]);
  });

  it('parses YAML 1.2 as the TTN validator does: 00012074 is decimal 12074, "on" is a string', () => {
    const source = readFileSync(join(VENDOR, 'wm-20-codec.yaml'), 'utf8');
    expect(source).toContain('valueCounter: 00012074');
    expect(source).toContain('valve: on');
    const wm = readExamples(join(out, 'acme-city', 'codecs', 'wm-20-codec.examples.json'));
    expect(wm.examples?.[0]?.expected).toEqual({ valueCounter: 12074, valve: 'on', battery: 100 });
    expect(wm.downlinkEncoderExamples?.[0]?.input.data).toEqual({ valve: 'off' });
    // ...and the vendor's script agrees (the import reported PASS for both).
    expect(result.stdout).toContain('PASS acme-city/wm-20 uplink "Meter index and open valve"');
    expect(result.stdout).toContain('PASS acme-city/wm-20 downlink-encode "Close the valve"');
  });

  it('the written catalogue passes the validator, and its codecs load as the gateway loads them', async () => {
    const report = await validateCatalogue(out);
    expect(report.problems).toEqual([]);
    expect(report.devices).toBe(2);
    expect(report.examples).toBe(16);
    const entry = loadCatalogue(out).byId.get('acme-city/bs-100');
    expect(entry).toBeDefined();
    const codec = await resolveCodec(entry as NonNullable<typeof entry>);
    const r = codec.decodeUplink({ bytes: [0x04, 0xd2, 0x00, 0xd7, 0x5a], fPort: 10 });
    expect(r.data).toEqual({ distance: 1234, temperature: 21.5, batteryLevel: 90 });
    expect(codec.normalizeUplink(r.data ?? {}).readings).toEqual([{ values: { temperature_c: 21.5 } }]);
  });

  it('refuses to overwrite an entry without --force; --force overwrites', async () => {
    const again = await run(['codec', 'import-ttn', VENDOR, '--out', out, '--device', 'wm-20']);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('ERROR acme-city/wm-20: devices/acme-city/wm-20.yaml exists (use --force to overwrite)');
    const forced = await run(['codec', 'import-ttn', VENDOR, '--out', out, '--device', 'wm-20', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('summary: 1 device(s) imported, 0 skipped, 0 not imported; examples: 5 passed, 0 failed');
  });
});

describe('codec import-ttn: failing examples, options, dry run', () => {
  it('a wrong example is reported as FAIL, with the difference, and the exit code is 1', async () => {
    const vendor = fixtureCopy();
    const codecFile = join(vendor, 'bs-100-codec.yaml');
    writeFileSync(codecFile, readFileSync(codecFile, 'utf8').replace('          distance: 1234\n', '          distance: 1235\n'));
    const out = tempCatalogue();
    const r = await run(['codec', 'import-ttn', vendor, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL acme-city/bs-100 uplink "Measurement, 1234 mm, 21.5 °C": data.distance: got 1234, expected 1235\n');
    expect(r.stdout).toContain('PASS acme-city/bs-100 uplink "Fire event"');
    expect(r.stdout).toContain('examples: 15 passed, 1 failed');
    // The entry is written (to be fixed), and the validator reports it too.
    const report = await validateCatalogue(out);
    expect(report.problems.map((p) => p.message)).toEqual(['uplink "Measurement, 1234 mm, 21.5 °C": data.distance: got 1234, expected 1235']);
  });

  it('a normalizedOutput field without a lorawan-edge reading is still checked against the script', async () => {
    const vendor = fixtureCopy();
    const codecFile = join(vendor, 'bs-100-codec.yaml');
    const text = readFileSync(codecFile, 'utf8');
    expect(text).toContain('          - air:\n              temperature: 21.5\n');
    // The script gives no wind: TTN's validator fails this example; the readings (air only) still pass.
    writeFileSync(codecFile, text.replace('          - air:\n              temperature: 21.5\n', '          - air:\n              temperature: 21.5\n            wind:\n              speed: 3\n'));
    const r = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'bs-100']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('PASS acme-city/bs-100 normalize "Measurement, 1234 mm, 21.5 °C"');
    expect(r.stdout).toContain(
      'FAIL acme-city/bs-100 normalized-output "Measurement, 1234 mm, 21.5 °C": normalized data[0].wind: got undefined, expected {"speed":3}',
    );
    expect(r.stdout).toContain('note: uplink example "Measurement, 1234 mm, 21.5 °C": normalizedOutput field(s) without a lorawan-edge reading: wind.speed; checked as TTN does');
  });

  it('firmware of other hardware versions, and their codecs, are reported; --hardware chooses', async () => {
    // The fixture's device: firmware 1.0 (codec v1) runs on hardware 1.0, 2.1 (codec) on 2.0.
    const vendor = fixtureCopy();
    const deviceFile = join(vendor, 'bs-100.yaml');
    const text = readFileSync(deviceFile, 'utf8');
    const spoiled = text
      .replace("hardwareVersions:\n  - version: '1.0'\n    numeric: 1\n", "hardwareVersions:\n  - version: '1.0'\n    numeric: 1\n  - version: '2.0'\n    numeric: 2\n")
      .replace("  - version: '2.1'\n    numeric: 3\n    hardwareVersions:\n      - '1.0'\n", "  - version: '2.1'\n    numeric: 3\n    hardwareVersions:\n      - '2.0'\n");
    expect(spoiled).not.toBe(text);
    writeFileSync(deviceFile, spoiled);
    const out = tempCatalogue();
    const latest = await run(['codec', 'import-ttn', vendor, '--out', out, '--device', 'bs-100']);
    expect(latest.code).toBe(0);
    expect(latest.stdout).toContain('acme-city/bs-100: firmware 2.1, EU863-870, codec bs-100-codec');
    expect(latest.stdout).toContain('note: firmware 2.1 runs on hardware 2.0 only: devices of hardware 1.0 need the codec of their own firmware (--hardware)');
    expect(latest.stdout).toContain(
      'note: firmware 1.0, hardware 1.0 uses another codec, bs-100-codec-v1, which this entry does not run (its examples are not checked): import it with --firmware 1.0',
    );
    expect(String(readYamlFile(join(out, 'acme-city', 'bs-100.yaml'))['notes'])).toContain('firmware 2.1 (hardware 2.0), EU863-870 profile bs-100-profile, codec bs-100-codec.');

    const old = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'bs-100', '--hardware', '1.0']);
    expect(old.code).toBe(0);
    expect(old.stdout).toContain('acme-city/bs-100: firmware 1.0, EU863-870, codec bs-100-codec-v1');
    expect(old.stdout).not.toContain('uses another codec');
    const none = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'bs-100', '--hardware', '9']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('ERROR acme-city/bs-100: vendor/acme-city/bs-100.yaml: no hardware version "9" (has: 1.0, 2.0)');
    const usage = await run(['codec', 'import-ttn', vendor, '--hardware', '1.0']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--hardware needs exactly one --device');
  });

  it('--dry-run writes nothing but checks the same way', async () => {
    const out = tempCatalogue();
    const r = await run(['codec', 'import-ttn', VENDOR, '--out', out, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(dry run: nothing is written)');
    expect(r.stdout).toContain(`  would write ${join(out, 'acme-city', 'bs-100.yaml')}`);
    expect(r.stdout).toContain('summary: 2 device(s) would be imported, 0 skipped, 0 not imported; examples: 16 passed, 0 failed');
    expect(existsSync(out)).toBe(false);
  });

  it('--firmware, --region and --category choose the codec, profile and category', async () => {
    const out = tempCatalogue();
    const v1 = await run(['codec', 'import-ttn', VENDOR, '--out', out, '--device', 'bs-100', '--firmware', '1.0', '--category', 'generic']);
    expect(v1.code).toBe(0);
    expect(v1.stdout).toContain('acme-city/bs-100: firmware 1.0, EU863-870, codec bs-100-codec-v1 → generic, fPorts 1, readings none');
    expect(readYamlFile(join(out, 'acme-city', 'bs-100.yaml'))).toMatchObject({ category: 'generic', codec: { script: 'codecs/bs-100-codec-v1.js' }, readings: {} });

    const us = await run(['codec', 'import-ttn', VENDOR, '--out', tempCatalogue(), '--region', 'US915', '--dry-run']);
    expect(us.code).toBe(0);
    expect(us.stdout).toContain('acme-city/bs-100: firmware 2.1, US902-928, codec bs-100-codec');
    // wm-20 has no US profile: skipped when the whole vendor is imported…
    expect(us.stdout).toContain('SKIP acme-city/wm-20: no firmware version has a US902-928 profile with a codec (regions: EU863-870; choose one with --region)');
    // …an error when asked for by name.
    const named = await run(['codec', 'import-ttn', VENDOR, '--out', tempCatalogue(), '--region', 'US915', '--device', 'wm-20']);
    expect(named.code).toBe(1);
    expect(named.stdout).toContain('ERROR acme-city/wm-20: no firmware version has a US902-928 profile');
  });

  it('bad input gives clear errors: the file, the line for YAML, what to do', async () => {
    const vendor = fixtureCopy();
    const spoil = (file: string, from: string, to: string): void => {
      const text = readFileSync(join(vendor, file), 'utf8');
      expect(text).toContain(from);
      writeFileSync(join(vendor, file), text.replace(from, to));
    };
    spoil('bs-100-codec.yaml', '        bytes: [0x01]\n', '        bytes: [0x01\n');
    spoil('wm-20-codec.yaml', 'fileName: payload/wm-20.js\n  examples', 'fileName: payload/missing.js\n  examples');
    const r = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ERROR acme-city\/bs-100: vendor\/acme-city\/bs-100-codec\.yaml:\d+: YAML error: /m);
    expect(r.stdout).toContain('ERROR acme-city/wm-20: vendor/acme-city/wm-20-codec.yaml: uplinkDecoder.fileName: codec script not found: vendor/acme-city/payload/missing.js');
    expect(r.stdout).toContain('summary: 0 device(s) imported, 0 skipped, 2 not imported');

    spoil('bs-100-codec.yaml', '        bytes: [0x01\n', '        bytes: [0x01, 0x100]\n');
    // A malformed example fails alone: the device and its other examples are imported and checked.
    const bytes = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'bs-100']);
    expect(bytes.code).toBe(1);
    expect(bytes.stdout).toContain(
      'FAIL acme-city/bs-100 uplink "Fire event": malformed in the repository, not run: vendor/acme-city/bs-100-codec.yaml: uplinkDecoder.examples[2].input.bytes[1]: not a byte (0..255): 256',
    );
    expect(bytes.stdout).toContain('PASS acme-city/bs-100 uplink "Measurement, 1234 mm, 21.5 °C"');
    expect(bytes.stdout).toMatch(/summary: 1 device\(s\) imported, 0 skipped, 0 not imported; examples: \d+ passed, 1 failed/);

    rmSync(join(vendor, 'index.yaml'));
    const noIndex = await run(['codec', 'import-ttn', vendor]);
    expect(noIndex.code).toBe(1);
    expect(noIndex.stderr).toBe('lorawan-edge codec import-ttn: vendor/acme-city/index.yaml: file not found: not a vendor folder of the TTN device repository\n');
    const root = await run(['codec', 'import-ttn', FIXTURE_REPO]);
    expect(root.code).toBe(1);
    expect(root.stderr).toContain('this looks like the repository root: pass vendor/<vendor>');
  });

  it('usage errors exit 2 with one line', async () => {
    for (const [args, text] of [
      [[VENDOR, '--device', 'nope'], 'vendor/acme-city/index.yaml lists no device "nope" (devices: bs-100, wm-20)'],
      [[VENDOR, '--firmware', '1.0'], '--firmware needs exactly one --device'],
      [[VENDOR, '--category', 'trash'], '--category must be one of bin-fill, water-meter, air-quality, generic'],
      [[join(VENDOR, 'nope')], 'not a folder'],
      [[], 'expected exactly one vendor folder'],
    ] as const) {
      const r = await run(['codec', 'import-ttn', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(text);
    }
  });
});

describe('codec import-ttn: what The Things Stack does with a vendor folder', () => {
  const RIVER = join(FIXTURE_REPO, 'vendor', 'acme-river');

  it('a device listed twice is imported once, and the output says so', async () => {
    const r = await run(['codec', 'import-ttn', RIVER, '--out', tempCatalogue()]);
    expect(r.stdout).toContain('NOTE vendor/acme-river/index.yaml lists "rl-10" more than once: imported once');
    expect(r.stdout.match(/^acme-river\/rl-10: /gm)).toHaveLength(1);
    expect(r.stdout).toMatch(/summary: 1 device\(s\) imported, 0 skipped, 0 not imported/);
  });

  it('a downlink codec in its own file is imported as the entry\'s downlinkScript, and its examples run', async () => {
    const out = tempCatalogue();
    const r = await run(['codec', 'import-ttn', RIVER, '--out', out]);
    expect(r.code).toBe(0);
    const entry = readYamlFile(join(out, 'acme-river', 'rl-10.yaml'));
    expect(entry['codec']).toEqual({ script: 'codecs/rl-10-codec.js', downlinkScript: 'codecs/rl-10-codec.downlink.js', examples: 'codecs/rl-10-codec.examples.json' });
    expect(entry['downlink']).toEqual({ supported: true, fPort: 10 });
    expect(readFileSync(join(out, 'acme-river', 'codecs', 'rl-10-codec.downlink.js'), 'utf8')).toBe(readFileSync(join(RIVER, 'rl-10-downlink.js'), 'utf8'));
    const verdicts = r.stdout.split('\n').filter((l) => /^(PASS|FAIL) /.test(l));
    expect(verdicts).toEqual([
      'PASS acme-river/rl-10 uplink "Low water"',
      // The decoder's global `var pointer = 0` is never reset: this passes only because every
      // call sees the script freshly loaded (it failed when contexts lived per device).
      'PASS acme-river/rl-10 uplink "Flood"',
      'PASS acme-river/rl-10 downlink-encode "Measure every 10 minutes"',
      'PASS acme-river/rl-10 downlink-decode "Measure every 10 minutes"',
    ]);
    // The gateway's loader gives the same codec: uplink from one script, downlink from the other.
    const catalogue = loadCatalogue(out);
    const loaded = catalogue.byId.get('acme-river/rl-10');
    expect(loaded).toBeDefined();
    const codec = await resolveCodec(loaded as NonNullable<typeof loaded>);
    expect(codec.decodeUplink({ bytes: [0x01, 0xf4, 0x5a], fPort: 1 })).toEqual({ data: { distance: 500, battery: 90 } });
    expect(codec.encodeDownlink?.({ data: { interval: 600 } })).toEqual({ bytes: [0x02, 0x02, 0x58], fPort: 10 });
    (codec as { dispose?: () => void }).dispose?.();
  });
});

describe('codec import-ttn: ES-module scripts', () => {
  it('a codec script that is an ES module is refused naming the file, as The Things Stack cannot load it', async () => {
    const vendor = fixtureCopy();
    const file = join(vendor, 'bs-100.js');
    writeFileSync(file, readFileSync(file, 'utf8').replace('function decodeUplink(input) {', 'export function decodeUplink(input) {'));
    const out = tempCatalogue();
    const r = await run(['codec', 'import-ttn', vendor, '--out', out, '--device', 'bs-100']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      'ERROR acme-city/bs-100: vendor/acme-city/bs-100.js: is an ES module (export/import): The Things Stack runs payload formatters as classic scripts and cannot load it, so it is not imported',
    );
    expect(existsSync(join(out, 'acme-city', 'bs-100.yaml'))).toBe(false);
  });

  it('a downlink script that is an ES module is refused naming that file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ttn-repo-'));
    temps.push(root);
    cpSync(FIXTURE_REPO, root, { recursive: true });
    const down = join(root, 'vendor', 'acme-river', 'rl-10-downlink.js');
    writeFileSync(down, `${readFileSync(down, 'utf8')}\nexport const unused = 1;\n`);
    const r = await run(['codec', 'import-ttn', join(root, 'vendor', 'acme-river'), '--out', tempCatalogue()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR acme-river/rl-10: vendor/acme-river/rl-10-downlink.js: is an ES module (export/import)');
  });
});

describe('codec import-ttn: hostile vendor folders', () => {
  /** A secret outside the repository, valid as a codec script (so only the path check stops it). */
  function outsideFile(name: string, text: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'outside-'));
    temps.push(dir);
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  }
  const SECRET = 'function decodeUplink(input) { return { data: { secret: "s3cr3t-token" } }; }\n';

  /** Every file under a folder, as text. */
  function allText(dir: string): string {
    if (!existsSync(dir)) return '';
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(join(e.parentPath, e.name), 'utf8'))
      .join('\n');
  }

  it('a codec script that is a symbolic link out of the vendor folder is refused, and nothing of it is copied', async () => {
    const vendor = fixtureCopy();
    const secret = outsideFile('secret.js', SECRET);
    rmSync(join(vendor, 'payload', 'wm-20.js'));
    symlinkSync(secret, join(vendor, 'payload', 'wm-20.js'));
    const out = tempCatalogue();
    const r = await run(['codec', 'import-ttn', vendor, '--out', out, '--device', 'wm-20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `ERROR acme-city/wm-20: vendor/acme-city/wm-20-codec.yaml: uplinkDecoder.fileName: vendor/acme-city/payload/wm-20.js: resolves to ${secret}, outside the vendor folder vendor/acme-city (a symbolic link?): refused`,
    );
    expect(allText(out)).not.toContain('s3cr3t-token');
  });

  it('YAML files that are symbolic links out of the vendor folder are refused too', async () => {
    const vendor = fixtureCopy();
    const codecYaml = readFileSync(join(vendor, 'wm-20-codec.yaml'), 'utf8');
    const outside = outsideFile('wm-20-codec.yaml', codecYaml);
    rmSync(join(vendor, 'wm-20-codec.yaml'));
    symlinkSync(outside, join(vendor, 'wm-20-codec.yaml'));
    const r = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'wm-20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`ERROR acme-city/wm-20: vendor/acme-city/wm-20-codec.yaml: resolves to ${outside}, outside the vendor folder vendor/acme-city (a symbolic link?): refused`);
    // A link that stays inside the vendor folder is fine.
    rmSync(join(vendor, 'wm-20-codec.yaml'));
    writeFileSync(join(vendor, 'payload', 'real-codec.yaml'), codecYaml);
    symlinkSync(join(vendor, 'payload', 'real-codec.yaml'), join(vendor, 'wm-20-codec.yaml'));
    const ok = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'wm-20']);
    expect(ok.stdout).toMatch(/summary: 1 device\(s\) imported/);
  });

  it('a profile vendorID that is a path (../../…) is refused; another vendor folder of the repository is allowed', async () => {
    const vendor = fixtureCopy();
    outsideFile('evil-profile.yaml', 'macVersion: 9.9.9\n');
    const device = readFileSync(join(vendor, 'wm-20.yaml'), 'utf8');
    writeFileSync(join(vendor, 'wm-20.yaml'), device.replace('id: wm-20-profile', 'id: evil-profile\n        vendorID: ../../../../../../../../tmp'));
    const r = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'wm-20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR acme-city/wm-20: vendor/acme-city/wm-20.yaml: firmwareVersions[0].profiles.EU863-870.vendorID: not a vendor id: "../../../../../../../../tmp"');
    // A symbolic link posing as another vendor's folder cannot lead out either.
    const elsewhere = mkdtempSync(join(tmpdir(), 'elsewhere-'));
    temps.push(elsewhere);
    writeFileSync(join(elsewhere, 'wm-20-profile.yaml'), 'macVersion: 9.9.9\n');
    symlinkSync(elsewhere, join(vendor, '..', 'other-vendor'));
    writeFileSync(join(vendor, 'wm-20.yaml'), device.replace('id: wm-20-profile', 'id: wm-20-profile\n        vendorID: other-vendor'));
    const linked = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'wm-20']);
    expect(linked.stdout).toContain("vendor/other-vendor/wm-20-profile.yaml: resolves to");
    expect(linked.stdout).toContain("outside the repository's vendor folder vendor (a symbolic link?): refused");
    // A real other vendor folder works.
    rmSync(join(vendor, '..', 'other-vendor'));
    mkdirSync(join(vendor, '..', 'other-vendor'));
    writeFileSync(join(vendor, '..', 'other-vendor', 'wm-20-profile.yaml'), "macVersion: '1.0.4'\nsupportsJoin: true\n");
    const out = tempCatalogue();
    const fine = await run(['codec', 'import-ttn', vendor, '--out', out, '--device', 'wm-20']);
    expect(fine.stdout).toMatch(/summary: 1 device\(s\) imported/);
    expect(readYamlFile(join(out, 'acme-city', 'wm-20.yaml'))['lorawan']).toMatchObject({ macVersion: '1.0.4' });
  });

  it('a YAML alias bomb in a codec YAML is refused quickly with a clear message', async () => {
    const vendor = fixtureCopy();
    const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      bomb.push(`${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`);
    }
    const text = readFileSync(join(vendor, 'wm-20-codec.yaml'), 'utf8');
    writeFileSync(join(vendor, 'wm-20-codec.yaml'), `${bomb.join('\n')}\n${text}`);
    const started = Date.now();
    const r = await run(['codec', 'import-ttn', vendor, '--out', tempCatalogue(), '--device', 'wm-20']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR acme-city/wm-20: vendor/acme-city/wm-20-codec.yaml: the document expands to more than 1000000 nodes (an alias bomb?)');
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('a script codec in the shipped catalogue: acme/bin-sensor', () => {
  it('decode works through the real command, single payload and JSON lines', () => {
    const r = cli(['decode', '--device', 'acme/bin-sensor', '--fport', '1', '0104d2150e1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      data: { distance: 1234, temperature: 21, battery: 3.6, full: false, fire: false, tilt: false },
      errors: [],
      warnings: [],
      readings: [{ values: { temperature_c: 21 } }],
    });
    const input = [{ fPort: 2, bytesHex: '02032044' }, { fPort: 1, bytesHex: '0104d2' }].map((l) => JSON.stringify(l)).join('\n');
    const lines = cli(['decode', '--device', 'acme/bin-sensor', '--jsonl'], `${input}\n`);
    expect(lines.code).toBe(1);
    const [alarm, bad] = lines.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { data: unknown; errors: string[] });
    expect(alarm?.data).toEqual({ alarm: 'fire', distance: 800, temperature: 68 });
    expect(bad).toMatchObject({ data: null, errors: ['expected 7 bytes on fPort 1, got 3'] });
  });

  it('codec test and devices list it', async () => {
    const t = await run(['codec', 'test', 'acme/bin-sensor', '--verbose']);
    expect(t.code).toBe(0);
    expect(t.stdout).toContain('PASS acme/bin-sensor downlink-encode "Report every hour"');
    expect(t.stdout).toMatch(/^12 passed, 0 failed$/m);
    const d = await run(['devices', '--category', 'bin-fill']);
    expect(d.stdout).toMatch(/^acme\/bin-sensor\s+bin-fill\s+script:codecs\/bin-sensor\.js\s+1,2\s/m);
  });
});

describe('the validator on script-codec entries', () => {
  it('allows readings: {} only for a script codec, and wants every reading its normalizeUplink gives listed', async () => {
    const dir = tempCatalogue();
    mkdirSync(join(dir, 'acme', 'codecs'), { recursive: true });
    for (const f of ['bin-sensor.js', 'bin-sensor.examples.json']) cpSync(join(CATALOGUE_DIR, 'acme', 'codecs', f), join(dir, 'acme', 'codecs', f));
    const entry = (id: string, codec: string): string =>
      `id: acme/${id}\nvendor: acme\nmodel: X\nname: x\ncategory: bin-fill\ncodec: ${codec}\nfPorts: [1, 2]\nreadings: {}\nreportingInterval: 3600\n`;
    writeFileSync(join(dir, 'acme', 'script.yaml'), entry('script', '{script: codecs/bin-sensor.js, examples: codecs/bin-sensor.examples.json}'));
    writeFileSync(join(dir, 'acme', 'native.yaml'), entry('native', 'dingtek/df703').replace('fPorts: [1, 2]', 'fPorts: [3]'));
    const lines = (await validateCatalogue(dir)).problems.map((p) => `${p.file}: ${p.field}: ${p.message}`);
    expect(lines).toEqual([
      'devices/acme/native.yaml: readings: must NOT have fewer than 1 properties',
      'devices/acme/script.yaml: readings.temperature_c: given by the script\'s normalizeUplink (example "Periodic measurement: 1234 mm to the surface, 21 °C, 3.6 V, no alarms") but not listed',
    ]);
  });
});
