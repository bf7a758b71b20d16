/**
 * `lorawan-edge keys import <file> --keys <keys.json> [--registry <devices.yaml>] [--replace] [--dry-run]`
 *
 * Adds device keys to the gateway's keys file (mode 0600, written atomically): the simulator's
 * `--keys` JSON as it is, or a CSV `dev_eui,join_eui,app_key` (OTAA) or
 * `dev_eui,dev_addr,nwk_s_key,app_s_key` (ABP). With `--registry`, the simulator's devices
 * (name, catalogue model, tags, variables) are registered as well. Nothing is written when any
 * entry has a problem; no key value is ever printed.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../devices/catalogue.ts';
import { checkDevice, loadRegistry, mergeDevices, RegistryError, saveRegistry, type RegisteredDevice } from '../gateway/registry/devices-file.ts';
import { KeysFileError, MAX_KEYS_FILE_BYTES, mergeDeviceKeys, readDeviceKeysFile, writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { parseKeysImport } from '../gateway/registry/keys-import.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const KEYS_HELP = `Usage: lorawan-edge keys import <file> --keys <keys.json> [--registry <devices.yaml>] [--replace] [--dry-run]

Adds device keys to the gateway's keys file (created with mode 0600; the gateway refuses to start
when group or others can read it). <file> is the simulator's --keys JSON, or a CSV with the header
  dev_eui,join_eui,app_key                  (OTAA)
  dev_eui,dev_addr,nwk_s_key,app_s_key      (ABP)
--registry also registers the simulator's devices (name, model, tags, variables).
<file> may hold at most 64 MiB; JSON may nest at most 64 levels and has no __proto__, constructor or
prototype key. The keys file may also come from LORAWAN_EDGE_KEYS.
Exit codes: 0 ok, 1 problems in a file (nothing written; no key is ever printed), 2 usage error.`;

/**
 * Reads at most `max` + 1 bytes, so that a pipe or a file growing after a stat cannot make the
 * import buffer more than the bound; parseKeysImport refuses the one byte too many.
 */
function readBounded(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(max + 1, Math.max(fstatSync(fd).size + 1, 64 * 1024)));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, max + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      total += n;
      if (total > max) break;
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function problemsOut(io: Io, file: string, problems: string[]): number {
  for (const p of problems.slice(0, 50)) io.stderr.write(`${file}: ${p}\n`);
  if (problems.length > 50) io.stderr.write(`… and ${problems.length - 50} more\n`);
  io.stderr.write(`nothing written: ${problems.length} problem(s)\n`);
  return EXIT_ERRORS;
}

export async function runKeys(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(`${KEYS_HELP}\n`);
    return sub === undefined ? 2 : EXIT_OK;
  }
  if (sub !== 'import') throw new UsageError(`unknown keys subcommand "${sub}" (expected import)`);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { keys: { type: 'string' }, registry: { type: 'string' }, replace: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${KEYS_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one file: keys import <file> --keys <keys.json>');
  const keysFile = values.keys ?? process.env['LORAWAN_EDGE_KEYS'];
  if (!keysFile) throw new UsageError('--keys <keys.json> is required (or set LORAWAN_EDGE_KEYS)');
  const input = positionals[0] as string;
  let text: string;
  try {
    text = readBounded(input, MAX_KEYS_FILE_BYTES);
  } catch (err) {
    throw new UsageError(`cannot read ${input}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const parsed = parseKeysImport(text);
  if (parsed.problems.length) return problemsOut(io, input, parsed.problems);

  let current;
  try {
    current = readDeviceKeysFile(keysFile, { allowMissing: true });
  } catch (err) {
    if (err instanceof KeysFileError) return problemsOut(io, keysFile, err.problems);
    throw err;
  }
  const merged = mergeDeviceKeys(current.devices, parsed.keys, values.replace);
  if (merged.problems.length) return problemsOut(io, input, merged.problems);

  let registryDevices: RegisteredDevice[] | undefined;
  if (values.registry && parsed.devices.length) {
    const catalogue = loadCatalogue();
    const known = (id: string): boolean => catalogue.byId.has(id);
    const checked: RegisteredDevice[] = [];
    const problems: string[] = [];
    parsed.devices.forEach((d, i) => {
      const r = checkDevice(d, `devices[${i}]`, known);
      problems.push(...r.problems.map((p) => `${p.where}: ${p.message}`));
      if (r.device) checked.push(r.device);
    });
    if (problems.length) return problemsOut(io, input, problems);
    try {
      const reg = loadRegistry(values.registry, known);
      const m = mergeDevices(reg, checked, { replace: values.replace, where: (i) => `devices[${i}]` });
      if (m.problems.length) return problemsOut(io, values.registry, m.problems.map((p) => `${p.where}: ${p.message}`));
      registryDevices = m.devices;
    } catch (err) {
      if (err instanceof RegistryError) return problemsOut(io, values.registry, err.problems.map((p) => `${p.where}: ${p.message}`));
      throw err;
    }
  }
  const otaa = parsed.keys.filter((k) => k.activation === 'OTAA').length;
  const verb = values['dry-run'] ? 'would import' : 'imported';
  if (!values['dry-run']) {
    writeDeviceKeysFile(keysFile, merged.devices);
    if (registryDevices && values.registry) saveRegistry(values.registry, registryDevices);
  }
  io.stdout.write(
    `${verb} keys of ${parsed.keys.length} device(s) (${otaa} OTAA, ${parsed.keys.length - otaa} ABP); ${keysFile} holds ${merged.devices.length}` +
      (registryDevices ? `; registry ${values.registry} holds ${registryDevices.length}` : '') +
      '\n',
  );
  return EXIT_OK;
}
