/**
 * `lorawan-edge downlink --config <gateway.yaml> --dev-eui <eui> (--fport <n> <hex> | --command <name> [--arg k=v]…) [--confirmed]`
 *
 * Queues a class-A downlink in the edge network server's session store (SQLite, shared with the
 * running daemon, which sends it in the receive window after the device's next uplink). With
 * `--command`, the payload comes from the device's catalogue codec (`encodeDownlink`), the
 * device's model from the registry: `--command uploadInterval --arg value=4` encodes
 * `{"uploadInterval": 4}`; other `--arg`s make an object (`{"name": {"k": v, …}}`).
 * It only inserts the row (`enqueueDownlink`): the daemon's queue recovery (`sent` rows back to
 * `pending`) runs at the daemon's start, never here, where the daemon may be running.
 */
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../devices/catalogue.ts';
import { resolveCodec } from '../devices/resolve.ts';
import type { JsonObject } from '../codecs/api.ts';
import { normalizeEui, loadRegistry } from '../gateway/registry/devices-file.ts';
import { enqueueDownlink } from '../gateway/ns/session-store.ts';
import { SemtechUdpSource } from '../gateway/sources/semtech-udp.ts';
import { EXIT_CONFIG, loadConfigOrReport } from './gateway.ts';
import { EXIT_ERRORS, EXIT_OK, parseVariables, UsageError, type Io } from './usage.ts';

export const DOWNLINK_HELP = `Usage: lorawan-edge downlink --config <gateway.yaml> --dev-eui <eui> --fport <1-223> <hex> [--confirmed]
       lorawan-edge downlink --config <gateway.yaml> --dev-eui <eui> --command <name> [--arg key=value]… [--confirmed]

Queues a class-A downlink for a device of the edge network server (source semtech_udp); it is
sent after the device's next uplink, in RX1 (RX2 when RX1 cannot be met). --command encodes the
payload with the device's catalogue codec (see the device's downlink commands in "lorawan-edge
devices --json"): --arg value=V gives {"<name>": V}, other args {"<name>": {key: value, …}}.
A confirmed downlink is retried (confirmed_retries) until the device acknowledges it.
Exit codes: 0 queued, 1 the codec could not encode it, 2 usage error, 78 bad config.`;

export async function runDownlink(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'dev-eui': { type: 'string' },
      fport: { type: 'string' },
      command: { type: 'string' },
      arg: { type: 'string', multiple: true },
      confirmed: { type: 'boolean', default: false },
      source: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${DOWNLINK_HELP}\n`);
    return EXIT_OK;
  }
  if (!values.config) throw new UsageError('--config <gateway.yaml> is required');
  const devEui = normalizeEui(values['dev-eui']);
  if (!devEui) throw new UsageError('--dev-eui must be a 16-hex-digit EUI');
  if ((values.command === undefined) === (positionals.length === 0)) throw new UsageError('give either --fport <n> <hex> or --command <name>');
  const config = loadConfigOrReport(values.config, io);
  if (!config) return EXIT_CONFIG;
  const src = config.udp_sources.find((s) => values.source === undefined || s.name === values.source);
  if (!src) throw new UsageError(`${values.config} has no semtech_udp source${values.source ? ` named "${values.source}"` : ''}`);

  let fPort: number;
  let payload: Buffer;
  if (values.command === undefined) {
    if (positionals.length !== 1) throw new UsageError('expected one hex payload');
    const hex = (positionals[0] as string).replace(/\s/g, '');
    if (!/^([0-9a-fA-F]{2}){0,242}$/.test(hex)) throw new UsageError('the payload must be hex (at most 242 bytes)');
    payload = Buffer.from(hex, 'hex');
    fPort = Number(values.fport);
    if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new UsageError('--fport must be 1..223');
  } else {
    const catalogue = loadCatalogue();
    const registry = config.registry.devices_file ? loadRegistry(config.registry.devices_file, (id) => catalogue.byId.has(id)) : { byEui: new Map() };
    const dev = registry.byEui.get(devEui);
    if (!dev) throw new UsageError(`${devEui} is not in the device registry: its model (and codec) is unknown`);
    const entry = catalogue.byId.get(dev.model);
    if (!entry) throw new UsageError(`unknown model ${dev.model}`);
    const codec = await resolveCodec(entry);
    if (!codec.encodeDownlink) throw new UsageError(`${dev.model} has no downlink encoder`);
    const args = parseVariables(values.arg);
    const keys = Object.keys(args);
    const data: JsonObject = { [values.command]: (keys.length === 0 ? true : keys.length === 1 && keys[0] === 'value' ? args['value'] : args) as JsonObject[string] };
    const r = codec.encodeDownlink({ data, variables: dev.variables });
    if (!r.bytes || (r.errors?.length ?? 0) > 0) {
      io.stderr.write(`${dev.model} could not encode ${JSON.stringify(data)}: ${(r.errors ?? ['no bytes']).join('; ')}\n`);
      return EXIT_ERRORS;
    }
    payload = Buffer.from(r.bytes);
    fPort = Number(values.fport ?? r.fPort ?? entry.downlink?.fPort);
    if (!Number.isInteger(fPort) || fPort < 1 || fPort > 223) throw new UsageError(`no FPort for ${dev.model}: give --fport`);
  }
  // Enqueue only: the daemon may be running, and only it recovers its queue (at its start).
  const id = enqueueDownlink(SemtechUdpSource.storePath(src), devEui, fPort, payload, values.confirmed);
  io.stdout.write(`queued downlink ${id} for ${devEui}: FPort ${fPort}, ${payload.toString('hex') || '(empty)'}${values.confirmed ? ', confirmed' : ''}\n`);
  return EXIT_OK;
}
