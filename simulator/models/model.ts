/**
 * A behaviour model holds one device's physical state and says what the device measures at a
 * given simulated instant. Models advance only forward in time, in bounded steps, and draw all
 * randomness from the device's own seeded generator, so a fleet is reproducible per seed.
 */
import type { Reading } from '../../codecs/api.ts';

export interface BehaviourModel {
  /** Advance to `timeMs` and return the readings the device sends now (oldest first; the last is the current one). */
  sample(timeMs: number): Reading[];
  /** Events that happened since the last sample, for the ledger (e.g. "collected", "leak-start"). */
  drainEvents(): string[];
  /** The true physical state at the last sample, before sensor noise, for the ledger (optional). */
  truth?(): Record<string, number> | undefined;
}

export const HOUR_MS = 3_600_000;

/**
 * Every instant at which a model knows its index exactly (full hours and earlier send instants),
 * attached to the readings array `sample()` returns under this key (codecs never see it). The
 * encoder resamples history on these points, so a later uplink that restates an earlier instant
 * gives the value the earlier uplink sent for it: readings of one device at one timestamp agree.
 */
export const KNOWN_POINTS = Symbol('known points');

export interface KnownPoint {
  ms: number;
  values: Reading['values'];
}

/**
 * The device's whole state (the current reading's values) at each of its last full hours,
 * attached to the readings array `sample()` returns under this key (codecs never see it). A
 * device that labels its report with the hour (Kamstrup flowIQ logs at the hour and times every
 * storage-1 value with it) reports that hour's state, not the send instant's: two uplinks in one
 * clock hour then restate the same flow and alarms for it, as the meter's log would. The list is
 * the model's own (no copy per uplink): read it before the model's next `sample()`.
 */
export const HOUR_STATES = Symbol('hour states');

export interface HourState {
  /** The full hour, as `toISOString()` gives it. */
  iso: string;
  values: Reading['values'];
}

export type SampledReadings = Reading[] & { [KNOWN_POINTS]?: readonly KnownPoint[]; [HOUR_STATES]?: readonly HourState[] };

/** Rounds to a grid so values are what a device could report (the codec quantizes further). */
export function q(value: number, step: number): number {
  return Math.round(value / step) * step;
}

export function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v));
}
