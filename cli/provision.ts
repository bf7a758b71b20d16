/**
 * `lorawan-edge provision`: put devices on the network, for a technician on site.
 *
 *   provision serial --port <tty> --model <id> [--dialect rui3|dragino|e5] [--app-key generate|<hex>]
 *                    [--join-eui <hex>] [--region EU868] [--class A] [--join-test] [--name …]
 *                    [--registry f] [--keys f] [--record f] …
 *   provision chirpstack --server host:port --tenant <id> --application <name> --csv <file> [--dry-run]
 *   provision labels --csv <file> --out <dir> [--profile-id <8 hex>]
 *   provision scan <text> [--registry f --model <id> --name <name>]
 *
 * One line per step on stdout; a failure is one line on stderr and exit 1; usage errors exit 2.
 * AppKeys are never printed: only their last four hex digits, or a fingerprint.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../devices/catalogue.ts';
import { ChirpStackClient, ChirpStackError, type DeviceOutcome, MILESIGHT_DEFAULT_APP_KEY } from '../devices/provisioning/chirpstack.ts';
import { parseDuration } from '../simulator/duration.ts';
import { DIALECT_IDS, type DialectId } from '../devices/provisioning/dialects.ts';
import { maskKey, ProvisionError } from '../devices/provisioning/errors.ts';
import { labelSheetPdf, labelSvg } from '../devices/provisioning/labels.ts';
import { provisionSerial } from '../devices/provisioning/provision-serial.ts';
import { parseScan, ScanError, tr005String } from '../devices/provisioning/tr005.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import { checkVariables, declaredVariables } from '../devices/variables.ts';
import { checkDevice, type KnownModels, normalizeEui, type RegisteredDevice, RegistryError } from '../gateway/registry/devices-file.ts';
import { formatProblem, readBatchCsv } from './provision/bulk-csv.ts';
import { appendRecord, countOutcomes, DestinationError, keyFingerprint, writeKeysEntries, writeKeysEntry, writeRegistryEntries, writeRegistryEntry } from './provision/destinations.ts';
import { KeysFileError } from '../simulator/keys-file.ts';
import { EXIT_ERRORS, EXIT_OK, parseVariables, UsageError, type Io } from './usage.ts';

export const PROVISION_HELP = `Usage: lorawan-edge provision <serial|chirpstack|batch|labels|scan> [options]

  provision serial --port <tty> --model <catalogue-id> [--dialect ${DIALECT_IDS.join('|')}]
                   [--app-key generate|<32 hex>] [--join-eui <16 hex>] [--region EU868] [--class A]
                   [--join-test] [--join-timeout 60] [--password <dragino password>] [--timeout 3]
                   [--name <name>] [--tag k=v]… [--var k=v]…
                   [--registry devices.yaml] [--keys keys.json] [--record provisioned.csv] [--operator <who>]
                   [--server <host:port> --tenant <id> --application <name> [--watch 10m]]
      Reads the DevEUI and firmware, writes JoinEUI/AppKey/region/class/OTAA, reads every value
      back and compares, optionally tests a join; then writes the device where asked.
  provision chirpstack --server <host:port> --tenant <tenant id> --application <name> --csv <file>
                   [--profile-name <name>] [--region EU868] [--dry-run] [--timeout 10] [--watch 10m]
      Creates (or updates, when it differs) the device profile, the application and every device
      with its keys (AppKey of a 1.0.x device in nwkKey). A rerun changes nothing. API token from
      the CHIRPSTACK_API_TOKEN environment variable. --watch follows each device's events until
      it has joined and sent a first uplink (exit 1 naming the devices not heard by the deadline).
      Also --registry devices.yaml and --keys keys.json: the same batch into the gateway's files.
  provision batch --csv <file> [--registry devices.yaml] [--keys keys.json] [--server … --tenant … --application …]
      The same CSV into any of the destinations, in one run (the keys file needs join_eui and app_key).
  provision labels --csv <file> --out <dir> [--profile-id <8 hex>]
      A TR005 QR code per device (<dev_eui>.svg) and an A4 sheet of 3 x 7 labels (labels.pdf).
  provision scan <scanned text> [--registry devices.yaml --model <id> --name <name>] [--keys keys.json]
      Parses a scanned TR005 code (LW:D0:…), a bare DevEUI or a vendor sticker; with --registry,
      adds the device.

CSV columns (comma or semicolon, header names in any case): dev_eui, name, model, join_eui,
app_key, description, tag:<key>…, var:<key>…  Every problem is reported before anything is written.
Exit codes: 0 ok, 1 a device or server failed (one line saying why), 2 usage error.`;

/** The catalogue as the registry checks it: model ids and each model's declared variables. */
function knownModels(): KnownModels {
  return loadCatalogue();
}

