/**
 * A waste container at a drop-off point, seen by an ultrasonic sensor under its lid.
 *
 * - Fill grows with the waste drop-off profile (busy during the day), with per-bin demand and
 *   hour-to-hour noise; it can exceed the brim a little (overflowing bins happen).
 * - Collection rounds empty the bin every few days in the early morning, and the day after it
 *   crossed the "full" threshold (the service reacts to alarms).
 * - Rare events: fire (temperature jumps, fire alarm for a few hours) and tilt (lid forced open
 *   or sensor knocked, a tilt alarm until the next collection).
 * - The battery drains slowly.
 */
import type { Reading } from '../../codecs/api.ts';
import { distanceForFill } from '../../codecs/readings.ts';
import type { Rng } from '../rng.ts';
import { clamp, HOUR_MS, type BehaviourModel } from './model.ts';
import { airTemperature, localHour, wasteProfile } from './profiles.ts';

export interface BinOptions {
  variables: Record<string, unknown>;
  utcOffsetHours: number;
  startMs: number;
  /** Fraction of the bin filled per average hour. */
  fillRatePerHour?: number;
  collectionEveryDays?: number;
  fullThresholdPct?: number;
}

export class BinFillModel implements BehaviourModel {
  private t: number;
  private fill: number;
  private readonly rate: number;
  private readonly collectionDays: number;
  private readonly collectionHour: number;
  private readonly fullAt: number;
  private nextCollectionMs: number;
  private fireUntil = 0;
  private tilted = false;
  private battery: number;
  private readonly dailyMean: number;
  private events: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly opts: BinOptions,
  ) {
    this.t = opts.startMs;
    this.fill = rng.uniform(0, 0.6);
    this.rate = opts.fillRatePerHour ?? rng.uniform(0.004, 0.02);
    this.collectionDays = opts.collectionEveryDays ?? rng.int(2, 7);
    this.collectionHour = rng.uniform(5, 9);
    this.fullAt = (opts.fullThresholdPct ?? 90) / 100;
    this.nextCollectionMs = this.collectionAfter(opts.startMs + rng.int(0, this.collectionDays - 1) * 24 * HOUR_MS);
    this.battery = rng.uniform(55, 100);
    this.dailyMean = rng.uniform(6, 16);
  }

  /** The first collection slot at or after `ms` (early morning, local time). */
  private collectionAfter(ms: number): number {
    const dayStart = ms - localHour(ms, this.opts.utcOffsetHours) * HOUR_MS;
    let slot = dayStart + this.collectionHour * HOUR_MS;
    if (slot < ms) slot += 24 * HOUR_MS;
    return slot;
  }

  private stepTo(target: number): void {
    // Hour-sized steps (fewer when the gap is huge) keep cost bounded and the curve smooth.
    while (this.t < target) {
      const dt = Math.min(HOUR_MS, target - this.t);
      const mid = this.t + dt / 2;
      const hours = dt / HOUR_MS;
      const h = localHour(mid, this.opts.utcOffsetHours);
      const drop = this.rate * wasteProfile(h) * hours * Math.max(0, 1 + this.rng.gaussian(0, 0.35));
      this.fill = clamp(this.fill + drop, 0, 1.08);
      this.battery = Math.max(0, this.battery - hours * 0.0007);
      if (this.rng.chance(hours * 2e-5)) {
        this.fireUntil = this.t + this.rng.uniform(1, 3) * HOUR_MS;
        this.events.push('fire');
      }
      if (!this.tilted && this.rng.chance(hours * 6e-5)) {
        this.tilted = true;
        this.events.push('tilt');
      }
      this.t += dt;
      if (this.t >= this.nextCollectionMs) {
        this.fill = this.rng.uniform(0, 0.03);
        this.tilted = false;
        this.events.push('collected');
        this.nextCollectionMs = this.collectionAfter(this.t + (this.collectionDays - 0.5) * 24 * HOUR_MS);
      } else if (this.fill >= this.fullAt) {
        // The planner sends a truck the next morning when the full alarm arrives.
        this.nextCollectionMs = Math.min(this.nextCollectionMs, this.collectionAfter(this.t + 2 * HOUR_MS));
      }
    }
  }

  sample(timeMs: number): Reading[] {
    this.stepTo(timeMs);
    const fillPct = this.fill * 100;
    const nominal = distanceForFill(Math.min(100, fillPct), this.opts.variables) ?? Math.round(1500 * (1 - this.fill));
    const distance = Math.max(30, Math.round(nominal + this.rng.gaussian(0, 6)));
    const fire = this.t < this.fireUntil;
    const hour = localHour(timeMs, this.opts.utcOffsetHours);
    const temperature = fire ? this.rng.uniform(65, 95) : airTemperature(hour, this.dailyMean, 5) + this.rng.gaussian(0, 0.4);
    return [
      {
        values: {
          distance_mm: distance,
          temperature_c: Math.round(temperature * 10) / 10,
          battery_pct: Math.round(this.battery),
          battery_v: Math.round((3.0 + 0.6 * (this.battery / 100)) * 1000) / 1000,
          alarm_full: this.fill >= this.fullAt,
          alarm_fire: fire,
          alarm_tilt: this.tilted,
          tilt_deg: this.tilted ? Math.round(this.rng.uniform(30, 90)) : 0,
        },
      },
    ];
  }

  drainEvents(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}
