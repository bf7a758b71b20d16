/**
 * A street-side air-quality probe: CO2 and particulates rise with traffic peaks, temperature
 * follows the day, humidity moves against temperature, pressure drifts as weather does.
 */
import type { Reading } from '../../codecs/api.ts';
import type { Rng } from '../rng.ts';
import { clamp, type BehaviourModel } from './model.ts';
import { airTemperature, isWeekend, localHour, trafficProfile } from './profiles.ts';

export interface AirOptions {
  utcOffsetHours: number;
  startMs: number;
}

export class AirQualityModel implements BehaviourModel {
  private pressure: number;
  private readonly exposure: number;
  private readonly dailyMean: number;
  private readonly background: number;
  private battery: number;
  private lastT: number;

  constructor(
    private readonly rng: Rng,
    private readonly opts: AirOptions,
  ) {
    this.pressure = rng.uniform(995, 1030);
    this.exposure = rng.uniform(0.3, 1.5); // how close to a busy road
    this.dailyMean = rng.uniform(5, 18);
    this.background = rng.uniform(4, 12);
    this.battery = rng.uniform(60, 100);
    this.lastT = opts.startMs;
  }

  sample(timeMs: number): Reading[] {
    const hours = Math.max(0, (timeMs - this.lastT) / 3_600_000);
    this.lastT = Math.max(this.lastT, timeMs);
    // Weather drifts as a bounded random walk.
    this.pressure = clamp(this.pressure + this.rng.gaussian(0, 0.4) * Math.sqrt(Math.min(hours, 48)), 970, 1045);
    this.battery = Math.max(0, this.battery - hours * 0.001);
    const h = localHour(timeMs, this.opts.utcOffsetHours);
    const traffic = trafficProfile(h, isWeekend(timeMs, this.opts.utcOffsetHours)) * this.exposure;
    const temperature = airTemperature(h, this.dailyMean, 4) + this.rng.gaussian(0, 0.3);
    const humidity = clamp(75 - (temperature - this.dailyMean) * 3 + this.rng.gaussian(0, 2), 15, 100);
    const pm25 = Math.max(0.5, this.background + 22 * traffic + this.rng.gaussian(0, 1.5));
    const pm10 = pm25 * this.rng.uniform(1.3, 1.8);
    const pm1 = pm25 * this.rng.uniform(0.6, 0.8);
    const co2 = 415 + 140 * traffic + this.rng.gaussian(0, 8);
    return [
      {
        values: {
          co2_ppm: Math.round(co2),
          pm1_ugm3: Math.round(pm1 * 10) / 10,
          pm2_5_ugm3: Math.round(pm25 * 10) / 10,
          pm10_ugm3: Math.round(pm10 * 10) / 10,
          tvoc_ppb: Math.round(60 + 200 * traffic + Math.abs(this.rng.gaussian(0, 10))),
          temperature_c: Math.round(temperature * 10) / 10,
          humidity_pct: Math.round(humidity * 2) / 2,
          pressure_hpa: Math.round(this.pressure * 10) / 10,
          battery_pct: Math.round(this.battery),
        },
      },
    ];
  }

  drainEvents(): string[] {
    return [];
  }
}