function readBatch(file: string, needKeys: boolean, io: Io): ReturnType<typeof readBatchCsv> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const batch = readBatchCsv(text, knownModels(), { keys: needKeys });
  if (batch.problems.length) {
    for (const p of batch.problems) io.stderr.write(`${file}: ${formatProblem(p)}\n`);
    io.stderr.write(`nothing written: ${batch.problems.length} problem(s) in ${file}\n`);
    return undefined;
  }
  return batch;
}

function parseTags(list: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--tag expects key=value, got "${item}"`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

async function runSerial(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      dialect: { type: 'string' },
      model: { type: 'string' },
      'app-key': { type: 'string', default: 'generate' },
      'join-eui': { type: 'string', default: '0000000000000000' },
      region: { type: 'string', default: 'EU868' },
      class: { type: 'string', default: 'A' },
      'join-test': { type: 'boolean', default: false },
      'join-timeout': { type: 'string', default: '60' },
      timeout: { type: 'string', default: '3' },
      password: { type: 'string' },
      name: { type: 'string' },
      tag: { type: 'string', multiple: true },
      var: { type: 'string', multiple: true },
      registry: { type: 'string' },
      keys: { type: 'string' },
      record: { type: 'string' },
      operator: { type: 'string' },
      server: { type: 'string' },
      tenant: { type: 'string' },
      application: { type: 'string' },
      'profile-name': { type: 'string' },
      watch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${PROVISION_HELP}\n`);
    return EXIT_OK;
  }
  const token = process.env['CHIRPSTACK_API_TOKEN'];
  if (values.server !== undefined) {
    for (const k of ['tenant', 'application'] as const) if (!values[k]) throw new UsageError(`--${k} is required with --server`);
    if (!token) throw new UsageError('set CHIRPSTACK_API_TOKEN to a ChirpStack API key (tenant or admin)');
  }
  const watchMs = values.watch === undefined ? undefined : parseDuration(values.watch);
  if (values.watch !== undefined && (watchMs === undefined || watchMs <= 0)) throw new UsageError(`--watch takes a duration such as 90s, 10m or 1h, got "${values.watch}"`);
  if (!values.port) throw new UsageError('--port <tty> is required (e.g. --port /dev/ttyUSB0)');
  if (!values.model) throw new UsageError('--model <catalogue-id> is required (see "lorawan-edge devices")');
  const catalogue = loadCatalogue();
  if (!catalogue.byId.has(values.model)) throw new UsageError(`unknown model "${values.model}"${didYouMean(values.model, catalogue.byId.keys())} (see "lorawan-edge devices")`);
  if (values.dialect !== undefined && !DIALECT_IDS.includes(values.dialect as DialectId)) throw new UsageError(`unknown dialect "${values.dialect}"${didYouMean(values.dialect, DIALECT_IDS)} (known: ${DIALECT_IDS.join(', ')})`);
  if (!/^[ABC]$/.test(values.class)) throw new UsageError('--class must be A, B or C');
  const seconds = (name: string, v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new UsageError(`--${name} must be a number of seconds between 0 and 3600`);
    return n * 1000;
  };
  const tags = parseTags(values.tag);
  const variables = parseVariables(values.var);
  // Checked before the device is touched: a typo found after provisioning would waste the visit.
  const entry = catalogue.byId.get(values.model);
  const varCheck = checkVariables(variables, entry ? declaredVariables(entry) : undefined, 'write', values.model);
  if (varCheck.problems.length) throw new UsageError(`--var ${varCheck.problems.map((p) => `${p.name}: ${p.message}`).join('; ')}`);
  const step = (line: string): void => {
    io.stdout.write(`${line}\n`);
  };
  let result;
  try {
    result = await provisionSerial({
      port: values.port,
      dialect: values.dialect as DialectId | undefined,
      appKey: values['app-key'],
      joinEui: values['join-eui'],
      region: values.region,
      deviceClass: values.class as 'A' | 'B' | 'C',
      joinTest: values['join-test'],
      joinTimeoutMs: seconds('join-timeout', values['join-timeout']),
      commandTimeoutMs: seconds('timeout', values.timeout),
      password: values.password,
      onStep: step,
    });
  } catch (err) {
    if (err instanceof ProvisionError) {
      io.stderr.write(`provision serial: ${err.message}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
  const name = values.name ?? `${values.model.split('/').pop() ?? 'device'}-${result.devEui.slice(-6)}`;
  const checked = checkDevice({ dev_eui: result.devEui, name, model: values.model, tags, variables }, 'device', catalogue);
  if (!checked.device) {
    io.stderr.write(`provision serial: ${checked.problems.map((p) => `${p.where}: ${p.message}`).join('; ')}\n`);
    return EXIT_ERRORS;
  }
  if (values.registry) step(`registry ${values.registry}: ${writeRegistryEntry(values.registry, checked.device, (id) => catalogue.byId.has(id))}`);
  if (values.keys) {
    const outcome = writeKeysEntry(values.keys, { devEui: result.devEui, name, catalogueId: values.model, activation: 'OTAA', joinEui: result.joinEui, appKey: result.appKey, variables, tags });
    step(`keys ${values.keys} (0600): ${outcome}, AppKey ${maskKey(result.appKey)}`);
  }
  if (values.record) {
    appendRecord(values.record, {
      time: new Date().toISOString(),
      operator: values.operator ?? process.env['USER'] ?? userInfo().username,
      dev_eui: result.devEui,
      join_eui: result.joinEui,
      key_fingerprint: keyFingerprint(result.appKey),
      firmware: result.firmware,
      region: result.region,
      dialect: result.dialect,
      model: values.model,
      name,
    });
    step(`record ${values.record}: appended`);
  }
  if (values.server !== undefined) {
    const code = await toChirpStack(io, { server: values.server, token: token as string, tenant: values.tenant as string, application: values.application as string, profileName: values['profile-name'], region: values.region, dryRun: false, timeoutMs: 10_000, watchMs, watchText: values.watch }, [{ device: checked.device, joinEui: result.joinEui, appKey: result.appKey }]);
    if (code !== EXIT_OK) return code;
  }
  if (!values.keys && !values.server && values['app-key'] === 'generate') step('note: the generated AppKey was not saved anywhere; pass --keys <file> to keep it');
  step(`done: ${result.devEui} provisioned${result.joined ? ' and joined' : ''}`);
  return EXIT_OK;
}

/** `chirpstack` needs a server; `batch` writes wherever it is told (registry, keys file, ChirpStack). */
const runChirpStack = (argv: string[], io: Io): Promise<number> => runBatch(argv, io, true);

async function runBatch(argv: string[], io: Io, needServer = false): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      tenant: { type: 'string' },
      application: { type: 'string' },
      csv: { type: 'string' },
      'profile-name': { type: 'string' },
      region: { type: 'string', default: 'EU868' },
      'dry-run': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '10' },
      watch: { type: 'string' },
      registry: { type: 'string' },
      keys: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    io.stdout.write(`${PROVISION_HELP}\n`);
    return EXIT_OK;
  }
  const watchMs = values.watch === undefined ? undefined : parseDuration(values.watch);
  if (values.watch !== undefined && (watchMs === undefined || watchMs <= 0)) throw new UsageError(`--watch takes a duration such as 90s, 10m or 1h, got "${values.watch}"`);
  if (!values.csv) throw new UsageError('--csv <file> is required');
  const toServer = needServer || values.server !== undefined;
  if (toServer) for (const k of ['server', 'tenant', 'application'] as const) if (!values[k]) throw new UsageError(`--${k} is required`);
  if (!toServer && !values.registry && !values.keys) throw new UsageError('say where the devices go: --registry, --keys and/or --server/--tenant/--application');
  const token = process.env['CHIRPSTACK_API_TOKEN'];
  if (toServer && !token) throw new UsageError('set CHIRPSTACK_API_TOKEN to a ChirpStack API key (tenant or admin)');
  const batch = readBatch(values.csv, toServer || values.keys !== undefined, io);
  if (!batch) return EXIT_ERRORS;
  const catalogue = loadCatalogue();
  for (const row of batch.rows) {
    if (row.appKey === MILESIGHT_DEFAULT_APP_KEY) io.stderr.write(`warning: line ${row.line}: ${row.device.dev_eui} uses Milesight's published default AppKey: anyone can decrypt its traffic; set a key of its own with the ToolBox app\n`);
  }
  try {
    if (values.registry && !values['dry-run']) io.stdout.write(`registry ${values.registry}: ${countOutcomes(writeRegistryEntries(values.registry, batch.rows.map((r) => r.device), (id) => catalogue.byId.has(id)))}\n`);
    if (values.keys && !values['dry-run']) {
      const entries = batch.rows.map((r) => ({ devEui: r.device.dev_eui, name: r.device.name, catalogueId: r.device.model, activation: 'OTAA' as const, joinEui: r.joinEui as string, appKey: r.appKey as string, variables: r.device.variables, tags: r.device.tags }));
      io.stdout.write(`keys ${values.keys} (0600): ${countOutcomes(writeKeysEntries(values.keys, entries))}\n`);
    }
  } catch (err) {
    if (err instanceof DestinationError || err instanceof RegistryError || err instanceof KeysFileError) {
      io.stderr.write(`provision: ${err.message.split('\n')[0]}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
  if (!toServer) return EXIT_OK;
  return toChirpStack(io, { server: values.server as string, token: token as string, tenant: values.tenant as string, application: values.application as string, profileName: values['profile-name'], region: values.region, dryRun: values['dry-run'], timeoutMs: Number(values.timeout) * 1000 || 10_000, watchMs, watchText: values.watch }, batch.rows);
}

interface ChirpStackRun {
  server: string;
  token: string;
  tenant: string;
  application: string;
  profileName: string | undefined;
  region: string;
  dryRun: boolean;
  timeoutMs: number;
  watchMs: number | undefined;
  watchText: string | undefined;
}

/** Registers rows on ChirpStack (profile, application, devices, keys), then optionally watches them join. */
async function toChirpStack(io: Io, o: ChirpStackRun, rows: readonly { device: RegisteredDevice; joinEui?: string; appKey?: string; description?: string }[]): Promise<number> {
  const catalogue = loadCatalogue();
  const client = new ChirpStackClient({ server: o.server, token: o.token, tenantId: o.tenant, timeoutMs: o.timeoutMs });
  const counts: Record<DeviceOutcome['outcome'], number> = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  const provisioned: { devEui: string; name: string }[] = [];
  try {
    const app = o.dryRun ? { id: '(dry run)', outcome: 'unchanged' as const } : await client.ensureApplication(o.application);
    io.stdout.write(`application "${o.application}": ${app.outcome}\n`);
    const profiles = new Map<string, string>();
    for (const row of rows) {
      const entry = catalogue.byId.get(row.device.model);
      if (!entry) continue; // checked by readBatchCsv
      let profileId = profiles.get(entry.id);
      if (profileId === undefined) {
        const name = o.profileName ?? `lorawan-edge ${entry.id}`;
        const codecScript = typeof entry.codec === 'object' ? readFileSync(join(entry.file, '..', entry.codec.script), 'utf8') : undefined;
        const p = o.dryRun ? { id: '(dry run)', outcome: 'unchanged' as const } : await client.ensureProfile({ name, region: o.region, macVersion: '1.0.3', uplintIntervalS: entry.reportingInterval, codecScript });
        io.stdout.write(`device profile "${name}": ${p.outcome}\n`);
        profileId = p.id;
        profiles.set(entry.id, profileId);
      }
      const variables = Object.fromEntries(Object.entries(row.device.variables).map(([k, v]) => [k, String(v)]));
      const r = await client.upsertDevice(
        { devEui: row.device.dev_eui, name: row.device.name, joinEui: row.joinEui as string, appKey: row.appKey as string, description: row.description, tags: row.device.tags, variables },
        app.id,
        profileId,
        o.dryRun,
      );
      counts[r.outcome]++;
      if (r.outcome !== 'failed') provisioned.push({ devEui: r.devEui, name: r.name });
      io.stdout.write(`${r.devEui} ${r.name}: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}\n`);
    }
    io.stdout.write(`${o.dryRun ? 'dry run: would be ' : ''}created ${counts.created}, updated ${counts.updated}, unchanged ${counts.unchanged}, failed ${counts.failed}\n`);
    if (o.watchMs !== undefined && !o.dryRun && provisioned.length > 0) {
      io.stdout.write(`watching ${provisioned.length} device(s) for a join and a first uplink, for at most ${o.watchText}\n`);
      const deadline = Date.now() + o.watchMs;
      const results = await Promise.all(
        provisioned.map((d) =>
          client.watchDevice(d.devEui, deadline, (r, kind) => {
            if (kind === 'join') io.stdout.write(`${d.devEui} ${d.name}: joined\n`);
            else if (r.uplink) io.stdout.write(`${d.devEui} ${d.name}: first uplink fCnt ${r.uplink.fCnt}, heard by ${r.uplink.gateways} gateway(s)${r.uplink.bestRssi !== undefined ? `, best RSSI ${r.uplink.bestRssi} dBm` : ''}${r.uplink.bestSnr !== undefined ? `, SNR ${r.uplink.bestSnr} dB` : ''}\n`);
          }),
        ),
      );
      const silent = results.filter((r) => !r.uplink);
      io.stdout.write(`watch: ${results.length - silent.length} of ${results.length} joined and sent an uplink${silent.length ? `; not heard: ${silent.map((r) => provisioned.find((p) => p.devEui === r.devEui)?.name ?? r.devEui).join(', ')}` : ''}\n`);
      if (silent.length) return EXIT_ERRORS;
    }
  } catch (err) {
    if (err instanceof ChirpStackError) {
      io.stderr.write(`provision chirpstack: ${o.server}: ${err.message}${err.code === 16 ? ' (check CHIRPSTACK_API_TOKEN)' : ''}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  } finally {
    client.close();
  }
  return counts.failed > 0 ? EXIT_ERRORS : EXIT_OK;
}

async function runLabels(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { csv: { type: 'string' }, out: { type: 'string' }, 'profile-id': { type: 'string', default: '00000000' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(`${PROVISION_HELP}\n`);
    return EXIT_OK;
  }
  if (!values.csv || !values.out) throw new UsageError('--csv <file> and --out <dir> are required');
  if (!/^[0-9A-Fa-f]{8}$/.test(values['profile-id'])) throw new UsageError('--profile-id must be 8 hex digits (VendorID + VendorProfileID)');
  const batch = readBatch(values.csv, false, io);
  if (!batch) return EXIT_ERRORS;
  const missing = batch.rows.filter((r) => !r.joinEui);
  if (missing.length) {
    for (const r of missing) io.stderr.write(`${values.csv}: line ${r.line}, column join_eui: a TR005 label needs the JoinEUI\n`);
    return EXIT_ERRORS;
  }
  try {
    mkdirSync(values.out, { recursive: true });
  } catch (err) {
    throw new UsageError(`cannot create ${values.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const labels = batch.rows.map((r) => ({
    name: r.device.name,
    devEui: r.device.dev_eui,
    site: [r.device.tags['site'], r.device.tags['commune']].filter(Boolean).join(', ') || undefined,
    qr: tr005String({ joinEui: r.joinEui as string, devEui: r.device.dev_eui, profileId: values['profile-id'] }),
  }));
  for (const l of labels) writeFileSync(join(values.out, `${l.devEui}.svg`), labelSvg(l));
  writeFileSync(join(values.out, 'labels.pdf'), await labelSheetPdf(labels));
  io.stdout.write(`${labels.length} labels: ${labels.length} SVG files and labels.pdf (${Math.ceil(labels.length / 21)} A4 page(s)) in ${values.out}\n`);
  return EXIT_OK;
}

async function runScan(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { registry: { type: 'string' }, keys: { type: 'string' }, model: { type: 'string' }, name: { type: 'string' }, tag: { type: 'string', multiple: true }, var: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    io.stdout.write(`${PROVISION_HELP}\n`);
    return EXIT_OK;
  }
  const text = positionals.join(' ');
  if (!text) throw new UsageError('give the scanned text: provision scan "LW:D0:…"');
  let scanned;
  try {
    scanned = parseScan(text);
  } catch (err) {
    if (err instanceof ScanError) {
      io.stderr.write(`provision scan: ${err.message}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
  const shown = { ...scanned, ...(scanned.appKey ? { appKey: maskKey(scanned.appKey) } : {}) };
  io.stdout.write(values.json ? `${JSON.stringify(shown)}\n` : `${Object.entries(shown).map(([k, v]) => `${k}: ${String(v)}`).join('\n')}\n`);
  if (!values.registry) return EXIT_OK;
  if (!values.model) throw new UsageError('--model <catalogue-id> is required with --registry');
  const known = knownModels();
  const devEui = normalizeEui(scanned.devEui) as string;
  const name = values.name ?? `${values.model.split('/').pop() ?? 'device'}-${devEui.slice(-6)}`;
  const checked = checkDevice({ dev_eui: devEui, name, model: values.model, tags: parseTags(values.tag), variables: parseVariables(values.var) }, 'device', known);
  if (!checked.device) {
    io.stderr.write(`provision scan: ${checked.problems.map((p) => `${p.where}: ${p.message}`).join('; ')}\n`);
    return EXIT_ERRORS;
  }
  try {
    io.stdout.write(`registry ${values.registry}: ${writeRegistryEntry(values.registry, checked.device, known)}\n`);
  } catch (err) {
    if (err instanceof RegistryError) {
      io.stderr.write(`provision scan: ${err.message}\n`);
      return EXIT_ERRORS;
    }
    throw err;
  }
  if (values.keys && scanned.appKey && scanned.joinEui) {
    io.stdout.write(`keys ${values.keys} (0600): ${writeKeysEntry(values.keys, { devEui, name, catalogueId: values.model, activation: 'OTAA', joinEui: scanned.joinEui, appKey: scanned.appKey, variables: checked.device.variables, tags: checked.device.tags })}\n`);
  }
  return EXIT_OK;
}

const SUBVERBS: Record<string, (argv: string[], io: Io) => Promise<number>> = { serial: runSerial, chirpstack: runChirpStack, batch: (a, io) => runBatch(a, io), labels: runLabels, scan: runScan };

export async function runProvision(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    io.stdout.write(`${PROVISION_HELP}\n`);
    return sub === undefined ? 2 : EXIT_OK;
  }
  const run = SUBVERBS[sub];
  if (!run) throw new UsageError(`unknown subcommand "${sub}" (serial, chirpstack, batch, labels, scan)`);
  return run(rest, io);
}
