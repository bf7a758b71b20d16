/**
 * The collection list for a round: which bins a crew must empty at `roundMs` because they are full
 * now or will pass the threshold before the next round, grouped by commune (or any tag), most
 * urgent first, with the fill expected when the crew arrives. Bins that cannot be judged (offline,
 * faulty) are listed apart for a technician, and scheduled rounds that left a bin full are listed
 * as skipped collections. Pure: the caller passes each bin's analysis.
 */
import { type BinAnalysis, expectedFillAt } from './bin-state.ts';

export interface ListedBin {
  devEui: string;
  name: string;
  tags: Record<string, string>;
  analysis: BinAnalysis;
}

export interface CollectionEntry {
  devEui: string;
  name: string;
  site?: string;
  state: BinAnalysis['state'];
  fillPct?: number;
  /** Expected fill when the crew arrives at `roundMs`; above 100 means it will be overflowing. */
  expectedFillPct?: number;
  /** Expected fill at the next round if it is skipped now. */
  fillAtNextRoundPct?: number;
  reason: string;
}

export interface CollectionGroup {
  key: string;
  bins: CollectionEntry[];
}

export interface CollectionList {
  roundMs: number;
  nextRoundMs: number;
  thresholdPct: number;
  groupBy: string;
  groups: CollectionGroup[];
  /** Offline or faulty bins: their fill is not known well enough to plan. */
  check: CollectionEntry[];
  /** Scheduled rounds after which the bin was not emptied. */
  skipped: { devEui: string; name: string; roundMs: number; detail: string }[];
  total: number;
}

export interface CollectionListOptions {
  roundMs: number;
  nextRoundMs: number;
  thresholdPct?: number;
  /** The tag to group by (default `commune`). */
  groupBy?: string;
  /** Only bins whose group tag has this value. */
  only?: string;
}

export function collectionList(bins: readonly ListedBin[], opts: CollectionListOptions): CollectionList {
  const threshold = opts.thresholdPct ?? 90;
  const groupBy = opts.groupBy ?? 'commune';
  const groups = new Map<string, CollectionEntry[]>();
  const check: CollectionEntry[] = [];
  const skipped: CollectionList['skipped'] = [];
  for (const b of bins) {
    const key = b.tags[groupBy] ?? '(none)';
    if (opts.only !== undefined && key !== opts.only) continue;
    const a = b.analysis;
    for (const d of a.discrepancies) if (d.kind === 'missed_collection') skipped.push({ devEui: b.devEui, name: b.name, roundMs: d.t, detail: d.detail });
    const base = { devEui: b.devEui, name: b.name, site: b.tags['site'], state: a.state, fillPct: a.fillPct };
    if (a.state === 'offline' || a.state === 'fault') {
      check.push({ ...base, reason: a.state === 'offline' ? 'no reading for several intervals' : (a.discrepancies.at(-1)?.detail ?? 'sensor fault') });
      continue;
    }
    const atRound = expectedFillAt(a, opts.roundMs);
    const atNext = expectedFillAt(a, opts.nextRoundMs);
    let reason: string | undefined;
    if (a.state === 'overfull') reason = 'overfull now';
    else if (a.state === 'full') reason = 'full now';
    else if (atRound !== undefined && atRound >= threshold) reason = `reaches ${threshold} % before the round`;
    else if (atNext !== undefined && atNext >= threshold) reason = `would pass ${threshold} % before the next round`;
    if (!reason) continue;
    const list = groups.get(key) ?? [];
    list.push({ ...base, expectedFillPct: atRound, fillAtNextRoundPct: atNext, reason });
    groups.set(key, list);
  }
  const urgency = (e: CollectionEntry): number => e.expectedFillPct ?? e.fillPct ?? 0;
  const out = [...groups.entries()]
    .map(([key, list]) => ({ key, bins: list.sort((x, y) => urgency(y) - urgency(x) || x.name.localeCompare(y.name)) }))
    .sort((x, y) => x.key.localeCompare(y.key));
  return { roundMs: opts.roundMs, nextRoundMs: opts.nextRoundMs, thresholdPct: threshold, groupBy, groups: out, check, skipped, total: out.reduce((n, g) => n + g.bins.length, 0) };
}

const csvCell = (v: unknown): string => {
  const s = v === undefined ? '' : String(v);
  return /[",;\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The list as CSV, one row per bin, for a spreadsheet or a routing tool. */
export function collectionListCsv(list: CollectionList): string {
  const rows = [[list.groupBy, 'dev_eui', 'name', 'site', 'state', 'fill_pct', 'expected_fill_pct', 'reason'].join(',')];
  for (const g of list.groups) for (const b of g.bins) rows.push([g.key, b.devEui, b.name, b.site, b.state, b.fillPct, b.expectedFillPct, b.reason].map(csvCell).join(','));
  return `${rows.join('\n')}\n`;
}
