/**
 * `lorawan-edge collect --date YYYY-MM-DD`: the collection list of a day's round, from the
 * gateway's local store (data_dir/local.sqlite), computed by gateway/analytics as the planner
 * page does. Read-only: it runs beside a running gateway.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { collectionListCsv, type CollectionList } from '../gateway/analytics/collection-list.ts';
import { isRoundTime, openStoreReadOnly, planForDate, PLANNER_DEFAULTS, roundOn } from '../gateway/web/store/planner-store.ts';
import { EXIT, OperatorError } from './errors.ts';
import { EXIT_CONFIG, loadConfigOrReport } from './gateway.ts';
import { EXIT_OK, UsageError, type Io } from './usage.ts';

export const COLLECT_HELP = `Usage: lorawan-edge collect --date <YYYY-MM-DD> (--config <gateway.yaml> | --data-dir <dir>)
                           [--commune <name>] [--round <HH:MM>] [--threshold <pct>] [--csv | --json]

The bins to empty at that day's round: full now, or passing the threshold (default 90 %) before
the next round (a day later), grouped by commune, most urgent first, with the fill expected when
the crew arrives. Also lists bins to check (offline, faulty sensor) and skipped collections (a
round at which a full bin was not emptied). Reads the gateway's local store (web.store.file, by
default <data_dir>/local.sqlite) read-only, so it runs beside the gateway.

  --round <HH:MM>    the round's time, local time (default web.planner.round_time, else 05:00)
  --threshold <pct>  fill that makes a bin due (default web.planner.threshold_pct, else 90)
  --csv              one row per bin (commune, dev_eui, name, site, state, fill, expected fill, reason)
  --json             the list as JSON (times in ms since epoch)

Exit codes: 0 ok, 2 usage error, 74 the store cannot be read, 78 invalid configuration.`;

const pct = (v: number | undefined): string => (v === undefined ? '—' : `${v.toFixed(1)} %`);

/** The list as text for a terminal or a printer. */
export function collectionText(list: CollectionList, date: string): string {
  const round = new Date(list.roundMs);
  const hhmm = `${String(round.getHours()).padStart(2, '0')}:${String(round.getMinutes()).padStart(2, '0')}`;
  const out = [`Collection list for ${date} ${hhmm} (threshold ${list.thresholdPct} %): ${list.total} bin(s)`];
  for (const g of list.groups) {
    out.push('', `${g.key} (${g.bins.length})`);
    for (const b of g.bins) out.push(`  ${b.name.padEnd(24)} ${b.devEui}  now ${pct(b.fillPct).padStart(8)}  at round ${pct(b.expectedFillPct).padStart(8)}  ${b.reason}`);
  }
  if (list.check.length) {
    out.push('', `To check (${list.check.length}): fill not known well enough to plan`);
    for (const b of list.check) out.push(`  ${b.name.padEnd(24)} ${b.devEui}  ${b.state}: ${b.reason}`);
  }
  out.push('', `Skipped collections: ${list.skipped.length === 0 ? 'none' : list.skipped.length}`);
  for (const s of list.skipped) out.push(`  ${s.name.padEnd(24)} ${s.devEui}  ${new Date(s.roundMs).toISOString()}  ${s.detail}`);
  return `${out.join('\n')}\n`;
}

export async function runCollect(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      date: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      commune: { type: 'string' },
      round: { type: 'string' },
      threshold: { type: 'string' },
      csv: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${COLLECT_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  if (values.date === undefined) throw new UsageError('--date <YYYY-MM-DD> is required');
  if (values.round !== undefined && !isRoundTime(values.round)) throw new UsageError(`--round is not a time HH:MM: "${values.round}"`);
  if (roundOn(values.date, values.round ?? PLANNER_DEFAULTS.roundTime) === undefined) throw new UsageError(`--date is not a date YYYY-MM-DD: "${values.date}"`);
  if (values.csv && values.json) throw new UsageError('--csv and --json exclude each other');
  const thresholdFlag = values.threshold === undefined ? undefined : Number(values.threshold);
  if (thresholdFlag !== undefined && (!Number.isFinite(thresholdFlag) || thresholdFlag <= 0 || thresholdFlag > 100)) throw new UsageError(`--threshold must be a number 1..100, got "${values.threshold}"`);
  if ((values.config === undefined) === (values['data-dir'] === undefined)) throw new UsageError('give one of --config <gateway.yaml> or --data-dir <dir>');

  let file: string;
  const opts = { ...PLANNER_DEFAULTS };
  if (values.config !== undefined) {
    const config = loadConfigOrReport(values.config, io);
    if (!config) return EXIT_CONFIG;
    if (!config.web.store.enabled) throw new OperatorError(`${values.config}: web.store.enabled is false: the gateway keeps no local store to plan from`, EXIT.config);
    file = config.web.store.file;
    Object.assign(opts, { roundTime: config.web.planner.round_time, thresholdPct: config.web.planner.threshold_pct, groupBy: config.web.commune_tag });
  } else file = join(resolve(values['data-dir'] as string), 'local.sqlite');
  if (values.round !== undefined) opts.roundTime = values.round;
  if (thresholdFlag !== undefined) opts.thresholdPct = thresholdFlag;
  if (!existsSync(file)) throw new OperatorError(`no local store at ${file} (has the gateway run with this data_dir?)`, EXIT.io);

  let db: ReturnType<typeof openStoreReadOnly>;
  try {
    db = openStoreReadOnly(file);
  } catch (err) {
    throw new OperatorError(`cannot open the local store ${file}: ${(err as Error).message}`, EXIT.io);
  }
  let list: CollectionList;
  try {
    list = planForDate(db, values.date, Date.now(), opts, values.commune);
  } catch (err) {
    // A file that is not a store (or one from another program) has no such tables.
    if ((err as { code?: string }).code?.startsWith('SQLITE_')) throw new OperatorError(`cannot read the local store ${file}: ${(err as Error).message}`, EXIT.io);
    throw err;
  } finally {
    db.close();
  }
  if (values.json) io.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
  else if (values.csv) io.stdout.write(collectionListCsv(list));
  else io.stdout.write(collectionText(list, values.date));
  return EXIT_OK;
}
