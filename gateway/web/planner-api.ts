/**
 * `GET /api/v1/planner?date=YYYY-MM-DD[&commune=…][&format=csv]`: the collection list of a day's
 * round (default: tomorrow) from the local store, as the `collect` CLI computes it
 * (store/planner-store.ts over gateway/analytics). Schema: `schemas.planner` in api-schemas.ts.
 */
import { collectionListCsv } from '../analytics/collection-list.ts';
import { ApiError, type ApiResult } from './api.ts';
import type { LocalStore } from './store/local-store.ts';
import { analyzeStoredBins, planForDate, PLANNER_DEFAULTS, roundOn, stateCounts, type PlannerOptions } from './store/planner-store.ts';

const PARAMS = ['date', 'commune', 'format'];

/** YYYY-MM-DD of the day after `now` in the local time zone. */
export function tomorrowOf(now: number): string {
  const d = new Date(now);
  const t = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1);
  return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, '0')}-${String(t.getDate()).padStart(2, '0')}`;
}

export type PlannerResult = ApiResult | { status: 200; csv: string; filename: string };

export function getPlanner(store: LocalStore, p: URLSearchParams, now: number, opts: PlannerOptions = PLANNER_DEFAULTS): PlannerResult {
  for (const k of new Set(p.keys())) {
    if (!PARAMS.includes(k)) throw new ApiError(400, 'unknown_parameter', `unknown query parameter "${k}" (expected: ${PARAMS.join(', ')})`);
    if (p.getAll(k).length > 1) throw new ApiError(400, 'repeated_parameter', `query parameter "${k}" given more than once`);
  }
  const date = p.get('date') ?? tomorrowOf(now);
  if (roundOn(date, opts.roundTime) === undefined) throw new ApiError(400, 'bad_parameter', 'date must be a date YYYY-MM-DD');
  const commune = p.get('commune') ?? undefined;
  if (commune !== undefined && (commune.length === 0 || commune.length > 200)) throw new ApiError(400, 'bad_parameter', 'commune must be 1..200 characters');
  const format = p.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new ApiError(400, 'bad_parameter', 'format must be one of json, csv');
  const list = planForDate(store.db, date, now, opts, commune);
  if (format === 'csv') return { status: 200, csv: collectionListCsv(list), filename: `collection-${date}${commune ? `-${commune.replace(/[^A-Za-z0-9_-]/g, '_')}` : ''}.csv` };
  const communes = (store.db.prepare("SELECT DISTINCT commune FROM devices WHERE category = 'bin-fill' AND commune IS NOT NULL ORDER BY commune").all() as { commune: string }[]).map((r) => r.commune);
  const states = stateCounts(analyzeStoredBins(store.db, Math.min(now, list.roundMs), opts));
  return { status: 200, body: { now, date, communes, states, list } };
}
