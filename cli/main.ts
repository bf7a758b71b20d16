/**
 * The `lorawan-edge` command: one file per verb, dispatched here. Every verb returns an exit
 * code (0 ok, 1 the operation produced errors, 2 usage error with a one-line message).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../codecs/package-root.ts';
import { EXIT_USAGE, UsageError, type Io } from './usage.ts';

type Verb = (argv: string[], io: Io) => Promise<number>;

// Each verb's module is imported only when that verb runs: `gateway` never loads the MQTT
// broker of `demo`, the simulator or the TTN importer (less memory, faster start).
const VERBS: Record<string, { load: () => Promise<Verb>; summary: string }> = {
  decode: { load: async () => (await import('./decode.ts')).runDecode, summary: 'decode an uplink payload (or a JSON-lines stream) with a device codec' },
  devices: { load: async () => (await import('./devices.ts')).runDevices, summary: 'list the device catalogue' },
  codec: { load: async () => (await import('./codec.ts')).runCodec, summary: 'codec tools: "codec test [<id>]" runs the executable examples' },
  validate: { load: async () => (await import('./validate.ts')).runValidate, summary: 'check the device catalogue and every codec example' },
  gateway: { load: async () => (await import('./gateway.ts')).runGateway, summary: 'run the edge gateway daemon (ChirpStack MQTT → durable log → InfluxDB)' },
  replay: { load: async () => (await import('./replay.ts')).runReplay, summary: 'decode stored uplinks again (after a codec fix) and resend them' },
  demo: { load: async () => (await import('./demo.ts')).runDemo, summary: 'run the end-to-end demo on embedded defaults (no server needed)' },
  provision: { load: async () => (await import('./provision.ts')).runProvision, summary: 'provision devices: serial console (RUI3, Dragino, LoRa-E5), ChirpStack API, TR005 QR labels, scanned codes' },
  keys: { load: async () => (await import('./keys.ts')).runKeys, summary: 'import device keys (simulator --keys JSON or CSV) into the gateway\'s keys file (0600)' },
  downlink: { load: async () => (await import('./downlink.ts')).runDownlink, summary: 'queue a class-A downlink (hex or a catalogue command) for a device of the edge network server' },
  simulate: { load: async () => (await import('./simulate.ts')).runSimulate, summary: 'simulate a fleet: LoRaWAN frames over Semtech UDP or ChirpStack MQTT events, with a ground-truth ledger' },
};

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function helpText(): string {
  const width = Math.max(...Object.keys(VERBS).map((v) => v.length));
  const verbs = Object.entries(VERBS)
    .map(([name, v]) => `  ${name.padEnd(width)}  ${v.summary}`)
    .join('\n');
  return `lorawan-edge ${version()}: LoRaWAN edge gateway toolkit (codecs, durable buffer, InfluxDB, simulator)

Usage: lorawan-edge <command> [options]

Commands:
${verbs}

Run "lorawan-edge <command> --help" for a command's options.
Exit codes: 0 ok, 1 the command produced errors, 2 usage error.`;
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
  const entry = VERBS[verb];
  try {
    if (!entry) throw new UsageError(`unknown command "${verb}" (run "lorawan-edge --help")`);
    const run = await entry.load();
    return await run(rest, io);
  } catch (err) {
    // parseArgs reports unknown options with a code; both are usage errors.
    const code = (err as { code?: string }).code ?? '';
    if (err instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`lorawan-edge${entry ? ` ${verb}` : ''}: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
}
