/**
 * The behaviour models over simulated weeks: the data must look like a city (bins fill by day
 * and get emptied, meters only count up and show night flow when leaking, air follows traffic)
 * and be the same for the same seed.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.ts';
import { AirQualityModel } from './air-quality.ts';
import { fillPercent } from '../../codecs/readings.ts';
import { BinFillModel } from './bin-fill.ts';
import { HOUR_MS } from './model.ts';
import { WaterMeterModel } from './water-meter.ts';

const START = Date.UTC(2026, 10, 2, 0, 0, 0); // a Monday
const vars = { container_depth_mm: 1200, sensor_offset_mm: 50 };

describe('BinFillModel', () => {
  it('fills during the day, is emptied by collection rounds, raises full alarms', () => {
    const m = new BinFillModel(new Rng(1), { variables: vars, utcOffsetHours: 1, startMs: START, fillRatePerHour: 0.015, collectionEveryDays: 4 });
    const distances: number[] = [];
    let collected = 0;
    let fullAlarms = 0;
    for (let h = 0; h < 24 * 21; h++) {
      const r = m.sample(START + h * HOUR_MS)[0]?.values ?? {};
      distances.push(r['distance_mm'] as number);
      if (r['alarm_full']) fullAlarms++;
      collected += m.drainEvents().filter((e) => e === 'collected').length;
      expect(r['distance_mm']).toBeGreaterThanOrEqual(30);
      expect(r['distance_mm']).toBeLessThanOrEqual(1400);
    }
    expect(collected).toBeGreaterThanOrEqual(4);
    expect(fullAlarms).toBeGreaterThan(0);
    // Emptying shows as jumps of the distance back up.
    const jumps = distances.filter((d, i) => i > 0 && d - (distances[i - 1] as number) > 300).length;
    expect(jumps).toBeGreaterThanOrEqual(3);
  });

  it('follows the fill geometry: an emptied bin measures about container_depth_mm (≈ 0 %), never past the bottom', () => {
    // Both lengths from the sensor face (devices/README.md, Fill geometry).
    const m = new BinFillModel(new Rng(1), { variables: vars, utcOffsetHours: 1, startMs: START, fillRatePerHour: 0.015, collectionEveryDays: 4 });
    let checkedEmpty = 0;
    let nearFull = 0;
    for (let h = 0; h < 24 * 21; h++) {
      const d = m.sample(START + h * HOUR_MS)[0]?.values['distance_mm'] as number;
      // Noise is σ = 6 mm: 5σ past the bottom would be a geometry error, not noise.
      expect(d).toBeLessThanOrEqual(vars.container_depth_mm + 30);
      const pct = fillPercent(d, vars).fill_pct as number;
      if (m.drainEvents().includes('collected')) {
        expect(pct).toBeLessThanOrEqual(5);
        checkedEmpty++;
      }
      if (pct >= 95) nearFull++;
    }
    expect(checkedEmpty).toBeGreaterThan(0);
    expect(nearFull).toBeGreaterThan(0);
  });

  it('is reproducible per seed', () => {
    const run = (seed: number): unknown[] => {
      const m = new BinFillModel(new Rng(seed), { variables: vars, utcOffsetHours: 0, startMs: START });
      return Array.from({ length: 50 }, (_, i) => m.sample(START + i * 1800_000));
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe('WaterMeterModel', () => {
  it('only counts up, peaks in the morning and evening, keeps 24 hourly records', () => {
    const m = new WaterMeterModel(new Rng(2), { utcOffsetHours: 0, startMs: START, dailyUseM3: 0.4 });
    let last = 0;
    const perHour = new Array<number>(24).fill(0);
    for (let h = 1; h <= 24 * 14; h++) {
      const readings = m.sample(START + h * HOUR_MS);
      const current = readings[readings.length - 1]?.values ?? {};
      const v = current['volume_m3'] as number;
      expect(v).toBeGreaterThanOrEqual(last);
      if (last > 0) perHour[(h - 1) % 24]! += v - last;
      last = v;
      if (h >= 24) expect(readings.length).toBe(25);
      for (const r of readings.slice(0, -1)) expect(typeof r.time).toBe('string');
    }
    expect(perHour[7]! + perHour[19]!).toBeGreaterThan(5 * (perHour[3]! + 0.0001));
  });

  it('a leak shows as night flow with the leak alarm', () => {
    let seen = false;
    for (let seed = 0; seed < 40 && !seen; seed++) {
      const m = new WaterMeterModel(new Rng(seed), { utcOffsetHours: 0, startMs: START });
      for (let h = 1; h < 24 * 60 && !seen; h++) {
        const readings = m.sample(START + h * HOUR_MS);
        const cur = readings[readings.length - 1]?.values ?? {};
        if (cur['alarm_leak']) {
          seen = true;
          expect(cur['flow_m3h']).toBeGreaterThan(0);
        }
      }
    }
    expect(seen).toBe(true);
  });
});

describe('AirQualityModel', () => {
  it('follows weekday traffic peaks with plausible ranges', () => {
    const m = new AirQualityModel(new Rng(3), { utcOffsetHours: 0, startMs: START });
    const pmAt = (h: number): number => m.sample(START + h * HOUR_MS)[0]?.values['pm2_5_ugm3'] as number;
    let rush = 0;
    let night = 0;
    for (let d = 0; d < 5; d++) {
      rush += pmAt(d * 24 + 8);
      night += pmAt(d * 24 + 3);
    }
    expect(rush).toBeGreaterThan(night);
    const v = m.sample(START + 200 * HOUR_MS)[0]?.values ?? {};
    expect(v['co2_ppm']).toBeGreaterThan(350);
    expect(v['co2_ppm']).toBeLessThan(800);
    expect(v['humidity_pct']).toBeGreaterThanOrEqual(15);
    expect(v['pressure_hpa']).toBeGreaterThan(960);
  });
});
