/**
 * A river seen by a distance sensor installed as a river level station (`mount_height_mm`
 * above the gauge datum). The level is what a hydrologist would draw:
 *
 * - **base flow**: a steady level per station with a slow wander (days) of a few centimetres;
 * - **rain events** arrive at random (Poisson, a few a month); each adds a hydrograph: a
 *   **rising limb** (a smooth climb to its crest over hours) and a **falling limb** (exponential
 *   recession, slower than the rise), so floods overlap when rain follows rain;
 * - **sensor noise** on the distance (Gaussian, a few millimetres), as an ultrasonic echo jitters.
 *
 * The true level (before noise) is given by `truth()`, so tests score alarms against what the
 * river did rather than against what a noisy sensor said. The level is a closed-form function of
 * time and the events drawn so far, so sampling cost does not depend on the reporting interval.
 */
import type { Reading } from '../../codecs/api.ts';
import type { Rng } from '../rng.ts';
import { HOUR_MS, type BehaviourModel } from './model.ts';

export interface RiverOptions {
  variables: Record<string, unknown>;
  startMs: number;
  /** Base level above the gauge datum (default: drawn, 8–15 % of the mount height). */
  baseLevelMm?: number;
  /** Mean number of rain events per day (default 0.12: about one every 8 days). */
  rainPerDay?: number;
  /** Crest height of a rain event above base, drawn uniformly in this range (mm). */
  crestMm?: [number, number];
  /** Hours from the start of a rise to its crest. */
  riseHours?: [number, number];
  /** Recession time constant of the falling limb (hours). */
  recessionHours?: [number, number];
  /** Amplitude of the slow base-flow wander (mm; default 15). */
  wanderMm?: number;
  /** Standard deviation of the distance noise (mm; default 4). */
  noiseMm?: number;
}

interface RainEvent {
  startMs: number;
  crestMm: number;
  riseMs: number;
  recessionMs: number;
  crestAnnounced: boolean;
}

/** One event's contribution at `t`: sin² rise to the crest, then exponential recession. */
function hydrograph(e: RainEvent, t: number): number {
  const tau = t - e.startMs;
  if (tau <= 0) return 0;
  if (tau < e.riseMs) return e.crestMm * Math.sin((Math.PI / 2) * (tau / e.riseMs)) ** 2;
  return e.crestMm * Math.exp(-(tau - e.riseMs) / e.recessionMs);
}

/** Past this contribution (mm) an event no longer matters and is forgotten. */
const NEGLIGIBLE_MM = 0.5;
const MAX_EVENTS = 64;

export class RiverLevelModel implements BehaviourModel {
  private readonly mountMm: number;
  private readonly baseMm: number;
  private readonly ratePerMs: number;
  private readonly noise: number;
  private readonly wander: number;
  private readonly wanderPhase: number;
  private nextRainMs: number;
  private rains: RainEvent[] = [];
  private level = 0;
  private events: string[] = [];
  private battery: number;

  constructor(
    private readonly rng: Rng,
    private readonly opts: RiverOptions,
  ) {
    const mount = Number(opts.variables['mount_height_mm']);
    this.mountMm = Number.isFinite(mount) && mount > 0 ? mount : 4000;
    this.baseMm = opts.baseLevelMm ?? Math.round(this.mountMm * rng.uniform(0.08, 0.15));
    this.ratePerMs = (opts.rainPerDay ?? 0.12) / (24 * HOUR_MS);
    this.noise = opts.noiseMm ?? 4;
    this.wander = opts.wanderMm ?? 15;
    this.wanderPhase = rng.uniform(0, 2 * Math.PI);
    this.battery = rng.uniform(70, 100);
    this.nextRainMs = this.drawGap(opts.startMs);
  }

  private drawGap(fromMs: number): number {
    if (this.ratePerMs <= 0) return Number.POSITIVE_INFINITY;
    return fromMs + -Math.log(1 - this.rng.next()) / this.ratePerMs;
  }

  private levelAt(t: number): number {
    const days = (t - this.opts.startMs) / (24 * HOUR_MS);
    let level = this.baseMm + this.wander * Math.sin((2 * Math.PI * days) / 9 + this.wanderPhase);
    for (const e of this.rains) level += hydrograph(e, t);
    return level;
  }

  sample(timeMs: number): Reading[] {
    // Rain that started since the last sample (bounded: at most MAX_EVENTS per call).
    for (let i = 0; i < MAX_EVENTS && this.nextRainMs <= timeMs; i++) {
      const [c0, c1] = this.opts.crestMm ?? [150, 1800];
      const [r0, r1] = this.opts.riseHours ?? [3, 10];
      const [k0, k1] = this.opts.recessionHours ?? [8, 24];
      this.rains.push({ startMs: this.nextRainMs, crestMm: this.rng.uniform(c0, c1), riseMs: this.rng.uniform(r0, r1) * HOUR_MS, recessionMs: this.rng.uniform(k0, k1) * HOUR_MS, crestAnnounced: false });
      this.events.push('rain');
      this.nextRainMs = this.drawGap(this.nextRainMs);
    }
    for (const e of this.rains) {
      if (!e.crestAnnounced && timeMs >= e.startMs + e.riseMs) {
        e.crestAnnounced = true;
        this.events.push('crest');
      }
    }
    this.rains = this.rains.filter((e) => timeMs < e.startMs + e.riseMs || hydrograph(e, timeMs) >= NEGLIGIBLE_MM).slice(-MAX_EVENTS);
    this.level = this.levelAt(timeMs);
    this.battery = Math.max(0, this.battery - 0.0004);
    const distance = Math.max(0, Math.round(this.mountMm - this.level + this.rng.gaussian(0, this.noise)));
    return [
      {
        values: {
          distance_mm: distance,
          battery_pct: Math.round(this.battery),
          battery_v: Math.round((3.0 + 0.6 * (this.battery / 100)) * 1000) / 1000,
          temperature_c: Math.round(this.rng.uniform(6, 14) * 10) / 10,
        },
      },
    ];
  }

  truth(): Record<string, number> {
    return { water_level_mm: Math.round(this.level) };
  }

  drainEvents(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}
