import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { RiverLevelModel, type RiverOptions } from './river-level.ts';

const T0 = Date.UTC(2026, 10, 23);
const MIN = 60_000;
const HOUR = 60 * MIN;

function series(opts: Partial<RiverOptions>, hours: number, seed = 'river'): { t: number; distance: number; truth: number; events: string[] }[] {
  const m = new RiverLevelModel(new Rng(seed), { variables: { mount_height_mm: 4000 }, startMs: T0, ...opts });
  const out = [];
  for (let t = T0; t <= T0 + hours * HOUR; t += 10 * MIN) {
    const distance = m.sample(t)[0]?.values['distance_mm'] as number;
    out.push({ t, distance, truth: m.truth().water_level_mm ?? NaN, events: m.drainEvents() });
  }
  return out;
}

describe('RiverLevelModel', () => {
  it('without rain sits at its base flow, the distance being mount height − level ± noise', () => {
    const s = series({ baseLevelMm: 500, rainPerDay: 0, wanderMm: 0, noiseMm: 4 }, 48);
    for (const x of s) {
      expect(x.truth).toBe(500);
      expect(Math.abs(4000 - x.distance - x.truth)).toBeLessThanOrEqual(20);
      expect(x.events).toEqual([]);
    }
    const noise = s.map((x) => 4000 - x.distance - x.truth);
    expect(Math.max(...noise) - Math.min(...noise)).toBeGreaterThan(4); // the sensor does jitter
  });

  it('a rain event gives a rising limb to one crest and a slower falling limb back to base', () => {
    // Rain every ~5 days on average; the first event of this seed is followed by a dry day.
    const s = series({ baseLevelMm: 400, rainPerDay: 0.2, wanderMm: 0, crestMm: [1000, 1000], riseHours: [4, 4], recessionHours: [12, 12] }, 24 * 30, 'one');
    const rain = s.findIndex((x) => x.events.includes('rain'));
    expect(rain).toBeGreaterThanOrEqual(0);
    const crest = s.findIndex((x) => x.events.includes('crest'));
    expect(crest).toBeGreaterThan(rain);
    // Rising limb: monotone up for the 4 h rise; the crest about 1,000 mm above base.
    // (the sample announcing the crest is the first one past it, already on the falling limb)
    for (let i = rain; i < crest - 1; i++) expect(s[i + 1]!.truth).toBeGreaterThanOrEqual(s[i]!.truth);
    expect(Math.max(...s.slice(rain, crest + 2).map((x) => x.truth))).toBeGreaterThan(1300);
    expect(((s[crest]!.t - s[rain]!.t) / HOUR)).toBeLessThanOrEqual(4.2);
    // Falling limb: after 12 h (one recession constant) about e⁻¹ of the crest is left.
    const later = s.find((x) => x.t >= s[crest]!.t + 12 * HOUR);
    const moreRain = s.slice(crest + 1).findIndex((x) => x.events.includes('rain'));
    expect(later).toBeDefined();
    expect(moreRain < 0 || s[crest + 1 + moreRain]!.t > later!.t).toBe(true); // this seed's next rain comes later
    expect(later!.truth).toBeGreaterThan(400 + 300);
    expect(later!.truth).toBeLessThan(400 + 450);
  });

  it('is reproducible per seed, and bounded over a long run', () => {
    expect(series({}, 24 * 30, 'a')).toEqual(series({}, 24 * 30, 'a'));
    expect(series({}, 24 * 30, 'a')).not.toEqual(series({}, 24 * 30, 'b'));
    const long = series({ rainPerDay: 3 }, 24 * 200);
    const levels = long.map((x) => x.truth);
    expect(Math.min(...levels)).toBeGreaterThan(0);
    expect(Math.max(...levels)).toBeLessThan(4000 * 3);
    expect(long.flatMap((x) => x.events).filter((e) => e === 'rain').length).toBeGreaterThan(400);
  });
});
