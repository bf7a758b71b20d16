/**
 * Readings → payload bytes through the device's codec, reconciling how behaviour models and
 * codecs place history records in time.
 *
 * A water-meter model keeps its index at every full hour and samples the current value at the
 * send instant, while history codecs each want the records on their own grid: some one hour
 * apart ending at the send instant (Axioma W1), others on the full hours before the log time
 * (Kamstrup flowIQ, which floors the send time to the hour). The encoder therefore tries a few
 * views of the same readings, in this order, and remembers per codec which one worked:
 *
 * 1. the readings as the model gave them;
 * 2. the timed records strictly before the hour the send instant falls in, then the current one
 *    with the model's state at that hour (`HOUR_STATES`: the device labels it with the hour, so
 *    two uplinks in one clock hour must report the same flow and alarms for it), else with the
 *    index of that hour;
 * 3. the records resampled (linear in time, numeric fields) to exactly 1, 2, … h before the send
 *    instant, then the current one — on the model's known points (`KNOWN_POINTS`: full hours and
 *    earlier send instants) when it gives them, so an instant restated by a later uplink keeps
 *    the value the earlier uplink sent;
 * 4. the current reading alone.
 *
 * The ledger is built from what the bytes decode to, so whichever view was used, the ground
 * truth and the payload agree.
 */
import type { Codec, Reading, ReadingValue } from '../codecs/api.ts';
import { HOUR_STATES, KNOWN_POINTS, type SampledReadings } from './models/model.ts';

const HOUR_MS = 3_600_000;

export interface EncodedUplink {
  bytes: Uint8Array;
  fPort: number;
  warnings?: string[];
}

export type EncodeOutcome = { ok: true; uplink: EncodedUplink } | { ok: false; errors: string[] };

type View = (readings: Reading[], timeMs: number) => Reading[] | undefined;

const asIs: View = (r) => r;

function timed(readings: Reading[]): { history: Reading[]; current: Reading } | undefined {
  const current = readings[readings.length - 1];
  if (!current || readings.length < 2) return undefined;
  return { history: readings.slice(0, -1).filter((r) => r.time !== undefined), current };
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const hourGrid: View = (readings, timeMs) => {
  const t = timed(readings);
  if (!t) return undefined;
  const hourStart = Math.floor(timeMs / HOUR_MS) * HOUR_MS;
  const hourStartIso = new Date(hourStart).toISOString();
  // toISOString() forms compare as text in time order: no parsing for the usual case.
  const before = (time: string): boolean => (ISO_UTC.test(time) ? time < hourStartIso : Date.parse(time) < hourStart);
  // A device that labels its report with the hour (Kamstrup floors the send time) reports the
  // state of that hour: the model's values at the hour start replace the send-instant ones, so a
  // later uplink restating that hour (the next one in the same clock hour, or a history record)
  // agrees with this one. Only the index when the model keeps no more than that.
  const atHour = (readings as SampledReadings)[HOUR_STATES]?.find((s) => s.iso === hourStartIso) ?? t.history.find((r) => r.time === hourStartIso);
  const current = atHour ? { ...t.current, values: { ...t.current.values, ...atHour.values } } : t.current;
  return [...t.history.filter((r) => before(r.time as string)), current];
};

function interpolate(a: Reading['values'], b: Reading['values'], f: number): Reading['values'] {
  const out: Record<string, ReadingValue> = {};
  for (const [k, va] of Object.entries(a)) {
    const vb = b[k];
    out[k] = typeof va === 'number' && typeof vb === 'number' ? Math.round((va + (vb - va) * f) * 1000) / 1000 : va;
  }
  return out;
}

const sendTimeGrid: View = (readings, timeMs) => {
  const t = timed(readings);
  if (!t || t.history.length === 0) return undefined;
  const known = (readings as SampledReadings)[KNOWN_POINTS];
  const points = known ?? [...t.history.map((r) => ({ ms: Date.parse(r.time as string), values: r.values })), { ms: timeMs, values: t.current.values }];
  const first = points[0] as { ms: number };
  const out: Reading[] = [];
  // Codecs label records in whole seconds (unix time): the value is the model's at that second,
  // so two uplinks sent a whole number of hours apart within one second (their records fall on
  // the same labelled instant) restate the same value, not values a few ms of flow apart.
  const sendSecond = Math.floor(timeMs / 1000) * 1000;
  for (let k = points.length - 1; k >= 1; k--) {
    const at = sendSecond - k * HOUR_MS;
    if (at < first.ms) continue;
    let j = 1;
    while (j < points.length - 1 && (points[j] as { ms: number }).ms < at) j++;
    const lo = points[j - 1] as { ms: number; values: Reading['values'] };
    const hi = points[j] as { ms: number; values: Reading['values'] };
    const f = hi.ms === lo.ms ? 1 : (at - lo.ms) / (hi.ms - lo.ms);
    out.push({ time: new Date(timeMs - k * HOUR_MS).toISOString(), values: interpolate(lo.values, hi.values, Math.min(1, Math.max(0, f))) });
  }
  out.push(t.current);
  return out;
};

const currentOnly: View = (readings) => (readings.length > 1 ? readings.slice(-1) : undefined);

const VIEWS: readonly View[] = [asIs, hourGrid, sendTimeGrid, currentOnly];

export class UplinkEncoder {
  /** Codec id → index of the view that worked last. */
  private readonly preferred = new Map<string, number>();

  encode(codec: Codec, readings: Reading[], variables: Record<string, unknown>, timeMs: number, defaultFPort: number): EncodeOutcome {
    const time = new Date(timeMs);
    const first = this.preferred.get(codec.id) ?? 0;
    let errors: string[] = [];
    for (let n = 0; n < VIEWS.length; n++) {
      const i = (first + n) % VIEWS.length;
      const view = (VIEWS[i] as View)(readings, timeMs);
      if (!view) continue;
      const r = codec.encodeUplink({ readings: view, variables, time });
      if (r.bytes && !(r.errors && r.errors.length)) {
        if (i !== first) this.preferred.set(codec.id, i);
        const uplink: EncodedUplink = { bytes: Uint8Array.from(r.bytes), fPort: r.fPort ?? defaultFPort };
        if (r.warnings?.length) uplink.warnings = r.warnings;
        return { ok: true, uplink };
      }
      if (n === 0) errors = r.errors ?? ['encodeUplink returned no bytes'];
    }
    return { ok: false, errors };
  }
}
