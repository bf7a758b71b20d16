/**
 * Flood watch: alarm logic for a river level station (a distance sensor looking down at the
 * water), as configuration rather than code. Pure: it replays a station's level readings in
 * time order and says which alarms were raised, escalated and cleared, and which are open now.
 *
 * - Level: `water_level_mm = mount_height_mm − distance_mm` (the mount height above the gauge
 *   datum is a device variable), so the same distance codecs serve bins and rivers.
 * - Level thresholds raise at `raiseMm` and clear only below `clearMm` (hysteresis): a level
 *   hovering at a threshold raises once, not at every reading.
 * - Rate of rise: the rise over the last `windowMin` minutes, scaled to mm/h, at or above
 *   `mmPerHour` raises; it clears when the rate falls below half of it, and does not fire again
 *   within `quietMin` minutes of clearing.
 * - A station that goes silent for `silentAfterS` seconds while the level was rising (a level
 *   alarm open, or rising at half the rate threshold) raises `silent`: the moment a sensor is
 *   swept away is the moment it matters most.
 * - Every open alarm that nobody acknowledged is escalated every `escalateEveryMin` minutes.
 */

export interface LevelThreshold {
  name: string;
  raiseMm: number;
  clearMm: number;
}

export interface RiverAlarmConfig {
  levels: LevelThreshold[];
  rateOfRise?: { mmPerHour: number; windowMin: number; quietMin: number };
  silentAfterS?: number;
  escalateEveryMin?: number;
}

export interface LevelSample {
  t: number;
  levelMm: number;
}

export type RiverAlarmKind = `level:${string}` | 'rate' | 'silent';

export interface RiverAlarmEvent {
  t: number;
  alarm: RiverAlarmKind;
  action: 'raise' | 'escalate' | 'clear';
  levelMm?: number;
  detail: string;
}

export interface OpenAlarm {
  alarm: RiverAlarmKind;
  since: number;
  escalations: number;
  acknowledged: boolean;
}

/** The level from a distance reading (one definition, in the codecs' reading vocabulary). */
export { waterLevelMm } from '../../codecs/readings.ts';

/** Checks a configuration; returns problems naming the key (empty when valid). */
export function checkRiverConfig(c: RiverAlarmConfig): string[] {
  const p: string[] = [];
  c.levels.forEach((l, i) => {
    if (!l.name) p.push(`levels[${i}].name: is required`);
    if (!(l.clearMm < l.raiseMm)) p.push(`levels[${i}].clear_mm: must be below raise_mm (${l.raiseMm}) for hysteresis`);
  });
  if (c.rateOfRise && !(c.rateOfRise.mmPerHour > 0 && c.rateOfRise.windowMin > 0 && c.rateOfRise.quietMin >= 0)) p.push('rate_of_rise: mm_per_hour and window_min must be positive, quiet_min not negative');
  return p;
}

