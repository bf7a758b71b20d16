/**
 * `lorawan-edge gateway --config <file>`: runs the daemon in the foreground.
 * SIGTERM/SIGINT drain and exit 0; SIGHUP re-reads the device registry; a bad config exits 78
 * (EX_CONFIG, so systemd does not restart-loop on it) after printing every problem by key; a
 * data_dir already in use by another lorawan-edge process exits 75 (EX_TEMPFAIL) with one line.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type GatewayConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import { preflight } from '../gateway/preflight.ts';
import { problemText, RegistryError } from '../gateway/registry/devices-file.ts';
import { KeysFileError } from '../gateway/registry/keys-file.ts';
import { StoreFileError } from '../gateway/web/store/store-file-error.ts';
import { EXIT, OperatorError } from './errors.ts';
import { EXIT_OK, UsageError, type Io } from './usage.ts';

export const EXIT_CONFIG = 78;
/** The data_dir's durable log is locked by another lorawan-edge process (sysexits EX_TEMPFAIL). */
export const EXIT_LOCKED = 75;

/**
 * Whether `err` is the durable log's "in use" refusal; if so, prints the one line that says
 * what to do (no stack trace).
 */
export function reportLocked(err: unknown, config: GatewayConfig, io: Io): boolean {
  if ((err as { code?: unknown } | undefined)?.code !== 'LOG_LOCKED') return false;
  io.stderr.write(
    `lorawan-edge: data_dir ${config.data_dir} is in use: its durable log ${config.buffer.dir} is locked by another lorawan-edge process ` +
      `(a running gateway, or "lorawan-edge replay"); stop that one first (e.g. systemctl stop lorawan-edge) or give this one another data_dir\n`,
  );
  return true;
}

/** The gateway config, or undefined once every problem has been printed (exit with EXIT_CONFIG). */
export function loadConfigOrReport(file: string, io: Io): GatewayConfig | undefined {
  try {
    return loadConfig(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return undefined;
  }
}

export const GATEWAY_HELP = `Usage: lorawan-edge gateway --config <gateway.yaml> [--check]

Runs the edge gateway: ChirpStack MQTT → decode → durable log → InfluxDB / files.
  --config <file>   the YAML config (sample: gateway/gateway.sample.yaml)
  --check           validate the config and exit (0 ok, 78 invalid)

Exit codes: 0 stopped by a signal, 2 usage error, 78 invalid config, 75 data_dir in use by
another lorawan-edge process (a running gateway or replay), 70 a part died that only a restart
brings back (a semtech_udp intake worker; systemd's Restart=on-failure restarts it).

Signals: SIGTERM/SIGINT stop (sources, then sinks drain, then the log closes) and exit 0;
SIGHUP re-reads the device registry file. Health: GET /healthz, metrics: GET /metrics on the
configured http.listen (127.0.0.1:9108 by default).`;

export async function runGateway(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(`${GATEWAY_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.config) throw new UsageError('--config <gateway.yaml> is required (sample: gateway/gateway.sample.yaml)');
  const config = loadConfigOrReport(values.config, io);
  if (!config) return EXIT_CONFIG;
  // What start() loads besides the config (registry, catalogue references), checked first.
  const pre = preflight(config);
  for (const w of pre.warnings) io.stderr.write(`warning: ${w}\n`);
  if (pre.problems.length) {
    for (const p of pre.problems) io.stderr.write(`${p}\n`);
    return EXIT_CONFIG;
  }
  if (values.check) {
    io.stdout.write(`config ok: ${config.sources.length + config.udp_sources.length} source(s), ${config.sinks.length + config.mqtt_sinks.length} sink(s), ${pre.devices} registered device(s), buffer in ${config.buffer.dir}\n`);
    return EXIT_OK;
  }
  // What the preflight read is not read again by start() (a 10,000-device registry: ~0.6 s).
  let fatal: string | undefined;
  const gateway = createGateway(config, {
    logStream: io.stdout,
    preloaded: pre.preloaded,
    // A dead UDP intake worker leaves a deaf gateway: stop and exit 70, systemd restarts it
    // (Restart=on-failure) and the inbox journal replays what was acknowledged.
    onFatal: (message) => {
      if (fatal !== undefined) return;
      fatal = message;
      io.stderr.write(`lorawan-edge gateway: ${message}; stopping (exit 70) so the service manager restarts it\n`);
      stop();
    },
  });
  let stopping: Promise<void> | undefined;
  /** Stops once; `signal` when one asked for it (else a fatal part, already told on stderr). */
  const stop = (signal?: string): void => {
    if (stopping) return;
    if (signal) gateway.logger.info({ signal }, 'signal received');
    stopping = gateway.stop();
  };
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  const onHup = (): void => {
    gateway.reloadRegistry().catch((err: unknown) => {
      gateway.logger.error({ err: (err as Error).message }, 'registry reload failed; keeping the previous one');
    });
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  try {
    try {
      await gateway.start();
    } catch (err) {
      // A start that fails half-way (the HTTP port in use, the data_dir locked, a registry changed
      // since the preflight) must not leave the MQTT client and the log open, or the process
      // would hang instead of exiting with its one line.
      await gateway.stop({ deadlineMs: Date.now() + 5_000 }).catch(() => undefined);
      if (reportLocked(err, config, io)) return EXIT_LOCKED;
      if (err instanceof RegistryError) {
        for (const p of err.problems) io.stderr.write(`${err.file}: ${problemText(p)}\n`);
        return EXIT_CONFIG;
      }
      // A keys file others can read (or a broken one): one line naming the file, exit 78.
      if (err instanceof KeysFileError) {
        io.stderr.write(`${err.message}\n`);
        return EXIT_CONFIG;
      }
      // The local store's file (or its folder) is not writable: one line naming it and its key.
      if (err instanceof StoreFileError) throw new OperatorError(err.message, err.cantCreate ? EXIT.cantCreate : EXIT.io);
      throw err;
    }
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (stopping) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    await stopping;
    return fatal === undefined ? EXIT_OK : EXIT.software;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
  }
}
