/**
 * The normalized reading vocabulary: every name a codec's `normalizeUplink` may emit, with its
 * unit and type. The unit is part of the name, so a dashboard never has to guess. The device
 * catalogue refers to these names and `npm run validate` rejects unknown ones.
 */
import type { ReadingValue, Variables } from './api.ts';
import { PayloadError } from './bytes.ts';

export interface ReadingField {
  type: 'number' | 'boolean' | 'string';
  unit?: string;
  description: string;
}

export const READING_FIELDS = {
  // bin-fill
  distance_mm: { type: 'number', unit: 'mm', description: 'distance from the sensor to the surface below it' },
  fill_pct: { type: 'number', unit: '%', description: 'container fill level (needs container_depth_mm)' },
  water_level_mm: { type: 'number', unit: 'mm', description: 'river / water level above the gauge datum (a distance sensor installed as a river level station: needs mount_height_mm)' },
  alarm_full: { type: 'boolean', description: 'fill level above the device threshold' },
  alarm_fire: { type: 'boolean', description: 'fire / high-temperature alarm' },
  alarm_tilt: { type: 'boolean', description: 'tilt / fall alarm: lid open or sensor tipped' },
  tilt_deg: { type: 'number', unit: '°', description: 'tilt angle' },
  sensor_fault: { type: 'boolean', description: 'the measuring element reported no valid reading' },
  latitude_deg: { type: 'number', unit: '°', description: 'WGS84 latitude' },
  longitude_deg: { type: 'number', unit: '°', description: 'WGS84 longitude' },
  // water
  volume_m3: { type: 'number', unit: 'm³', description: 'cumulative volume (meter index)' },
  volume_reverse_m3: { type: 'number', unit: 'm³', description: 'cumulative reverse (backflow) volume' },
  flow_m3h: { type: 'number', unit: 'm³/h', description: 'flow rate' },
  pulse_count: { type: 'number', description: 'cumulative pulse counter (before conversion to volume)' },
  alarm_leak: { type: 'boolean', description: 'leak / continuous flow' },
  alarm_burst: { type: 'boolean', description: 'burst / very high flow' },
  alarm_backflow: { type: 'boolean', description: 'reverse flow' },
  alarm_tamper: { type: 'boolean', description: 'tamper / magnetic / cable cut' },
  alarm_dry: { type: 'boolean', description: 'pipe empty / dry' },
  alarm_low_battery: { type: 'boolean', description: 'device reports a low battery' },
  alarm_device_error: { type: 'boolean', description: 'device reports a permanent or temporary error' },
  alarm_low_temperature: { type: 'boolean', description: 'water or ambient temperature below the device threshold (freeze risk)' },
  alarm_high_temperature: { type: 'boolean', description: 'water or ambient temperature above the device threshold' },
  water_temperature_c: { type: 'number', unit: '°C', description: 'water temperature' },
  // air
  co2_ppm: { type: 'number', unit: 'ppm', description: 'CO2 concentration' },
  pm1_ugm3: { type: 'number', unit: 'µg/m³', description: 'PM1.0 mass concentration' },
  pm2_5_ugm3: { type: 'number', unit: 'µg/m³', description: 'PM2.5 mass concentration' },
  pm4_ugm3: { type: 'number', unit: 'µg/m³', description: 'PM4 mass concentration' },
  pm10_ugm3: { type: 'number', unit: 'µg/m³', description: 'PM10 mass concentration' },
  tvoc_ppb: { type: 'number', unit: 'ppb', description: 'total volatile organic compounds' },
  tvoc_iaq: { type: 'number', description: 'TVOC as an index (IAQ level)' },
  tvoc_ugm3: { type: 'number', unit: 'µg/m³', description: 'total volatile organic compounds' },
  hcho_mgm3: { type: 'number', unit: 'mg/m³', description: 'formaldehyde' },
  o3_ppm: { type: 'number', unit: 'ppm', description: 'ozone' },
  light_lux: { type: 'number', unit: 'lx', description: 'illuminance' },
  light_level: { type: 'number', description: 'illuminance as a device level, not lux (Milesight AM319: 0..5)' },
  motion_count: { type: 'number', description: 'PIR motion events' },
  occupied: { type: 'boolean', description: 'PIR occupancy' },
  // shared environment / device
  temperature_c: { type: 'number', unit: '°C', description: 'air or device temperature' },
  humidity_pct: { type: 'number', unit: '%RH', description: 'relative humidity' },
  pressure_hpa: { type: 'number', unit: 'hPa', description: 'barometric pressure' },
  battery_pct: { type: 'number', unit: '%', description: 'battery level' },
  battery_v: { type: 'number', unit: 'V', description: 'battery voltage' },
  acceleration_x_g: { type: 'number', unit: 'g', description: 'acceleration X' },
  acceleration_y_g: { type: 'number', unit: 'g', description: 'acceleration Y' },
  acceleration_z_g: { type: 'number', unit: 'g', description: 'acceleration Z' },
  digital_input: { type: 'boolean', description: 'digital input state' },
  analog_input: { type: 'number', description: 'analog input value' },
  // generic (Cayenne LPP types without a more specific name above)
  digital_output: { type: 'boolean', description: 'digital output state' },
  analog_output: { type: 'number', description: 'analog output value' },
  generic_value: { type: 'number', description: 'generic unitless sensor value' },
  voltage_v: { type: 'number', unit: 'V', description: 'voltage (other than the battery)' },
  current_a: { type: 'number', unit: 'A', description: 'electric current' },
  frequency_hz: { type: 'number', unit: 'Hz', description: 'frequency' },
  percentage_pct: { type: 'number', unit: '%', description: 'generic percentage' },
  altitude_m: { type: 'number', unit: 'm', description: 'altitude above sea level' },
  concentration_ppm: { type: 'number', unit: 'ppm', description: 'concentration of an unspecified gas' },
  power_w: { type: 'number', unit: 'W', description: 'electric power' },
  energy_kwh: { type: 'number', unit: 'kWh', description: 'cumulative energy' },
  direction_deg: { type: 'number', unit: '°', description: 'direction / heading' },
  unix_time_s: { type: 'number', unit: 's', description: 'a time reported by the device, seconds since 1970-01-01 UTC' },
  angular_velocity_x_dps: { type: 'number', unit: '°/s', description: 'angular velocity X (gyrometer)' },
  angular_velocity_y_dps: { type: 'number', unit: '°/s', description: 'angular velocity Y (gyrometer)' },
  angular_velocity_z_dps: { type: 'number', unit: '°/s', description: 'angular velocity Z (gyrometer)' },
  color_red: { type: 'number', description: 'colour sensor red component 0..255' },
  color_green: { type: 'number', description: 'colour sensor green component 0..255' },
  color_blue: { type: 'number', description: 'colour sensor blue component 0..255' },
  switch_on: { type: 'boolean', description: 'switch state' },
} as const satisfies Record<string, ReadingField>;

