import { describe, expect, it } from 'vitest';
import { latestFromLines, parseLineProtocol, progressText, summaryLines } from './demo-summary.ts';

describe('demo summary', () => {
  it('parses line protocol with escapes, quoted strings, integers and booleans', () => {
    const p = parseLineProtocol('bin_fill,device=bin\\ 1,commune=a\\,b fill_pct=80.5,alarm_full=true,count=3i,note="a b,c" 1700000000000');
    expect(p).toEqual({
      measurement: 'bin_fill',
      device: 'bin 1',
      tags: { device: 'bin 1', commune: 'a,b' },
      fields: { fill_pct: 80.5, alarm_full: true, count: 3, note: 'a b,c' },
      timeMs: 1_700_000_000_000,
    });
    expect(parseLineProtocol('')).toBeUndefined();
    expect(parseLineProtocol('no_fields')).toBeUndefined();
  });

  it('keeps the newest point per device and prints the collection list it is given, by commune', () => {
    const latest = latestFromLines(['bin_fill,device=b1,commune=x fill_pct=90 2000', 'bin_fill,device=b1,commune=x fill_pct=10 1000']);
    expect(summaryLines(latest, 'files').join('\n')).toMatch(/b1\s+fill_pct=90/);
    const entry = (name: string, fill: number, at: number) => ({ devEui: name, name, state: 'full' as const, fillPct: fill, expectedFillPct: at, reason: 'full now' });
    const list = { roundMs: 0, nextRoundMs: 1, thresholdPct: 90, groupBy: 'commune', groups: [{ key: 'x', bins: [entry('b3', 95, 99)] }, { key: 'y', bins: [entry('b2', 80, 91)] }], check: [], skipped: [], total: 2 };
    const text = summaryLines(latest, 'files', { date: '2026-12-08', list }).join('\n');
    expect(text).toContain('Bins to collect at the round of 2026-12-08 (full, or passing 90 % before the next round): 2');
    expect(text).toMatch(/b3\s+x\s+95\.0 % now, +99\.0 % at the round/);
    expect(text.indexOf('b3')).toBeLessThan(text.indexOf('b2'));
  });

  it('sizes the columns from the data, so a long commune or bin name keeps the rows aligned', () => {
    const entry = (name: string, fill: number, at: number) => ({ devEui: name, name, state: 'full' as const, fillPct: fill, expectedFillPct: at, reason: 'full now' });
    const groups = [
      { key: 'Ille', bins: [entry('b1', 95, 99)] },
      { key: 'Saint-Laurent-de-la-Salanque', bins: [entry('bin-saint-laurent-verre-12', 91, 97)] },
      { key: 'Perpignan', bins: [entry('b😀', 90, 96)] },
    ];
    const list = { roundMs: 0, nextRoundMs: 1, thresholdPct: 90, groupBy: 'commune', groups, check: [], skipped: [], total: 3 };
    const latest = latestFromLines(['bin_fill,device=a-very-long-device-name-01 fill_pct=1 1', 'water_meter,device=w volume_m3=2 1']);
    const lines = summaryLines(latest, 'files', { date: '2026-12-08', list });
    const rows = lines.filter((l) => l.includes('% now'));
    expect(rows).toHaveLength(3);
    // Every row's fill column starts at the same code point, and each commune sits whole in its column.
    const fillAt = rows.map((r) => [...r.slice(0, r.indexOf('% now'))].length);
    expect(new Set(fillAt).size).toBe(1);
    for (const g of groups) expect(rows.some((r) => r.includes(` ${g.key} `))).toBe(true);
    const readings = lines.filter((l) => l.includes('fill_pct=') || l.includes('volume_m3='));
    expect(readings).toHaveLength(2);
    expect(new Set(readings.map((r) => r.search(/\S+=/))).size).toBe(1);
  });

  it('progress: n / total (p %), ETA', () => {
    expect(progressText(6 * 3600_000, 24 * 3600_000, 3000, 120)).toBe('simulated 6 h 0 min / 1 d 0 h (25 %), ETA 9 s, 120 uplinks');
    expect(progressText(0, 3600_000, 0, 0)).toContain('(0 %), ETA …');
    expect(progressText(5 * 3600_000, 3600_000, 1000, 9)).toContain('1 h 0 min / 1 h 0 min (100 %), done');
  });
});
