/**
 * A household water meter.
 *
 * - Consumption follows the daily draw profile (morning and evening peaks) scaled by the
 *   household's daily use, with noise; the index (volume_m3) only grows.
 * - Leaks: now and then a continuous flow starts (a running toilet, a dripping pipe) and lasts
 *   days — visible as flow at night, which raises the leak alarm.
 * - Backflow: rare short reverse flow, counted in volume_reverse_m3 with an alarm.
 * - Burst: very rare, a large flow for an hour.
 * - Hourly history: the meter keeps the index at each full hour (the last 24) for devices
 *   that report history, and remembers the index it reported at each send instant of the last
 *   day, so history resampled at those instants repeats what was sent (`KNOWN_POINTS`), and
 *   its whole state (flow, alarms) at each full hour, for devices that label a report with the
 *   hour (`HOUR_STATES`).
 */
import type { Reading } from '../../codecs/api.ts';
import type { Rng } from '../rng.ts';
import { HOUR_MS, HOUR_STATES, KNOWN_POINTS, type BehaviourModel, type KnownPoint, type SampledReadings } from './model.ts';
import { localHour, waterProfile } from './profiles.ts';

export interface WaterOptions {
  utcOffsetHours: number;
  startMs: number;
  dailyUseM3?: number;
}

export class WaterMeterModel implements BehaviourModel {
  private t: number;
  private volume: number;
  private reverse = 0;
  private readonly daily: number;
  private leakFlow = 0;
  private leakUntil = 0;
  private backflowUntil = 0;
  private burstUntil = 0;
  private lastFlow = 0;
  private battery: number;
  /**
   * The index at each of the last 24 full hours, and the whole state then (what `sample()` would
   * have given as the current reading at that instant); `iso` kept so sampling does not format it again.
   */
  private readonly hourly: { time: number; iso: string; volume: number; values: Reading['values'] }[] = [];
  /** The index reported at each send instant of the last 25 h (rounded as reported), oldest first. */
  private readonly sent: { time: number; volume: number }[] = [];
  private events: string[] = [];

  constructor(
    private readonly rng: Rng,
    private readonly opts: WaterOptions,
  ) {
    this.t = opts.startMs;
    this.volume = Math.round(rng.uniform(5, 900) * 1000) / 1000;
    this.daily = opts.dailyUseM3 ?? rng.uniform(0.08, 0.6);
    this.battery = rng.uniform(70, 100);
    // The meter has been running before the simulation starts: a day of history, so the first
    // uplink's hourly history is real consumption, not padding that later uplinks contradict.
    this.t = opts.startMs - 24 * HOUR_MS;
    this.stepTo(opts.startMs);
    this.events = [];
  }

  private stepTo(target: number): void {
    while (this.t < target) {
      const nextHour = (Math.floor(this.t / HOUR_MS) + 1) * HOUR_MS;
      const end = Math.min(target, nextHour);
      const hours = (end - this.t) / HOUR_MS;
      const h = localHour(this.t, this.opts.utcOffsetHours);
      let flow = (this.daily / 24) * waterProfile(h) * Math.max(0, 1 + this.rng.gaussian(0, 0.5)); // m³/h
      if (this.rng.chance(hours * 0.0004)) {
        this.leakFlow = this.rng.uniform(0.004, 0.03);
        this.leakUntil = this.t + this.rng.uniform(24, 120) * HOUR_MS;
        this.events.push('leak-start');
      }
      if (this.t >= this.leakUntil) this.leakFlow = 0;
      flow += this.leakFlow;
      if (this.rng.chance(hours * 0.00005)) {
        this.burstUntil = this.t + HOUR_MS;
        this.events.push('burst');
      }
      if (this.t < this.burstUntil) flow += 1.5;
      if (this.rng.chance(hours * 0.0002)) {
        this.backflowUntil = this.t + 0.5 * HOUR_MS;
        this.events.push('backflow');
      }
      if (this.t < this.backflowUntil) {
        this.reverse += 0.002 * hours;
        flow = -0.004;
      }
      if (flow > 0) this.volume += flow * hours;
      this.lastFlow = flow;
      this.battery = Math.max(0, this.battery - hours * 0.0003);
      this.t = end;
      if (end === nextHour) {
        this.hourly.push({ time: end, iso: new Date(end).toISOString(), volume: this.volume, values: this.currentValues(end) });
        if (this.hourly.length > 24) this.hourly.shift();
      }
    }
  }

  /** What the meter shows at `timeMs` (its state is already there): index, flow and status. */
  private currentValues(timeMs: number): Reading['values'] {
    const h = localHour(timeMs, this.opts.utcOffsetHours);
    const night = h >= 1 && h < 5;
    return {
      volume_m3: Math.round(this.volume * 1000) / 1000,
      volume_reverse_m3: Math.round(this.reverse * 1000) / 1000,
      flow_m3h: Math.round(this.lastFlow * 1000) / 1000,
      pulse_count: Math.round(this.volume * 1000),
      alarm_leak: this.leakFlow > 0 && night,
      alarm_burst: this.t < this.burstUntil,
      alarm_backflow: this.t < this.backflowUntil,
      alarm_tamper: false,
      battery_pct: Math.round(this.battery),
    };
  }

  sample(timeMs: number): Reading[] {
    this.stepTo(timeMs);
    const history: SampledReadings = this.hourly.map((r) => ({
      time: r.iso,
      values: { volume_m3: Math.round(r.volume * 1000) / 1000 },
    }));
    const values = this.currentValues(timeMs);
    history[KNOWN_POINTS] = this.knownPoints(timeMs, values['volume_m3'] as number);
    history[HOUR_STATES] = this.hourly;
    history.push({ values });
    return history;
  }

  /**
   * The full hours and earlier send instants (with the index as it was reported), then now; in
   * time order. Kept to the last 25 h: history never reaches further back than 24 h.
   */
  private knownPoints(timeMs: number, current: number): KnownPoint[] {
    while (this.sent.length > 0 && (this.sent[0] as { time: number }).time < timeMs - 25 * HOUR_MS) this.sent.shift();
    const points: KnownPoint[] = [];
    let i = 0;
    for (const h of this.hourly) {
      while (i < this.sent.length && (this.sent[i] as { time: number }).time < h.time) {
        const p = this.sent[i++] as { time: number; volume: number };
        points.push({ ms: p.time, values: { volume_m3: p.volume } });
      }
      if (i < this.sent.length && (this.sent[i] as { time: number }).time === h.time) i++; // a send on the hour: the hour's value is the same
      points.push({ ms: h.time, values: { volume_m3: Math.round(h.volume * 1000) / 1000 } });
    }
    for (; i < this.sent.length; i++) {
      const p = this.sent[i] as { time: number; volume: number };
      if (p.time < timeMs) points.push({ ms: p.time, values: { volume_m3: p.volume } });
    }
    points.push({ ms: timeMs, values: { volume_m3: current } });
    if (this.sent.length === 0 || (this.sent[this.sent.length - 1] as { time: number }).time < timeMs) this.sent.push({ time: timeMs, volume: current });
    return points;
  }

  drainEvents(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}
