/**
 * Plain words for what the API returns: alarm kinds, reading names with their units, ages,
 * device states — what a technician on a pavement or an operator at the start of a shift reads.
 */
import type { DeviceStateName } from './types.ts';

const ALARMS: Record<string, string> = {
  full: 'Bin full',
  fire: 'Fire / high temperature in the bin',
  tilt: 'Bin tilted or knocked over',
  leak: 'Water leak',
  backflow: 'Water flowing backwards',
  burst: 'Burst pipe (very high flow)',
  low_battery: 'Battery low',
  tamper: 'Tampering detected',
  dry: 'Meter running dry',
  device_error: 'Device reports an error',
  high_temperature: 'Temperature too high',
  low_temperature: 'Temperature too low',
  // The flood watch's alarms (gateway/planner/river-alarm-job.ts); levels below are named by config.
  river_rate: 'River rising fast',
  river_silent: 'River station silent while the river rises',
};

export function alarmText(kind: string): string {
  if (kind.startsWith('river_level:')) return `River level: ${kind.slice('river_level:'.length).replace(/_/g, ' ')}`;
  return (Object.hasOwn(ALARMS, kind) ? ALARMS[kind] : undefined) ?? kind.replace(/_/g, ' ');
}

export const STATE_TEXT: Record<DeviceStateName, string> = { reporting: 'reporting', silent: 'silent', never_joined: 'never joined' };

const UNITS: [RegExp, string][] = [
  [/_pct$/, '%'],
  [/_mm$/, 'mm'],
  [/_m3h$/, 'm³/h'],
  [/_m3$/, 'm³'],
  [/_ppm$/, 'ppm'],
  [/_ugm3$/, 'µg/m³'],
  [/_c$/, '°C'],
  [/_db$/, 'dB'],
  [/_dbm$/, 'dBm'],
  [/_v$/, 'V'],
  [/_hpa$/, 'hPa'],
  [/_lux$/, 'lx'],
  [/_l$/, 'L'],
  [/_s$/, 's'],
  [/_deg$/, '°'],
];

/** `fill_pct` → `fill`, `%`. */
export function fieldLabel(field: string): { name: string; unit: string } {
  for (const [re, unit] of UNITS) if (re.test(field)) return { name: field.replace(re, '').replace(/_/g, ' '), unit };
  return { name: field.replace(/_/g, ' '), unit: '' };
}

export function formatValue(field: string, v: unknown): string {
  if (typeof v === 'boolean') return field.startsWith('alarm_') ? (v ? 'ALARM' : 'ok') : v ? 'yes' : 'no';
  if (typeof v === 'number') {
    const { unit } = fieldLabel(field);
    const s = Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
    return unit ? `${s} ${unit}` : s;
  }
  return String(v);
}

export function age(ms: number): string {
  if (ms < 0) return 'just now';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min ago`;
  return `${Math.floor(hrs / 24)} days ago`;
}

export function clock(t: number): string {
  const d = new Date(t);
  const same = new Date().toDateString() === d.toDateString();
  return same ? d.toLocaleTimeString() : d.toLocaleString();
}

/** A codec warning or error in words a technician can act on. */
export function explainProblem(kind: 'warning' | 'error', text: string): string {
  if (kind === 'error') return `The payload could not be decoded completely: ${text}. The raw bytes are kept; check the device model and its firmware.`;
  return `Note from the decoder: ${text}.`;
}

export function dbm(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${Math.round(v)} dBm`;
}
