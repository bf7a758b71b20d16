/**
 * `lorawan-edge codec test [<id>]`: runs the executable examples of one device's codec (or of
 * every catalogue device) and prints pass/fail per example. Exit 1 when any example fails.
 */
import { parseArgs } from 'node:util';
import type { Codec } from '../codecs/api.ts';
import { runExampleFile, type ExampleFile } from '../codecs/examples.ts';
import { loadCatalogue, type DeviceEntry } from '../devices/catalogue.ts';
import { examplesOf, resolveCodec } from '../devices/resolve.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const CODEC_HELP = `Usage: lorawan-edge codec test [<device-id>] [--verbose]

  test    runs the executable examples of the device's codec (all devices when no id is
          given) through the same loader the gateway uses; prints PASS/FAIL per example.

Exit codes: 0 all examples pass, 1 some fail, 2 usage error.`;

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

export async function runCodec(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { verbose: { type: 'boolean', short: 'v', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [sub, id, ...rest] = positionals;
  if (values.help || sub === undefined) {
    io.stdout.write(`${CODEC_HELP}\n`);
    return values.help ? EXIT_OK : 2;
  }
  if (sub !== 'test') throw new UsageError(`unknown codec subcommand "${sub}" (expected: test)`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
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
