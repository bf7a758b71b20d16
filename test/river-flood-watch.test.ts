/**
 * Flood watch against ground truth: the Dijon fleet's river level stations (the simulator's
 * river model: base flow, rain events, rising and falling limbs, sensor noise) run for two
 * simulated months; each station's `water_level_mm` readings (decoded and normalized by the same
 * codecs the gateway uses, as the ledger records them) go through gateway/analytics/river-alarms.ts
 * and are scored against the ledger's `truth`:
 *
 * - every rise of the true level past a threshold raises exactly one alarm, within one reporting
 *   interval of the true crossing;
 * - a level sitting at a threshold does not flap (hysteresis);
 * - every alarm clears once the river has fallen below the clear level;
 * - the rate-of-rise alarm fires only on a real fast rise, never more often than it rained.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import { PACKAGE_ROOT } from '../codecs/package-root.ts';
import { evaluateRiver, type LevelSample, type RiverAlarmConfig } from '../gateway/analytics/river-alarms.ts';
import { createSimulation } from '../simulator/index.ts';
import { loadFleet } from '../simulator/fleet.ts';
import type { LedgerEntry } from '../simulator/ledger.ts';
import { RiverLevelModel } from '../simulator/models/river-level.ts';
import { Rng } from '../simulator/rng.ts';

const DAY = 86_400_000;
const INTERVAL_MS = 600_000; // the stations' reporting interval in dijon.yaml
/** Readings may sit this far from the truth (4 mm sensor noise, 1 mm codec quantization): 4σ. */
const NOISE_MM = 17;
const CONFIG: RiverAlarmConfig = {
  levels: [
    { name: 'vigilance', raiseMm: 1000, clearMm: 950 },
    { name: 'alert', raiseMm: 1500, clearMm: 1450 },
  ],
  rateOfRise: { mmPerHour: 150, windowMin: 60, quietMin: 180 },
  escalateEveryMin: 0,
};

interface Episode {
  start: number;
  end: number | undefined;
  peak: number;
}

/** The true level's own threshold episodes: open at raise, closed below clear. */
function episodes(truth: readonly LevelSample[], raise: number, clear: number): Episode[] {
  const out: Episode[] = [];
  let cur: Episode | undefined;
  for (const s of truth) {
    if (!cur && s.levelMm >= raise) {
      cur = { start: s.t, end: undefined, peak: s.levelMm };
      out.push(cur);
    } else if (cur) {
      cur.peak = Math.max(cur.peak, s.levelMm);
      if (s.levelMm < clear) {
        cur.end = s.t;
        cur = undefined;
      }
    }
  }
  return out;
}