export type ReadingName = keyof typeof READING_FIELDS;

/**
 * Generic codecs (Cayenne LPP) produce a field per channel: `<base>_ch<N>`, e.g.
 * `temperature_c_ch3`. Returns the base field when `name` is a known field or such a variant.
 */
export function readingField(name: string): ReadingField | undefined {
  const direct = (READING_FIELDS as Record<string, ReadingField>)[name];
  if (direct) return direct;
  const m = /^(.+)_ch\d{1,3}$/.exec(name);
  return m ? (READING_FIELDS as Record<string, ReadingField>)[m[1] as string] : undefined;
}

export interface FillResult {
  fill_pct?: number;
  warning?: string;
}

function positiveNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * Fill level of a container from a distance measured downwards by a sensor under the lid. The
 * geometry (also drawn in devices/README.md and the root README):
 *
 *     ┌──[ sensor face ]──┐  distance 0
 *     │        ↓          │  sensor_offset_mm: face → full line (dead zone, height above the brim; default 0)
 *     │ - - full line - - │  distance = sensor_offset_mm   → 100 %
 *     │                   │
 *     │                   │  container_depth_mm: face → bottom (what an empty bin measures)
 *     └──── bottom ───────┘  distance = container_depth_mm → 0 %
 *
 * fill = (depth − distance) / (depth − offset), clamped to 0..100 and rounded to 0.1 %. Both
 * lengths are measured from the sensor face, the way a technician measures with a tape, so an
 * empty bin reads 0 % and a full one 100 %.
 */
