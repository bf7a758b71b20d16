/**
 * A per-transmitter duty-cycle ledger: remembers the airtime spent per sub-band in the region's
 * sliding window and answers whether (and after how long) another transmission fits.
 *
 * One ledger per transmitter (a gateway's downlinks, or one simulated device). Time is passed
 * in by the caller (ms, monotonic), so the ledger is a pure data structure and easy to test.
 * Frequencies outside every band of a region with bands are refused: there is no budget to
 * spend there.
 */
import type { DutyCycleBand, Region } from './types.ts';

export type DutyCycleCheck =
  | { ok: true; band: DutyCycleBand | null; usedMs: number; budgetMs: number }
  | { ok: false; reason: 'no-band'; message: string }
  | { ok: false; reason: 'over-budget'; band: DutyCycleBand; usedMs: number; budgetMs: number; waitMs: number; message: string };

/** The duty-cycle sub-band containing `frequencyHz`, or undefined. */
export function dutyCycleBandFor(region: Region, frequencyHz: number): DutyCycleBand | undefined {
  return region.dutyCycleBands.find((b) => frequencyHz >= b.minHz && frequencyHz < b.maxHz);
}

export class DutyCycleLedger {
  /** band name → transmissions (start time, airtime), oldest first. */
  private readonly spent = new Map<string, { at: number; airtimeMs: number }[]>();

  constructor(private readonly region: Region) {}

  private prune(band: DutyCycleBand, nowMs: number): { at: number; airtimeMs: number }[] {
    let list = this.spent.get(band.name);
    if (!list) {
      list = [];
      this.spent.set(band.name, list);
    }
    const from = nowMs - this.region.dutyCycleWindowMs;
    let drop = 0;
    while (drop < list.length && (list[drop] as { at: number }).at <= from) drop++;
    if (drop > 0) list.splice(0, drop);
    return list;
  }

  /** Would a transmission of `airtimeMs` at `frequencyHz` starting at `nowMs` stay within budget? */
  check(frequencyHz: number, airtimeMs: number, nowMs: number): DutyCycleCheck {
    if (this.region.dutyCycleBands.length === 0) return { ok: true, band: null, usedMs: 0, budgetMs: Number.POSITIVE_INFINITY };
    const band = dutyCycleBandFor(this.region, frequencyHz);
    if (!band) return { ok: false, reason: 'no-band', message: `${frequencyHz} Hz is in no ${this.region.id} duty-cycle sub-band` };
    const list = this.prune(band, nowMs);
    const budgetMs = band.dutyCycle * this.region.dutyCycleWindowMs;
    let usedMs = 0;
    for (const t of list) usedMs += t.airtimeMs;
    if (usedMs + airtimeMs <= budgetMs) return { ok: true, band, usedMs, budgetMs };
    // Wait until enough old transmissions leave the window.
    let excess = usedMs + airtimeMs - budgetMs;
    let waitMs = Number.POSITIVE_INFINITY;
    for (const t of list) {
      excess -= t.airtimeMs;
      if (excess <= 0) {
        waitMs = t.at + this.region.dutyCycleWindowMs - nowMs;
        break;
      }
    }
    return {
      ok: false,
      reason: 'over-budget',
      band,
      usedMs,
      budgetMs,
      waitMs,
      message: `sub-band ${band.name}: ${usedMs.toFixed(0)} of ${budgetMs.toFixed(0)} ms used in the window, ${airtimeMs.toFixed(0)} ms more does not fit`,
    };
  }

  /** Record a transmission (whether or not `check` allowed it). */
  record(frequencyHz: number, airtimeMs: number, nowMs: number): void {
    const band = dutyCycleBandFor(this.region, frequencyHz);
    if (!band) return;
    this.prune(band, nowMs).push({ at: nowMs, airtimeMs });
  }
}
