/**
 * `lorawan-edge devices`: the device catalogue (what models exist) and the gateway's device
 * registry (which DevEUI is which installed device).
 *
 *   devices [--json] [--category c]             list the catalogue
 *   devices add --registry f --dev-eui … --model … --name … [--tag k=v]… [--var k=v]… [--replace]
 *   devices import <csv> --registry f [--replace] [--dry-run]
 *   devices registered --registry f [--json]    list the registry
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CATEGORIES } from '../codecs/api.ts';
import { loadCatalogue } from '../devices/catalogue.ts';
import { devicesFromCsv } from '../gateway/registry/csv.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import { checkDevice, loadRegistry, mergeDevices, problemText, RegistryError, saveRegistry, type LoadRegistryOptions, type RegistryProblem } from '../gateway/registry/devices-file.ts';
import { checkOutputFile } from './errors.ts';
import { deviceKeysFromFlags, saveDeviceKeys } from './device-keys-flags.ts';
import { EXIT_ERRORS, EXIT_OK, parseVariables, UsageError, type Io } from './usage.ts';

export const DEVICES_HELP = `Usage: lorawan-edge devices [--json] [--category <bin-fill|water-meter|air-quality|generic>]
       lorawan-edge devices add --registry <devices.yaml> --dev-eui <eui> --model <catalogue-id> --name <name>
                                [--tag key=value]… [--var key=value]… [--replace]
                                [--keys <keys.json> (--join-eui <eui> --app-key <key> | --dev-addr <addr> --nwk-s-key <key> --app-s-key <key>)]
       lorawan-edge devices import <file.csv> --registry <devices.yaml> [--replace] [--dry-run]
       lorawan-edge devices registered --registry <devices.yaml> [--json]

Without a subcommand: lists the device catalogue (devices/<vendor>/<device>.yaml).
add / import: validate and add installed devices to the gateway's registry file (YAML, written
atomically; nothing is written when any row has a problem). CSV columns: dev_eui, name, model,
tag:<key>…, var:<key>… (e.g. var:container_depth_mm).
The registry file may also come from LORAWAN_EDGE_REGISTRY.`;

function registryPath(value: string | undefined): string {
  const file = value ?? process.env['LORAWAN_EDGE_REGISTRY'];
  if (!file) throw new UsageError('--registry <devices.yaml> is required (or set LORAWAN_EDGE_REGISTRY)');
  return file;
}

function report(io: Io, file: string, problems: RegistryProblem[], written = false): number {
  for (const p of problems) io.stderr.write(`${file}: ${problemText(p)}\n`);
  if (!written) io.stderr.write(`nothing written: ${problems.length} problem(s)\n`);
  return EXIT_ERRORS;
}

function warn(io: Io, file: string, warnings: RegistryProblem[] | undefined): void {
  for (const p of warnings ?? []) io.stderr.write(`warning: ${file}: ${problemText(p)}\n`);
}

/** The catalogue as the registry checks it: model ids and each model's declared variables. */
function knownModels(): ReturnType<typeof loadCatalogue> {
  return loadCatalogue();
}

function loadOrReport(file: string, io: Io, options: LoadRegistryOptions = {}): ReturnType<typeof loadRegistry> | number {
  try {
    return loadRegistry(file, knownModels(), options);
  } catch (err) {
    if (err instanceof RegistryError) return report(io, file, err.problems, true);
    throw err;
  }
}

