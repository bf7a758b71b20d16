import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRiverConfig, evaluateRiver, type LevelSample, type RiverAlarmConfig, waterLevelMm } from './river-alarms.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1);
const CONFIG: RiverAlarmConfig = {
  levels: [
    { name: 'vigilance', raiseMm: 800, clearMm: 750 },
    { name: 'alert', raiseMm: 1200, clearMm: 1150 },
  ],
  rateOfRise: { mmPerHour: 150, windowMin: 60, quietMin: 120 },
  silentAfterS: 1800,
  escalateEveryMin: 30,
};
/** A reading every 10 min of a level given in minutes since T0, with deterministic ±6 mm noise. */
function river(minutes: number, level: (m: number) => number): LevelSample[] {
  return Array.from({ length: minutes / 10 + 1 }, (_, i) => ({ t: T0 + i * 10 * MIN, levelMm: Math.round(level(i * 10) + 6 * Math.sin(i * 2.3)) }));
}
/** Base 400 mm; from 2 h a rise of 240 mm/h to 1500 mm, an hour's crest, then a 120 mm/h fall. */
const flood = (m: number): number => {
  if (m < 120) return 400;
  if (m < 395) return 400 + ((m - 120) * 240) / 60;
  if (m < 455) return 1500;
  return Math.max(400, 1500 - ((m - 455) * 120) / 60);
};
const kinds = (events: { alarm: string; action: string }[]): string[] => events.map((e) => `${e.action} ${e.alarm}`);

describe('evaluateRiver', () => {
  it('a flood raises each level once on the rise and clears it once on the fall; the rate alarm fires once', () => {
    const { events, open } = evaluateRiver(river(1200, flood), { ...CONFIG, escalateEveryMin: 0 }, T0 + 1200 * MIN);
    expect(kinds(events)).toEqual(['raise rate', 'raise level:vigilance', 'raise level:alert', 'clear rate', 'clear level:alert', 'clear level:vigilance']);
    expect(open).toEqual([]);
  });

  it('a level sitting at a threshold raises once and never flaps (hysteresis)', () => {
    const { events } = evaluateRiver(river(600, (m) => (m < 60 ? 500 : 800 + 15 * Math.sin(m / 7))), { ...CONFIG, rateOfRise: undefined, escalateEveryMin: 0 }, T0 + 600 * MIN);
    expect(kinds(events)).toEqual(['raise level:vigilance']);
  });

  it('a station silent during a rise raises "silent", cleared when it reports again', () => {
    const s = river(600, flood).filter((x) => x.t < T0 + 300 * MIN || x.t > T0 + 420 * MIN);
    const { events } = evaluateRiver(s, { ...CONFIG, escalateEveryMin: 0 }, T0 + 600 * MIN);
    const silent = events.filter((e) => e.alarm === 'silent');
    expect(silent.map((e) => e.action)).toEqual(['raise', 'clear']);
    expect(silent[0]?.t).toBe(T0 + 290 * MIN + 30 * MIN);
    // Silence at base flow is not an alarm.
    const quiet = river(600, () => 400).filter((x) => x.t < T0 + 100 * MIN || x.t > T0 + 300 * MIN);
    expect(evaluateRiver(quiet, CONFIG, T0 + 600 * MIN).events).toEqual([]);
  });

  it('escalates an open alarm every interval until it is acknowledged', () => {
    const s = river(240, (m) => (m < 30 ? 500 : 900));
    const cfg = { ...CONFIG, rateOfRise: undefined };
    const none = evaluateRiver(s, cfg, T0 + 240 * MIN);
    expect(none.events.filter((e) => e.action === 'escalate')).toHaveLength(7); // raised at 30 min: 60, 90, …, 210, 240
    const acked = evaluateRiver(s, cfg, T0 + 240 * MIN, new Map([['level:vigilance', T0 + 100 * MIN]]));
    expect(acked.events.filter((e) => e.action === 'escalate')).toHaveLength(2);
    expect(acked.open[0]?.acknowledged).toBe(true);
  });

  it('level from distance and config checks', () => {
    expect(waterLevelMm(3200, { mount_height_mm: 4500 })).toBe(1300);
    expect(waterLevelMm(3200, {})).toBeUndefined();
    expect(checkRiverConfig({ levels: [{ name: 'x', raiseMm: 800, clearMm: 900 }] })).toEqual(['levels[0].clear_mm: must be below raise_mm (800) for hysteresis']);
  });

  it('never throws; every clear follows a raise of the same alarm (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ t: fc.integer({ min: T0, max: T0 + 2 * 86_400_000 }), levelMm: fc.integer({ min: 0, max: 3000 }) }), { maxLength: 150 }), (s) => {
        const { events } = evaluateRiver(s, CONFIG, T0 + 3 * 86_400_000);
        const openNow = new Set<string>();
        for (const e of events) {
          if (e.action === 'raise') {
            expect(openNow.has(e.alarm)).toBe(false);
            openNow.add(e.alarm);
          } else if (e.action === 'clear') {
            expect(openNow.has(e.alarm)).toBe(true);
            openNow.delete(e.alarm);
          }
        }
      }),
      { seed: 17, numRuns: 300 },
    );
  });
});