export function evaluateRiver(samplesIn: readonly LevelSample[], config: RiverAlarmConfig, nowMs: number, acknowledged: ReadonlyMap<RiverAlarmKind, number> = new Map()): { events: RiverAlarmEvent[]; open: OpenAlarm[] } {
  const samples = samplesIn.filter((s) => Number.isFinite(s.levelMm) && s.t <= nowMs).sort((a, b) => a.t - b.t);
  const events: RiverAlarmEvent[] = [];
  const open = new Map<RiverAlarmKind, OpenAlarm>();
  const escalateMs = (config.escalateEveryMin ?? 0) * 60_000;
  let rateQuietUntil = Number.NEGATIVE_INFINITY;
  let lastRate = 0;

  const raise = (t: number, alarm: RiverAlarmKind, levelMm: number | undefined, detail: string): void => {
    if (open.has(alarm)) return;
    open.set(alarm, { alarm, since: t, escalations: 0, acknowledged: false });
    events.push({ t, alarm, action: 'raise', levelMm, detail });
  };
  const clear = (t: number, alarm: RiverAlarmKind, levelMm: number | undefined, detail: string): void => {
    if (!open.delete(alarm)) return;
    events.push({ t, alarm, action: 'clear', levelMm, detail });
  };
  /** Escalations due up to `t` for alarms not acknowledged by then. */
  const escalate = (t: number): void => {
    if (escalateMs <= 0) return;
    for (const a of open.values()) {
      for (;;) {
        const due = a.since + (a.escalations + 1) * escalateMs;
        if (due > t) break;
        const ack = acknowledged.get(a.alarm);
        if (ack !== undefined && ack >= a.since && ack <= due) {
          a.acknowledged = true;
          break;
        }
        a.escalations++;
        events.push({ t: due, alarm: a.alarm, action: 'escalate', detail: `not acknowledged after ${Math.round((due - a.since) / 60_000)} min` });
      }
    }
  };
  const silentMs = (config.silentAfterS ?? 0) * 1000;

  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as LevelSample;
    const prev = samples[i - 1];
    // Silence between the previous reading and this one.
    if (prev && silentMs > 0 && s.t - prev.t > silentMs && rising(open, lastRate, config)) {
      raise(prev.t + silentMs, 'silent', prev.levelMm, `no reading for ${Math.round(silentMs / 60_000)} min while the level was rising`);
    }
    escalate(s.t);
    if (open.has('silent')) clear(s.t, 'silent', s.levelMm, 'the station reports again');
    for (const l of config.levels) {
      const key: RiverAlarmKind = `level:${l.name}`;
      if (s.levelMm >= l.raiseMm) raise(s.t, key, s.levelMm, `level ${s.levelMm} mm ≥ ${l.raiseMm} mm`);
      else if (s.levelMm < l.clearMm) clear(s.t, key, s.levelMm, `level ${s.levelMm} mm < ${l.clearMm} mm`);
    }
    const r = config.rateOfRise;
    if (r) {
      const from = s.t - r.windowMin * 60_000;
      // The reading closest to the start of the window (at or before it, else the first inside).
      let base: LevelSample | undefined;
      for (let j = i - 1; j >= 0; j--) {
        const c = samples[j] as LevelSample;
        base = c;
        if (c.t <= from) break;
      }
      if (base && s.t - base.t >= (r.windowMin * 60_000) / 2) {
        lastRate = ((s.levelMm - base.levelMm) / (s.t - base.t)) * 3_600_000;
        if (lastRate >= r.mmPerHour && s.t >= rateQuietUntil) raise(s.t, 'rate', s.levelMm, `rising ${Math.round(lastRate)} mm/h over ${r.windowMin} min`);
        else if (lastRate < r.mmPerHour / 2 && open.has('rate')) {
          clear(s.t, 'rate', s.levelMm, `rising ${Math.round(lastRate)} mm/h`);
          rateQuietUntil = s.t + r.quietMin * 60_000;
        }
      }
    }
  }
  const last = samples.at(-1);
  if (last && silentMs > 0 && nowMs - last.t > silentMs && rising(open, lastRate, config)) raise(last.t + silentMs, 'silent', last.levelMm, `no reading for ${Math.round(silentMs / 60_000)} min while the level was rising`);
  escalate(nowMs);
  for (const a of open.values()) {
    const ack = acknowledged.get(a.alarm);
    if (ack !== undefined && ack >= a.since) a.acknowledged = true;
  }
  return { events: events.sort((a, b) => a.t - b.t), open: [...open.values()] };
}

function rising(open: ReadonlyMap<RiverAlarmKind, OpenAlarm>, rate: number, config: RiverAlarmConfig): boolean {
  if ([...open.keys()].some((k) => k.startsWith('level:') || k === 'rate')) return true;
  return config.rateOfRise !== undefined && rate >= config.rateOfRise.mmPerHour / 2;
}