async function runAdd(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      registry: { type: 'string' },
      'dev-eui': { type: 'string' },
      model: { type: 'string' },
      name: { type: 'string' },
      tag: { type: 'string', multiple: true },
      var: { type: 'string', multiple: true },
      replace: { type: 'boolean', default: false },
      // Keys for the edge network server (keys file, 0600): OTAA or ABP.
      keys: { type: 'string' },
      'join-eui': { type: 'string' },
      'app-key': { type: 'string' },
      'dev-addr': { type: 'string' },
      'nwk-s-key': { type: 'string' },
      'app-s-key': { type: 'string' },
    },
  });
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const file = registryPath(values.registry);
  const keys = deviceKeysFromFlags(values);
  for (const k of ['dev-eui', 'model', 'name'] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
  const tags: Record<string, unknown> = {};
  for (const t of values.tag ?? []) {
    const eq = t.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag expects key=value, got "${t}"`);
    tags[t.slice(0, eq)] = t.slice(eq + 1);
  }
  const known = knownModels();
  const checked = checkDevice({ dev_eui: values['dev-eui'], model: values.model, name: values.name, tags, variables: parseVariables(values.var) }, 'device', known);
  if (!checked.device) return report(io, file, checked.problems);
  checkOutputFile(file, '--registry');
  // The entries already there are read (a stale variable is a warning); the new ones are written.
  const current = loadOrReport(file, io, { mode: 'read' });
  if (typeof current !== 'number') warn(io, file, current.warnings);
  if (typeof current === 'number') return current;
  const merged = mergeDevices(current, [checked.device], { replace: values.replace, where: () => 'device' });
  if (merged.problems.length) return report(io, file, merged.problems);
  if (keys) {
    const saved = saveDeviceKeys(keys, values.replace, io);
    if (saved !== EXIT_OK) return saved;
  }
  saveRegistry(file, merged.devices);
  io.stdout.write(`${values.replace && current.byEui.has(checked.device.dev_eui) ? 'updated' : 'added'} ${checked.device.dev_eui} "${checked.device.name}" (${checked.device.model}) in ${file}${keys ? `, ${keys.keys.activation} keys in ${keys.file}` : ''}\n`);
  return EXIT_OK;
}

async function runImport(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { registry: { type: 'string' }, replace: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new UsageError('expected exactly one CSV file: devices import <file.csv> --registry <devices.yaml>');
  const file = registryPath(values.registry);
  const csvFile = positionals[0] as string;
  let text: string;
  try {
    text = readFileSync(csvFile, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${csvFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const { devices, lines, problems } = devicesFromCsv(text, knownModels());
  if (!values['dry-run']) checkOutputFile(file, '--registry');
  // The entries already there are read (a stale variable is a warning); the new ones are written.
  const current = loadOrReport(file, io, { mode: 'read' });
  if (typeof current !== 'number') warn(io, file, current.warnings);
  if (typeof current === 'number') return current;
  // Merged even when rows have problems, so clashes with the registry come in the same report.
  const merged = mergeDevices(current, devices, { replace: values.replace, where: (i) => `line ${lines[i] ?? '?'}` });
  const all = [...problems, ...merged.problems.map((p) => ({ ...p, where: p.where.replace(/^(line \d+)\.(.+)$/, '$1, column $2') }))];
  all.sort((a, b) => lineNumber(a.where) - lineNumber(b.where));
  if (all.length) return report(io, csvFile, all);
  if (!values['dry-run']) saveRegistry(file, merged.devices);
  io.stdout.write(`${values['dry-run'] ? 'would import' : 'imported'} ${devices.length} device(s); registry ${file} holds ${merged.devices.length}\n`);
  return EXIT_OK;
}

function lineNumber(where: string): number {
  const m = /^line (\d+)/.exec(where);
  return m ? Number(m[1]) : 0;
}

async function runRegistered(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { registry: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const file = registryPath(values.registry);
  // Listing a registry that does not exist is a mistake (a typo in the path), not an empty list.
  const current = loadOrReport(file, io, { mustExist: true });
  if (typeof current === 'number') return current;
  warn(io, file, current.warnings);
  if (values.json) io.stdout.write(`${JSON.stringify(current.devices, null, 2)}\n`);
  else {
    const rows = [['DEV_EUI', 'NAME', 'MODEL', 'TAGS']];
    for (const d of current.devices) rows.push([d.dev_eui, d.name, d.model, Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(',')]);
    io.stdout.write(`${table(rows)}\n`);
  }
  return EXIT_OK;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function runDevices(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'add') return runAdd(rest, io);
  if (sub === 'import') return runImport(rest, io);
  if (sub === 'registered') return runRegistered(rest, io);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, category: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(`${DEVICES_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unknown devices subcommand "${positionals[0]}" (expected add, import or registered)`);
  const catalogue = loadCatalogue();
  for (const p of catalogue.problems) io.stderr.write(`warning: ${p.file}: ${p.field}: ${p.message}\n`);
  if (values.category !== undefined && !(CATEGORIES as readonly string[]).includes(values.category)) {
    throw new UsageError(`unknown category "${values.category}"${didYouMean(values.category, CATEGORIES)}; expected one of ${CATEGORIES.join(', ')}`);
  }
  const devices = catalogue.devices.filter((d) => !values.category || d.category === values.category);
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify(
        devices.map(({ file: _file, ...d }) => d),
        null,
        2,
      )}\n`,
    );
    return EXIT_OK;
  }
  const rows = [['ID', 'CATEGORY', 'CODEC', 'FPORTS', 'MODEL']];
  for (const d of devices) {
    const codec = typeof d.codec === 'string' ? d.codec : `script:${d.codec.script}`;
    rows.push([d.id, d.category, codec, d.fPorts.length ? d.fPorts.join(',') : 'any', d.name]);
  }
  io.stdout.write(`${table(rows)}\n`);
  return EXIT_OK;
}