export function fillPercent(distanceMm: number, variables: Variables | undefined): FillResult {
  const depth = positiveNumber(variables?.['container_depth_mm']);
  if (depth === undefined || depth === 0) {
    return { warning: 'no fill_pct: device variable container_depth_mm is not set (or not a positive number)' };
  }
  const offsetRaw = variables?.['sensor_offset_mm'];
  const offset = offsetRaw === undefined ? 0 : positiveNumber(offsetRaw);
  if (offset === undefined) {
    return { warning: 'no fill_pct: device variable sensor_offset_mm is not a non-negative number' };
  }
  if (offset >= depth) {
    return { warning: `no fill_pct: sensor_offset_mm (${offset}) must be less than container_depth_mm (${depth}), both measured from the sensor face` };
  }
  const pct = ((depth - distanceMm) / (depth - offset)) * 100;
  const clamped = Math.min(100, Math.max(0, pct));
  return { fill_pct: Math.round(clamped * 10) / 10 };
}

/** The inverse of `fillPercent`, for simulators: the distance a sensor sees at a fill level. */
export function distanceForFill(fillPct: number, variables: Variables | undefined): number | undefined {
  const depth = positiveNumber(variables?.['container_depth_mm']);
  if (depth === undefined || depth === 0) return undefined;
  const offset = positiveNumber(variables?.['sensor_offset_mm']) ?? 0;
  if (offset >= depth) return undefined;
  return Math.round(depth - (depth - offset) * (fillPct / 100));
}

/** `distance_mm` and, where the geometry allows, `fill_pct` into a reading's values (bin-fill codecs). */
export function putDistance(values: Record<string, ReadingValue>, distanceMm: number, variables: Variables | undefined, warnings: string[]): void {
  values['distance_mm'] = distanceMm;
  const fill = fillPercent(distanceMm, variables);
  if (fill.fill_pct !== undefined) values['fill_pct'] = fill.fill_pct;
  if (fill.warning) warnings.push(fill.warning);
}

/**
 * The distance a bin-fill device side sends: the reading's `distance_mm`, else the one its
 * `fill_pct` gives with the installation's geometry; undefined when neither is given.
 */
export function readingDistance(values: Record<string, unknown>, variables: Variables | undefined): unknown {
  const distance = values['distance_mm'];
  if (distance !== undefined || typeof values['fill_pct'] !== 'number') return distance;
  const fromFill = distanceForFill(values['fill_pct'], variables);
  if (fromFill === undefined) throw new PayloadError('encodeUplink: fill_pct needs device variable container_depth_mm to derive distance_mm');
  return fromFill;
}

/**
 * River level from a distance sensor looking down at the water, installed as a river level
 * station: `mount_height_mm` is the height of the sensor face above the gauge datum (the zero of
 * the river's staff gauge), so
 *
 *     ─[ sensor face ]─   mount_height_mm above the datum
 *            ↓ distance_mm
 *     ~~~~ water ~~~~     water_level_mm = mount_height_mm − distance_mm
 *     ---- datum ----     0 (may be negative: a river can fall below its gauge zero)
 *
 * Undefined without a usable mount height (the device is a bin, not a station).
 */
export function waterLevelMm(distanceMm: number, variables: Variables | Record<string, unknown> | undefined): number | undefined {
  const mount = positiveNumber(variables?.['mount_height_mm']);
  if (mount === undefined || mount === 0 || !Number.isFinite(distanceMm)) return undefined;
  return Math.round(mount - distanceMm);
}

/** The warning a station gets from the fill geometry it does not need (it has no container). */
const NO_DEPTH_WARNING = 'no fill_pct: device variable container_depth_mm is not set';

/**
 * Adds `water_level_mm` to every reading with a `distance_mm` when the device is installed as a
 * river level station (`mount_height_mm` set). Applied by `defineCodec` after any native codec's
 * normalizeUplink, so every distance codec serves rivers without a copy; a station's missing
 * container geometry is then not worth a warning.
 */
export function withWaterLevel<R extends { readings: { values: Record<string, ReadingValue> }[]; warnings?: string[] }>(result: R, variables: Variables | undefined): R {
  let added = false;
  for (const reading of result.readings) {
    const d = reading.values['distance_mm'];
    if (typeof d !== 'number') continue;
    const level = waterLevelMm(d, variables);
    if (level === undefined) return result;
    reading.values['water_level_mm'] = level;
    added = true;
  }
  if (added && result.warnings) {
    const kept = result.warnings.filter((w) => !w.startsWith(NO_DEPTH_WARNING));
    if (kept.length > 0) result.warnings = kept;
    else delete result.warnings;
  }
  return result;
}
