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

  it('keeps the newest point per device and lists full bins, fullest first', () => {
    const latest = latestFromLines([
      'bin_fill,device=b1,commune=x fill_pct=90 2000',
      'bin_fill,device=b1,commune=x fill_pct=10 1000',
      'bin_fill,device=b2,commune=y fill_pct=76 1000',
      'bin_fill,device=b3,commune=y fill_pct=95 1000',
    ]);
    const text = summaryLines(latest, 'files').join('\n');
    expect(text).toContain('Bins to collect (fill ≥ 75 %): 3');
    const collect = text.slice(text.indexOf('Bins to collect'));
    expect(collect.indexOf('b3')).toBeLessThan(collect.indexOf('b2'));
    expect(text).toMatch(/b1\s+fill_pct=90/);
  });

  it('progress: n / total (p %), ETA', () => {
    expect(progressText(6 * 3600_000, 24 * 3600_000, 3000, 120)).toBe('simulated 6 h 0 min / 1 d 0 h (25 %), ETA 9 s, 120 uplinks');
    expect(progressText(0, 3600_000, 0, 0)).toContain('(0 %), ETA …');
    expect(progressText(5 * 3600_000, 3600_000, 1000, 9)).toContain('1 h 0 min / 1 h 0 min (100 %), done');
  });
});
