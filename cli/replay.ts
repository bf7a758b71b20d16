/**
 * `lorawan-edge replay --config <gateway.yaml> [filters]`: decode stored uplinks again with
 * today's codecs and registry and deliver them to every sink once more (run with the gateway
 * stopped). InfluxDB points keep their timestamps, so the new values replace the old ones.
 */
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../devices/catalogue.ts';
import { didYouMean } from '../devices/did-you-mean.ts';
import { normalizeEui, problemText, RegistryError } from '../gateway/registry/devices-file.ts';
import { replay } from '../gateway/replay.ts';
import { EXIT_CONFIG, EXIT_LOCKED, loadConfigOrReport, reportLocked } from './gateway.ts';
import { EXIT_OK, UsageError, type Io } from './usage.ts';

export const REPLAY_HELP = `Usage: lorawan-edge replay --config <gateway.yaml> [--dev-eui <eui>] [--model <catalogue-id>]
                           [--since <iso>] [--until <iso>] [--failed-only] [--dry-run]

Decodes the uplinks kept in the durable log again (e.g. after a codec fix or a corrected bin
geometry) and sends the new readings to every sink; InfluxDB overwrites the old points because
they keep the uplink's timestamp. Stop the gateway first: the log is used by one process at a time
(exit code 75 when the gateway still runs on this data_dir).`;

function time(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${flag} is not an ISO 8601 time: "${text}"`);
  return t;
}

export async function runReplay(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'dev-eui': { type: 'string' },
      model: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'failed-only': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${REPLAY_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (!values.config) throw new UsageError('--config <gateway.yaml> is required');
  let devEui: string | undefined;
  if (values['dev-eui'] !== undefined) {
    devEui = normalizeEui(values['dev-eui']);
    if (!devEui) throw new UsageError(`--dev-eui is not a 16-hex-digit EUI: "${values['dev-eui']}"`);
  }
  const sinceMs = time(values.since, '--since');
  const untilMs = time(values.until, '--until');
  // Either would silently match nothing ("matched 0"), which reads as "nothing to replay".
  if (sinceMs !== undefined && untilMs !== undefined && sinceMs > untilMs) throw new UsageError(`--since (${values.since}) is after --until (${values.until}): nothing could match`);
  if (values.model !== undefined) {
    const ids = [...loadCatalogue().byId.keys()];
    if (!ids.includes(values.model)) throw new UsageError(`--model: unknown catalogue id "${values.model}"${didYouMean(values.model, ids)} (see "lorawan-edge devices")`);
  }
  const config = loadConfigOrReport(values.config, io);
  if (!config) return EXIT_CONFIG;
  let report: Awaited<ReturnType<typeof replay>>;
  try {
    report = await replay(
      config,
      {
        ...(devEui ? { devEui } : {}),
        ...(values.model ? { model: values.model } : {}),
        ...(sinceMs !== undefined ? { sinceMs } : {}),
        ...(untilMs !== undefined ? { untilMs } : {}),
        failedOnly: values['failed-only'],
      },
      { dryRun: values['dry-run'] },
    );
  } catch (err) {
    if (reportLocked(err, config, io)) return EXIT_LOCKED;
    if (!(err instanceof RegistryError)) throw err;
    for (const p of err.problems) io.stderr.write(`${err.file}: ${problemText(p)}\n`);
    return EXIT_CONFIG;
  }
  io.stdout.write(
    `${values['dry-run'] ? 'dry run: ' : ''}scanned ${report.scanned} record(s), matched ${report.matched}, decoded again ${report.redecoded} (${report.stillFailing} still failing), appended ${report.appended} for delivery\n`,
  );
  return EXIT_OK;
}
