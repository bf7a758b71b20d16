/**
 * `lorawan-edge simulate --fleet <file> (--udp host:port | --mqtt <url> | --dry-run) [options]`
 *
 * Runs a simulated fleet: real encrypted LoRaWAN frames through virtual Semtech UDP packet
 * forwarders, or ChirpStack v4 integration events to an MQTT broker, with a ground-truth ledger
 * and the keys a gateway needs. Live progress on stderr when it is a terminal, a summary on
 * stdout at the end. Ctrl-C stops cleanly (drains, closes the ledger).
 */
import { didYouMean } from '../devices/did-you-mean.ts';
import type { WriteStream } from 'node:tty';
import { parseArgs } from 'node:util';
import { createSimulation, type OutputSpec, type SimulationOptions } from '../simulator/index.ts';
import { FaultSpecError, parseOutageSpec, parseProbability, type FaultOptions } from '../simulator/faults.ts';
import { parseDuration } from '../simulator/duration.ts';
import { FleetError } from '../simulator/fleet.ts';
import { formatSummary, progressLine } from '../simulator/summary.ts';
import { checkOutputFile } from './errors.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const SIMULATE_HELP = `Usage: lorawan-edge simulate --fleet <file> (--udp <host:port> | --mqtt <url> | --dry-run) [options]

Simulates a fleet of LoRaWAN sensors with physical behaviour: OTAA joins or ABP sessions, real
encrypted frames with correct MIC and FCnt, heard by virtual gateways with RSSI/SNR from distance.

Output (one of):
  --udp <host:port>        Semtech UDP packet forwarders, one socket per fleet gateway, to a
                           network server (joins are answered by it through PULL_RESP)
  --mqtt <url>             ChirpStack v4 MQTT integration events (up, join), QoS 1
  --format <f>             with --mqtt: chirpstack-json (default) or chirpstack-protobuf
  --application-id <uuid>  with --mqtt: the ChirpStack application id in topics and events
  --dry-run                send nothing (write the ledger and keys only)

How much and how fast:
  --count <n>              stop after n uplinks (ledger lines)
  --duration <d>           stop after this much simulated time (e.g. 7d, 12h, 90m)
                           (neither: run until Ctrl-C)
  --speed <x|max>          simulated seconds per real second (default 1 = real time;
                           10080 = a week per minute; max = as fast as possible)
  --rate <r>               at most r uplinks per real second
  --seed <s>               random seed (default: the fleet's seed); same seed = same ledger
  --start <iso|now>        simulated start time (default: the fleet's start)

Ground truth:
  --ledger <file.jsonl>    one line per uplink sent: device, fCnt, payload, expected readings,
                           faults applied, gateways that heard it, deduplicationId
  --keys <file.json>       the fleet's keys for the gateway's registry (written with mode 0600)

Faults (probability per uplink: 0.05 or 5%; they override the fleet file's faults):
  --loss <p>               frame heard by no gateway
  --corrupt-mic <p>        one MIC bit flipped (UDP); not published (MQTT)
  --duplicate <p>          delivered twice (same rxpk / same event)
  --replay <p>             an earlier frame sent again later (its FCnt repeats)
  --fcnt-reset <p>         device restarts: ABP counts from 0 again, OTAA rejoins
  --gateway-outage <gw@start+duration>  a gateway hears nothing, e.g. gw-station@2h+30m
                           (gateway id or name; start: duration after the start or ISO time;
                           repeatable)

UDP tuning:
  --keepalive <d>          PULL_DATA period, real time (default 10s)
  --ack-timeout <d>        wait for PUSH_ACK/PULL_ACK and join-accepts (default 2s / 5s)
  --nonce-salt <n>         vary DevNonces (a network server rejects reused ones)
  --udp-resend <ms>        keep each PUSH_DATA until its PUSH_ACK and send it again every
                           <ms> (same token; at most 120 times, 10,000 kept); without it no
                           resend, like the stock Semtech forwarder

  --quiet                  no progress line, no warnings
  -h, --help               this help

Exit codes: 0 ok, 1 uplinks could not be encoded or sent, 2 usage error.`;

function parseCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--count must be a positive integer, not "${text}"`);
  return Number(text);
}

function parseDurationOpt(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`--${name} must be a duration like 90s, 30m, 12h or 7d, not "${text}"`);
  return ms;
}

