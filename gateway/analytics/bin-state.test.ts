import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyzeBin, expectedFillAt, type FillSample } from './bin-state.ts';
import { collectionList, collectionListCsv } from './collection-list.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 23);
/** A reading every 30 min, fill from a function of hours since T0. */
function series(hours: number, fill: (h: number) => number, extra: (h: number) => Partial<FillSample> = () => ({})): FillSample[] {
  return Array.from({ length: hours * 2 + 1 }, (_, i) => ({ t: T0 + i * 0.5 * H, fillPct: Math.round(fill(i * 0.5) * 10) / 10, ...extra(i * 0.5) }));
}
const opts = (nowH: number) => ({ nowMs: T0 + nowH * H, reportingIntervalS: 1800 });

describe('analyzeBin', () => {
  it('a steadily filling bin: rate, a good grade and an ETA at the threshold', () => {
    const s = series(48, (h) => 10 + h); // 24 %/day
    const a = analyzeBin(s, opts(48));
    expect(a.fillPct).toBe(58);
    expect(a.fillRatePctPerDay).toBeCloseTo(24, 1);
    expect(a.rateGrade).toBe('A');
    expect(a.etaFullMs).toBe(T0 + 80 * H);
    expect(a.etaIntervalMs?.[0]).toBeLessThan(T0 + 80 * H);
    expect(a.etaIntervalMs?.[1]).toBeGreaterThan(T0 + 80 * H);
    expect(a.state).toBe('ok');
    expect(expectedFillAt(a, T0 + 72 * H)).toBeCloseTo(82, 0);
  });

  it('detects an emptying (with the tilt alarm as evidence) and measures the rate from it', () => {
    const s = series(72, (h) => (h < 30 ? 20 + 2 * h : 1 + (h - 30)), (h) => ({ alarmTilt: h === 30 }));
    const a = analyzeBin(s, opts(72));
    expect(a.emptyings).toHaveLength(1);
    expect(a.emptyings[0]).toMatchObject({ t: T0 + 30 * H, evidence: ['drop', 'tilt'] });
    expect(a.lastEmptiedMs).toBe(T0 + 30 * H);
    expect(a.fillRatePctPerDay).toBeCloseTo(24, 0);
  });

  it('a partial emptying counts, compaction does not', () => {
    const partial = analyzeBin(series(20, (h) => (h < 10 ? 80 : 25)), opts(20));
    expect(partial.emptyings).toHaveLength(1);
    const settling = analyzeBin(series(20, (h) => (h < 10 ? 80 : 72)), opts(20));
    expect(settling.emptyings).toHaveLength(0);
  });

  it('sets a false echo aside: no emptying, a discrepancy', () => {
    const s = series(24, (h) => (h === 12 ? 3 : 40 + h * 0.5));
    const a = analyzeBin(s, opts(24));
    expect(a.emptyings).toEqual([]);
    expect(a.discrepancies.map((d) => d.kind)).toEqual(['false_echo']);
    expect(a.fillRatePctPerDay).toBeCloseTo(12, 0);
  });

  it('states: full, overfull, collect_soon, offline, fault', () => {
    expect(analyzeBin(series(10, () => 92), opts(10)).state).toBe('full');
    expect(analyzeBin(series(10, () => 100), opts(10)).state).toBe('overfull');
    expect(analyzeBin(series(40, (h) => 40 + h), opts(40)).state).toBe('collect_soon');
    expect(analyzeBin(series(10, (h) => 20 + h), opts(30)).state).toBe('offline');
    const stuck = analyzeBin(series(10, () => 33), opts(10));
    expect(stuck.state).toBe('fault');
    expect(stuck.discrepancies.at(-1)?.kind).toBe('stuck');
    const out = analyzeBin(series(10, (h) => 20 + h, () => ({ distanceMm: 2500 })), { ...opts(10), containerDepthMm: 1200 });
    expect(out.state).toBe('fault');
    expect(analyzeBin([], opts(1)).state).toBe('offline');
  });

  it('a scheduled round that did not empty the bin is a missed collection', () => {
    const s = series(72, (h) => 20 + h * 0.8);
    const a = analyzeBin(s, { ...opts(72), scheduledRoundsMs: [T0 + 30 * H] });
    expect(a.discrepancies.filter((d) => d.kind === 'missed_collection')).toHaveLength(1);
    const emptied = analyzeBin(series(72, (h) => (h < 31 ? 20 + h : 2)), { ...opts(72), scheduledRoundsMs: [T0 + 30 * H] });
    expect(emptied.discrepancies.filter((d) => d.kind === 'missed_collection')).toHaveLength(0);
  });

  it('never throws on any readings; ETA never before the last reading (fuzz)', () => {
    const sample = fc.record({ t: fc.integer({ min: T0, max: T0 + 30 * 24 * H }), fillPct: fc.oneof(fc.double({ min: -20, max: 130, noNaN: true }), fc.constant(Number.NaN)), alarmTilt: fc.boolean() });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 200 }), (s) => {
        const a = analyzeBin(s, { nowMs: T0 + 31 * 24 * H, reportingIntervalS: 1800 });
        expect(['ok', 'collect_soon', 'full', 'overfull', 'fault', 'offline']).toContain(a.state);
        if (a.etaFullMs !== undefined && a.lastReadingMs !== undefined) expect(a.etaFullMs).toBeGreaterThanOrEqual(a.lastReadingMs);
        for (let i = 1; i < a.emptyings.length; i++) expect((a.emptyings[i] as { t: number }).t).toBeGreaterThan((a.emptyings[i - 1] as { t: number }).t);
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});

describe('collectionList', () => {
  it('names full bins and those that would pass the threshold before the next round, grouped and sorted', () => {
    const bin = (name: string, commune: string, fill: (h: number) => number) => ({ devEui: name, name, tags: { commune }, analysis: analyzeBin(series(48, fill), opts(48)) });
    const list = collectionList(
      [bin('a-full', 'north', (h) => 90 + (h % 2)), bin('b-fast', 'north', (h) => 10 + 1.2 * h), bin('c-slow', 'north', (h) => 10 + h * 0.1), bin('d-south', 'south', (h) => 30 + h * 1.2), bin('e-dead', 'south', () => 50)],
      { roundMs: T0 + 54 * H, nextRoundMs: T0 + 78 * H },
    );
    expect(list.groups.map((g) => [g.key, g.bins.map((b) => b.name)])).toEqual([
      ['north', ['a-full', 'b-fast']],
      ['south', ['d-south']],
    ]);
    expect(list.check.map((c) => c.name)).toEqual(['e-dead']);
    expect(list.groups[0]?.bins[1]?.reason).toMatch(/would pass 90 % before the next round/);
    expect(collectionListCsv(list).split('\n')[0]).toBe('commune,dev_eui,name,site,state,fill_pct,expected_fill_pct,reason');
    expect(collectionList([bin('x', 'north', (h) => 90 + (h % 2))], { roundMs: T0 + 54 * H, nextRoundMs: T0 + 78 * H, only: 'south' }).total).toBe(0);
  });
});
