/**
 * `lorawan-edge codec test [<id>]`: runs the executable examples of one device's codec (or of
 * every catalogue device) and prints pass/fail per example. Exit 1 when any example fails.
 *
 * `lorawan-edge codec import-ttn <vendor-folder>`: imports devices of a vendor folder of The
 * Things Network's device repository as catalogue entries with their script codec
 * (devices/ttn/), then runs every imported example and prints pass/fail per example.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES, type Category, type Codec } from '../codecs/api.ts';
import { runExampleFile, type ExampleFile } from '../codecs/examples.ts';
import { loadCatalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { examplesOf, resolveCodec } from '../devices/resolve.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';
import { runCodecNew, runContract } from './codec-new.ts';

export const CODEC_HELP = `Usage: lorawan-edge codec test [<device-id>] [--verbose] [--contract]
       lorawan-edge codec new <vendor>/<id> [--category <c>] [--from <codec id>] [--name <name>]
       lorawan-edge codec import-ttn <vendor-folder> [--device <id>]… [--firmware <version>] [--hardware <version>]
                                     [--region <region>] [--category <category>]
                                     [--out <catalogue-dir>] [--dry-run] [--force]

  test        runs the executable examples of the device's codec (all devices when no id is
              given) through the same loader the gateway uses; prints PASS/FAIL per example.
              --contract: the codec's contract test alone (fuzz, round-trip property, examples)
              and its own tests (needs the development dependencies).
  new         creates a native codec folder, its catalogue entry and registry line that already
              pass validate and the contract test (see "codec new --help").
  import-ttn  imports devices of a vendor folder of a checkout of The Things Network's device
              repository (vendor/<vendor>: index.yaml, device, profile and codec YAML, scripts):
              writes <out>/<vendor>/<device>.yaml and the unmodified codec script with its
              examples in <out>/<vendor>/codecs/, then runs every imported example through the
              production loader and prints PASS/FAIL per example.
    --device <id>        a device of the vendor's index.yaml, repeatable (default: all; devices
                         without a profile for the region are skipped)
    --firmware <version> firmware version whose codec to use (default: the latest with one)
    --hardware <version> consider only firmware versions that run on this hardware version
    --region <region>    profile region (default EU863-870; EU868, US915… are accepted)
    --category <c>       bin-fill, water-meter, air-quality or generic (default: guessed from
                         the device's sensors)
    --out <dir>          catalogue folder (default: the project's devices/)
    --dry-run            write nothing; check in a temporary copy and say what would be written
    --force              overwrite existing entries and codec files

Exit codes: 0 all examples pass, 1 some fail (or a device could not be imported), 2 usage error.`;

interface Target {
  label: string;
  entry: DeviceEntry;
}

async function testOne(t: Target, io: Io, verbose: boolean): Promise<{ pass: number; fail: number }> {
  let codec: Codec;
  try {
    codec = await resolveCodec(t.entry);
  } catch (err) {
    io.stdout.write(`FAIL ${t.label}: codec does not load: ${(err as Error).message}\n`);
    return { pass: 0, fail: 1 };
  }
  const ex = examplesOf(t.entry);
  if (!ex) {
    io.stdout.write(`FAIL ${t.label}: no examples\n`);
    return { pass: 0, fail: 1 };
  }
  const outcomes = runExampleFile(codec, ex.file as ExampleFile);
  let pass = 0;
  let fail = 0;
  for (const o of outcomes) {
    if (o.pass) pass++;
    else fail++;
    if (!o.pass || verbose) io.stdout.write(`${o.pass ? 'PASS' : 'FAIL'} ${t.label} ${o.kind} "${o.description}"${o.problem ? `: ${o.problem}` : ''}\n`);
  }
  if (!verbose && fail === 0) io.stdout.write(`PASS ${t.label}: ${pass} example(s)\n`);
  return { pass, fail };
}

function shownPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}

async function runImportTtn(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      device: { type: 'string', multiple: true },
      firmware: { type: 'string' },
      hardware: { type: 'string' },
      region: { type: 'string' },
      category: { type: 'string' },
      out: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${CODEC_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one vendor folder: codec import-ttn <path/to/lorawan-devices/vendor/<vendor>>');
  const category = values.category;
  if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) {
    throw new UsageError(`--category must be one of ${CATEGORIES.join(', ')}, not "${category}"`);
  }
  if (values.firmware !== undefined && values.device?.length !== 1) {
    throw new UsageError('--firmware needs exactly one --device (firmware versions are per device)');
  }
  if (values.hardware !== undefined && values.device?.length !== 1) {
    throw new UsageError('--hardware needs exactly one --device (hardware versions are per device)');
  }
  const folder = positionals[0] as string;
  if (!existsSync(folder) || !statSync(folder).isDirectory()) throw new UsageError(`not a folder: ${folder}`);
  // Loaded on demand: the importer pulls in the sandbox.
  const { importTtnVendor, UnknownTtnDeviceError } = await import('../devices/ttn/import.ts');
  const { TtnSourceError } = await import('../devices/ttn/repository.ts');
  let report;
  try {
    report = await importTtnVendor({
      vendorDir: folder,
      ...(values.device ? { devices: values.device } : {}),
      ...(values.firmware !== undefined ? { firmware: values.firmware } : {}),
      ...(values.hardware !== undefined ? { hardware: values.hardware } : {}),
      ...(values.region !== undefined ? { region: values.region } : {}),
      ...(category !== undefined ? { category: category as Category } : {}),
      ...(values.out !== undefined ? { outDir: values.out } : {}),
      dryRun: values['dry-run'],
      force: values.force,
    });
  } catch (err) {
    if (err instanceof UnknownTtnDeviceError) throw new UsageError(err.message);
    if (err instanceof TtnSourceError) {
      io.stderr.write(`lorawan-edge codec import-ttn: ${err.message}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }

  const out = io.stdout;
  out.write(
    `import-ttn: vendor ${report.vendor}${report.vendorName ? ` (${report.vendorName})` : ''} → ${shownPath(report.outDir)}${report.dryRun ? ' (dry run: nothing is written)' : ''}\n`,
  );
  for (const note of report.notes) out.write(`NOTE ${note}\n`);
  let imported = 0;
  let skipped = 0;
  let errors = 0;
  let pass = 0;
  let fail = 0;
  let problems = 0;
  for (const d of report.devices) {
    if (d.status === 'skipped') {
      skipped++;
      out.write(`SKIP ${d.id}: ${d.message ?? ''}\n`);
      continue;
    }
    if (d.status === 'error') {
      errors++;
      out.write(`ERROR ${d.id}: ${d.message ?? ''}\n`);
      continue;
    }
    imported++;
    const readings = d.readings && d.readings.length > 0 ? d.readings.join(', ') : 'none';
    out.write(
      `${d.id}: firmware ${d.firmware}, ${d.region}, codec ${d.codecId} → ${d.category}, fPorts ${d.fPorts?.length ? d.fPorts.join(',') : 'any'}, readings ${readings}\n`,
    );
    for (const f of d.files) out.write(`  ${report.dryRun ? 'would write' : 'wrote'} ${shownPath(f)}\n`);
    for (const n of d.notes) out.write(`  note: ${n}\n`);
    for (const p of d.problems) out.write(`  problem: ${p.file}: ${p.field}: ${p.message}\n`);
    problems += d.problems.length;
    for (const o of d.outcomes) {
      if (o.pass) pass++;
      else fail++;
      out.write(`${o.pass ? 'PASS' : 'FAIL'} ${d.id} ${o.kind} "${o.description}"${o.problem ? `: ${o.problem}` : ''}\n`);
    }
  }
  out.write(
    `summary: ${imported} device(s) ${report.dryRun ? 'would be imported' : 'imported'}, ${skipped} skipped, ${errors} not imported; examples: ${pass} passed, ${fail} failed${problems ? `; ${problems} other problem(s)` : ''}\n`,
  );
  if (imported === 0 && errors === 0) out.write('nothing to import (see SKIP lines; --region chooses another profile)\n');
  if (fail > 0 && !report.dryRun) out.write('the failing entries were written; "lorawan-edge validate" reports them until the codec or its examples are fixed\n');
  return errors > 0 || fail > 0 || problems > 0 || imported === 0 ? EXIT_ERRORS : EXIT_OK;
}

export async function runCodec(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'import-ttn') return runImportTtn(argv.slice(1), io);
  if (argv[0] === 'new') return runCodecNew(argv.slice(1), io);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { verbose: { type: 'boolean', short: 'v', default: false }, contract: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [sub, id, ...rest] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(`${CODEC_HELP}\n`);
    return values.help ? EXIT_OK : 2;
  }
  if (sub !== 'test') throw new UsageError(`unknown codec subcommand "${sub}" (expected: test, new or import-ttn)`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (values.contract) {
    if (id === undefined) throw new UsageError('--contract needs a codec id: codec test <vendor>/<id> --contract');
    return runContract(id, io);
  }
  const catalogue = loadCatalogue();
  let targets: Target[];
  if (id !== undefined) {
    const entry = catalogue.byId.get(id) ?? catalogue.devices.find((d) => d.codec === id);
    if (!entry) throw new UsageError(`unknown device "${id}" (run "lorawan-edge devices")`);
    targets = [{ label: id, entry }];
  } else {
    // One run per codec: devices sharing a codec (Elsys) share its examples.
    const seen = new Set<string>();
    targets = [];
    for (const entry of catalogue.devices) {
      const key = typeof entry.codec === 'string' ? entry.codec : entry.id;
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push({ label: entry.id, entry });
    }
  }
  let pass = 0;
  let fail = 0;
  for (const t of targets) {
    const r = await testOne(t, io, values.verbose);
    pass += r.pass;
    fail += r.fail;
  }
  io.stdout.write(`${pass} passed, ${fail} failed\n`);
  return fail > 0 ? EXIT_ERRORS : EXIT_OK;
}