function parseSpeed(text: string): number | 'max' {
  if (text === 'max') return 'max';
  const n = Number(text.replace(/x$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--speed must be a positive number or "max", not "${text}"`);
  return n;
}

function parsePositive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, not "${text}"`);
  return n;
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError(`--udp must be <host:port>, e.g. 127.0.0.1:1700, not "${text}"`);
  return { host: (m[1] ?? m[2]) as string, port };
}

function parseMqttUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--mqtt must be a broker URL like mqtt://127.0.0.1:1883, not "${text}"`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:'].includes(u.protocol)) throw new UsageError(`--mqtt URL must start with mqtt://, mqtts://, ws:// or wss://, not "${text}"`);
  return text;
}

function probability(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseProbability(text, `--${name}`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export async function runSimulate(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      fleet: { type: 'string' },
      count: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      speed: { type: 'string' },
      seed: { type: 'string' },
      start: { type: 'string' },
      udp: { type: 'string' },
      mqtt: { type: 'string' },
      format: { type: 'string' },
      'application-id': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      ledger: { type: 'string' },
      keys: { type: 'string' },
      loss: { type: 'string' },
      'corrupt-mic': { type: 'string' },
      replay: { type: 'string' },
      duplicate: { type: 'string' },
      'fcnt-reset': { type: 'string' },
      'gateway-outage': { type: 'string', multiple: true },
      keepalive: { type: 'string' },
      'ack-timeout': { type: 'string' },
      'nonce-salt': { type: 'string' },
      'udp-resend': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${SIMULATE_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}" (options start with --)`);
  if (!values.fleet) throw new UsageError('--fleet is required (e.g. --fleet simulator/fleets/demo.yaml)');
  const outputs = [values.udp !== undefined, values.mqtt !== undefined, values['dry-run']].filter(Boolean).length;
  if (outputs !== 1) throw new UsageError('choose exactly one output: --udp <host:port>, --mqtt <url> or --dry-run');
  if (values.format !== undefined && values.mqtt === undefined) throw new UsageError('--format applies to --mqtt only');
  if (values.format !== undefined && values.format !== 'chirpstack-json' && values.format !== 'chirpstack-protobuf') {
    throw new UsageError(`--format must be chirpstack-json or chirpstack-protobuf, not "${values.format}"${didYouMean(values.format, ['chirpstack-json', 'chirpstack-protobuf'])}`);
  }
  if (values['application-id'] !== undefined && values.mqtt === undefined) throw new UsageError('--application-id applies to --mqtt only');
  if (values.seed !== undefined && !/^\d+$/.test(values.seed)) throw new UsageError(`--seed must be a non-negative integer, not "${values.seed}"`);

  const ackTimeoutMs = values['ack-timeout'] !== undefined ? parseDurationOpt('ack-timeout', values['ack-timeout']) : undefined;
  if (values['udp-resend'] !== undefined && values.udp === undefined) throw new UsageError('--udp-resend applies to --udp only');
  if (values['udp-resend'] !== undefined && (!/^\d+$/.test(values['udp-resend']) || Number(values['udp-resend']) < 1 || Number(values['udp-resend']) > 60_000)) {
    throw new UsageError(`--udp-resend must be a number of milliseconds from 1 to 60000, not "${values['udp-resend']}"`);
  }
  let output: OutputSpec;
  if (values.udp !== undefined) {
    output = {
      type: 'udp',
      ...parseHostPort(values.udp),
      ...(values.keepalive !== undefined ? { keepaliveMs: parseDurationOpt('keepalive', values.keepalive) } : {}),
      ...(ackTimeoutMs !== undefined ? { ackTimeoutMs } : {}),
      ...(values['udp-resend'] !== undefined ? { resendMs: Number(values['udp-resend']) } : {}),
    };
  } else if (values.mqtt !== undefined) {
    output = { type: 'mqtt', url: parseMqttUrl(values.mqtt), format: (values.format as 'chirpstack-json' | 'chirpstack-protobuf' | undefined) ?? 'chirpstack-json' };
  } else {
    output = { type: 'none' };
  }

  const faults: FaultOptions = {};
  const set = (key: keyof Omit<FaultOptions, 'gatewayOutages'>, name: string): void => {
    const p = probability(name, values[name as 'loss']);
    if (p !== undefined) faults[key] = p;
  };
  set('loss', 'loss');
  set('corruptMic', 'corrupt-mic');
  set('replay', 'replay');
  set('duplicate', 'duplicate');
  set('fcntReset', 'fcnt-reset');
  try {
    if (values['gateway-outage']?.length) faults.gatewayOutages = values['gateway-outage'].map(parseOutageSpec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const quiet = values.quiet;
  const warn = (m: string): void => {
    if (!quiet) io.stderr.write(`warning: ${m}\n`);
  };
  const options: SimulationOptions = {
    fleet: values.fleet,
    output,
    speed: values.speed !== undefined ? parseSpeed(values.speed) : 1,
    faults,
    onWarning: warn,
    ...(values.rate !== undefined ? { rate: parsePositive('rate', values.rate) } : {}),
    ...(values.seed !== undefined ? { seed: Number(values.seed) } : {}),
    ...(values.start !== undefined ? { start: values.start } : {}),
    ...(values.ledger !== undefined ? { ledger: values.ledger } : {}),
    ...(values.keys !== undefined ? { keys: values.keys } : {}),
    ...(values['application-id'] !== undefined ? { chirpstack: { applicationId: values['application-id'] } } : {}),
    ...(ackTimeoutMs !== undefined ? { joinTimeoutMs: Math.max(ackTimeoutMs, 1_000) } : {}),
    ...(values['nonce-salt'] !== undefined ? { devNonceSalt: Number(values['nonce-salt']) | 0 } : {}),
  };
  if (options.start !== undefined && options.start !== 'now' && Number.isNaN(Date.parse(options.start as string))) {
    throw new UsageError(`--start must be an ISO time or "now", not "${String(options.start)}"`);
  }
  // Before any frame is sent: a run that cannot write its ground truth is not worth starting.
  if (values.ledger !== undefined) checkOutputFile(values.ledger, '--ledger');
  if (values.keys !== undefined) checkOutputFile(values.keys, '--keys');
  const count = values.count !== undefined ? parseCount(values.count) : undefined;
  const durationMs = values.duration !== undefined ? parseDurationOpt('duration', values.duration) : undefined;

  let sim;
  try {
    sim = await createSimulation(options);
  } catch (err) {
    if (err instanceof FleetError || err instanceof FaultSpecError) throw new UsageError(err.message);
    if (err instanceof Error && /^devices\[\d+\]/.test(err.message)) throw new UsageError(`${values.fleet}: ${err.message}`);
    throw err;
  }

  const tty = !quiet && (io.stderr as Partial<WriteStream>).isTTY === true;
  let progress: NodeJS.Timeout | undefined;
  if (tty) {
    progress = setInterval(() => io.stderr.write(`\r${progressLine(sim.stats())}\x1b[K`), 250);
  }
  const onSignal = (): void => {
    void sim.stop();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let stats;
  let failure: string | undefined;
  try {
    await sim.run({ ...(count !== undefined ? { count } : {}), ...(durationMs !== undefined ? { durationMs } : {}) });
  } catch (err) {
    // Stopped by a signal before run() began is fine; anything else (broker or server unreachable…) is one line.
    if (!/was stopped/.test((err as Error).message)) failure = (err as Error).message;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (progress) clearInterval(progress);
    stats = await sim.stop();
    if (tty) io.stderr.write('\r\x1b[K');
  }
  if (failure !== undefined) {
    io.stderr.write(`lorawan-edge simulate: ${failure}\n`);
    return EXIT_ERRORS;
  }
  io.stdout.write(`${formatSummary(stats)}\n`);
  const c = stats.output.counters;
  const failed = stats.encodeErrors > 0 || (c['failed'] ?? 0) > 0 || (c['sendErrors'] ?? 0) > 0;
  return failed ? EXIT_ERRORS : EXIT_OK;
}