describe('flood watch on the simulated Ouche and Suzon', () => {
  it('each true rise past a threshold raises exactly one alarm within one interval, and every alarm clears', async () => {
    const dijon = loadFleet(join(PACKAGE_ROOT, 'simulator', 'fleets', 'dijon.yaml'));
    const fleet = { ...dijon, devices: dijon.devices.filter((g) => g.tags?.['river'] !== undefined) };
    expect(fleet.devices.length).toBe(6);
    const lines: LedgerEntry[] = [];
    const sim = await createSimulation({ fleet, speed: 'max', output: { type: 'none' }, onUplink: (e) => void lines.push(e) });
    await sim.run({ durationMs: 60 * DAY });
    await sim.stop();

    const byStation = new Map<string, LedgerEntry[]>();
    for (const e of lines) if (e.gateways.length > 0) byStation.set(e.device, [...(byStation.get(e.device) ?? []), e]);
    expect(byStation.size).toBe(6);
    let checkedEpisodes = 0;
    let rains = 0;
    let rateAlarms = 0;
    for (const [station, entries] of byStation) {
      rains += entries.filter((e) => e.events?.includes('rain')).length;
      const readings: LevelSample[] = [];
      const truth: LevelSample[] = [];
      for (const e of entries) {
        const t = Date.parse(e.time);
        const level = e.readings[0]?.values['water_level_mm'];
        expect(typeof level, `${station} ${e.time}`).toBe('number');
        expect(e.truth?.['water_level_mm'], `${station} truth`).toBeTypeOf('number');
        readings.push({ t, levelMm: level as number });
        truth.push({ t, levelMm: e.truth?.['water_level_mm'] as number });
        expect(Math.abs((level as number) - (e.truth?.['water_level_mm'] as number)), `${station} noise`).toBeLessThanOrEqual(NOISE_MM + 8);
      }
      const end = truth[truth.length - 1]?.t ?? 0;
      const { events, open } = evaluateRiver(readings, CONFIG, end);
      // Rate of rise: never more alarms than rain events, each while the true river was rising fast.
      const rateRaises = events.filter((e) => e.alarm === 'rate' && e.action === 'raise');
      rateAlarms += rateRaises.length;
      expect(rateRaises.length, `${station} rate alarms`).toBeLessThanOrEqual(entries.filter((e) => e.events?.includes('rain')).length);
      for (const r of rateRaises) {
        const before = truth.filter((x) => x.t <= r.t && x.t >= r.t - 60 * 60_000);
        const rise = (before[before.length - 1]?.levelMm ?? 0) - (before[0]?.levelMm ?? 0);
        expect(rise, `${station} rate alarm at ${new Date(r.t).toISOString()}`).toBeGreaterThanOrEqual(150 * 0.8);
      }
      for (const level of CONFIG.levels) {
        const alarm = `level:${level.name}`;
        const raises = events.filter((e) => e.alarm === alarm && e.action === 'raise');
        const clears = events.filter((e) => e.alarm === alarm && e.action === 'clear');
        const truthEpisodes = episodes(truth, level.raiseMm, level.clearMm);
        // Clear-cut episodes (the crest well past the threshold) must raise exactly one alarm,
        // within one reporting interval of the true crossing (noise may make it one sample early).
        for (const ep of truthEpisodes.filter((x) => x.peak >= level.raiseMm + NOISE_MM)) {
          const inEpisode = raises.filter((r) => r.t >= ep.start - INTERVAL_MS * 1.05 && (ep.end === undefined || r.t <= ep.end + INTERVAL_MS * 1.05));
          expect(inEpisode.length, `${station} ${alarm} episode at ${new Date(ep.start).toISOString()}`).toBe(1);
          expect(Math.abs((inEpisode[0]?.t ?? 0) - ep.start), `${station} ${alarm} delay`).toBeLessThanOrEqual(INTERVAL_MS * 1.05);
          checkedEpisodes++;
        }
        // No alarm without a true rise to about the threshold (a crest a noise-width short may
        // or may not raise, at most once), and never two for one episode.
        for (const r of raises) {
          const near = truth.filter((s) => Math.abs(s.t - r.t) <= INTERVAL_MS * 1.05).some((s) => s.levelMm >= level.raiseMm - NOISE_MM);
          expect(near, `${station} ${alarm} raised at ${new Date(r.t).toISOString()} with the river well below`).toBe(true);
        }
        const maybe = truthEpisodes.filter((x) => x.peak < level.raiseMm + NOISE_MM).length;
        expect(raises.length, `${station} ${alarm} raises`).toBeGreaterThanOrEqual(truthEpisodes.length - maybe);
        // Every alarm clears: a clear follows each raise, unless the river is still high at the end.
        const stillOpen = open.some((o) => o.alarm === alarm);
        expect(clears.length, `${station} ${alarm} clears`).toBe(raises.length - (stillOpen ? 1 : 0));
        if (stillOpen) expect(truth[truth.length - 1]?.levelMm ?? 0, `${station} ${alarm} open at the end`).toBeGreaterThanOrEqual(level.clearMm - NOISE_MM);
        for (const [i, c] of clears.entries()) expect(c.t, `${station} ${alarm} clear ${i}`).toBeGreaterThan(raises[i]?.t ?? Infinity);
      }
    }
    // The run is worth something: rain fell and floods crossed both thresholds.
    expect(rains).toBeGreaterThan(20);
    expect(checkedEpisodes).toBeGreaterThan(10);
    expect(rateAlarms).toBeGreaterThan(10);
  }, 180_000);

  it('a river sitting at a threshold raises once and never flaps; just below it raises nothing (hysteresis)', () => {
    const codec = nativeCodec('milesight-iot/em500-udl');
    if (!codec) throw new Error('em500-udl codec missing');
    const variables = { mount_height_mm: 4000 };
    /** Ten days of readings through the codec (encode → decode → normalize), as a station sends them. */
    const run = (baseLevelMm: number, wanderMm: number): LevelSample[] => {
      const t0 = Date.UTC(2026, 11, 1);
      const model = new RiverLevelModel(new Rng('hover'), { variables, startMs: t0, baseLevelMm, wanderMm, rainPerDay: 0 });
      const out: LevelSample[] = [];
      for (let t = t0; t <= t0 + 10 * DAY; t += INTERVAL_MS) {
        const enc = codec.encodeUplink({ readings: model.sample(t), variables });
        const dec = codec.decodeUplink({ bytes: enc.bytes ?? [], fPort: enc.fPort ?? 85, variables });
        const level = codec.normalizeUplink(dec.data ?? {}, { variables }).readings[0]?.values['water_level_mm'];
        out.push({ t, levelMm: level as number });
      }
      return out;
    };
    const at = run(1000, 25); // wanders 975..1025 mm around the vigilance threshold, for ten days
    expect(Math.min(...at.map((s) => s.levelMm))).toBeLessThan(1000);
    expect(Math.max(...at.map((s) => s.levelMm))).toBeGreaterThanOrEqual(1000);
    const hovering = evaluateRiver(at, CONFIG, at[at.length - 1]?.t ?? 0);
    expect(hovering.events.map((e) => `${e.action} ${e.alarm}`)).toEqual(['raise level:vigilance']);
    const below = run(1000 - 3 * NOISE_MM, 10);
    expect(evaluateRiver(below, CONFIG, below[below.length - 1]?.t ?? 0).events).toEqual([]);
  });
});
