/**
 * The `lorawan-edge` command: one file per verb, dispatched here. Every verb returns an exit
 * code; whatever it throws becomes one line and a documented code in cli/errors.ts (the table:
 * EXIT there, README.md "Exit codes").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../codecs/package-root.ts';
import { isClosedOutput } from './closed-output.ts';
import { EXIT, explainError } from './errors.ts';
import { EXIT_USAGE, UsageError, type Io } from './usage.ts';

type Verb = (argv: string[], io: Io) => Promise<number>;

/**
 * A verb: its loader, a one-line summary for the top-level help, its sub-verbs (listed there
 * too, and each answers --help), and optionally its help text when the verb's own parser does
 * not answer --help for every sub-verb.
 */
export interface VerbEntry {
  load: () => Promise<Verb>;
  summary: string;
  subcommands?: Record<string, string>;
  help?: () => Promise<string>;
}

// Each verb's module is imported only when that verb runs: `gateway` never loads the MQTT
// broker of `demo`, the simulator or the TTN importer (less memory, faster start).
export const VERBS: Record<string, VerbEntry> = {
  decode: { load: async () => (await import('./decode.ts')).runDecode, summary: 'decode an uplink payload (or a JSON-lines stream) with a device codec' },
  devices: {
    load: async () => (await import('./devices.ts')).runDevices,
    summary: 'list the device catalogue; manage the gateway\'s device registry',
    subcommands: { add: 'add one installed device to the registry', import: 'add the devices of a CSV file to the registry', registered: 'list the registry' },
    help: async () => (await import('./devices.ts')).DEVICES_HELP,
  },
  codec: {
    load: async () => (await import('./codec.ts')).runCodec,
    summary: 'codec tools',
    subcommands: { test: 'run the executable examples of one codec or all', 'import-ttn': 'import devices from a TTN device-repository vendor folder' },
  },
  validate: { load: async () => (await import('./validate.ts')).runValidate, summary: 'check the device catalogue and every codec example' },
  gateway: { load: async () => (await import('./gateway.ts')).runGateway, summary: 'run the edge gateway daemon (ChirpStack MQTT → durable log → InfluxDB)' },
  replay: { load: async () => (await import('./replay.ts')).runReplay, summary: 'decode stored uplinks again (after a codec fix) and resend them' },
  demo: { load: async () => (await import('./demo.ts')).runDemo, summary: 'run the end-to-end demo on embedded defaults (no server needed)' },
  provision: {
    load: async () => (await import('./provision.ts')).runProvision,
    summary: 'provision devices: serial console (RUI3, Dragino, LoRa-E5), ChirpStack API, TR005 QR labels, scanned codes',
    subcommands: {
      serial: 'set up a device over its serial console, read back and compare',
      chirpstack: 'create the devices of a CSV in ChirpStack (profile, application, keys)',
      batch: 'one CSV into the registry, the keys file and ChirpStack',
      labels: 'TR005 QR labels for the devices of a CSV',
      scan: 'read a scanned QR code or sticker (and add the device)',
    },
  },
  keys: {
    load: async () => (await import('./keys.ts')).runKeys,
    summary: "import device keys (simulator --keys JSON or CSV) into the gateway's keys file (0600)",
    subcommands: { import: 'import a simulator --keys JSON or a CSV of OTAA/ABP keys' },
  },
  downlink: { load: async () => (await import('./downlink.ts')).runDownlink, summary: 'queue a class-A downlink (hex or a catalogue command) for a device of the edge network server' },
  collect: { load: async () => (await import('./collect.ts')).runCollect, summary: "the collection list of a day's round (bins full or filling before the next round), from the local store" },
  simulate: { load: async () => (await import('./simulate.ts')).runSimulate, summary: 'simulate a fleet: LoRaWAN frames over Semtech UDP or ChirpStack MQTT events, with a ground-truth ledger' },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function helpText(): string {
  const rows = Object.entries(VERBS).flatMap(([name, v]) => [
    [name, v.summary],
    ...Object.entries(v.subcommands ?? {}).map(([sub, summary]) => [`${name} ${sub}`, `  ${summary}`]),
  ]);
  const width = Math.max(...rows.map(([n]) => (n as string).length));
  const verbs = rows.map(([n, summary]) => `  ${(n as string).padEnd(width)}  ${summary}`).join('\n');
  return `lorawan-edge ${version()}: LoRaWAN edge gateway toolkit (codecs, durable buffer, InfluxDB, simulator)

Usage: lorawan-edge <command> [options]

Commands:
${verbs}

Run "lorawan-edge <command> [<subcommand>] --help" for its options.
Exit codes: ${EXIT.ok} ok, ${EXIT.errors} the command produced errors, ${EXIT.usage} usage error, ${EXIT.software} internal error,
${EXIT.cantCreate} cannot create an output file or folder, ${EXIT.io} other file error, ${EXIT.busy} busy (port in use,
data folder locked), ${EXIT.config} invalid configuration.`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    io.stdout.write(`${helpText()}\n`);
    return verb === undefined ? EXIT_USAGE : 0;
  }
  if (verb === '--version' || verb === '-V') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  const entry = Object.hasOwn(VERBS, verb) ? VERBS[verb] : undefined;
  const sub = entry?.subcommands && rest[0] !== undefined && Object.hasOwn(entry.subcommands, rest[0]) ? rest[0] : undefined;
  const command = entry ? (sub ? `${verb} ${sub}` : verb) : '';
  try {
    if (!entry) throw new UsageError(`unknown command "${verb}" (run "lorawan-edge --help")`);
    const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (entry.help && (options.includes('--help') || options.includes('-h'))) {
      io.stdout.write(`${await entry.help()}\n`);
      return EXIT.ok;
    }
    const run = await entry.load();
    return await run(rest, io);
  } catch (err) {
    if (isClosedOutput(err)) return EXIT.ok; // `… | head`: the reader stopped reading (cli/closed-output.ts)
    const { line, code } = explainError(err, command);
    io.stderr.write(`lorawan-edge${command ? ` ${command}` : ''}: ${line}\n`);
    if (code === EXIT.software && process.env['LORAWAN_EDGE_DEBUG'] === '1') io.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    return code;
  }
}
