/**
 * The ChirpStack-compatible schema: the measurement, tag and field names of ChirpStack v4's own
 * InfluxDB integration (chirpstack-integration.md §9.2), so existing Grafana dashboards keep
 * working — plus what ChirpStack lacks: a timestamp on every point (the uplink's own time),
 * durable delivery, and proper escaping (done by the line-protocol encoder).
 *
 * - `device_uplink`: tags device tags + application_name, device_name, dev_eui, frequency, dr;
 *   fields value=1i, f_cnt (int), rssi (int, max over gateways), snr (max over gateways).
 * - `device_frmpayload_data_<path>`: one per numeric/bool/string leaf of the decoded `data`
 *   (nested keys and array indices joined with `_`), field `value` (numbers as floats); tags
 *   device tags + application_name, device_name, dev_eui, f_port. A level holding numeric
 *   `latitude` and `longitude` becomes `…_location` with fields latitude, longitude.
 * - `device_status_battery_level` (value float) and `device_status_margin` (value int).
 */
import { integer, type FieldValue, type Point, type Tags } from '../sinks/influxdb/line-protocol.ts';
import type { DeviceSnapshot, PipelineRecord } from '../pipeline/record.ts';
import { DeviceTagSets } from './device-tags.ts';
import { gatewayStatusPoints } from './native.ts';

export interface ChirpstackSchemaOptions {
  /** ChirpStack's application name, when the source knew it (tag application_name). */
  applicationName?: (record: PipelineRecord) => string | undefined;
}

function baseTags(devEui: string, device: DeviceSnapshot, app: string | undefined): Record<string, string> {
  return { ...device.tags, ...(app ? { application_name: app } : {}), device_name: device.name, dev_eui: devEui };
}

// The payload points of an uplink (one per leaf) and the status points carry the same tags for
// every record of a device: built and encoded once per device snapshot. (device_uplink's tags
// include dr and frequency, dozens of combinations per device: those are built per point.)
const tagSets = new DeviceTagSets();

/** baseTags, plus f_port when given, shared per device, application name and f_port. */
function sharedTags(devEui: string, device: DeviceSnapshot, app: string | undefined, fPort?: string): Tags {
  // The application name comes last, so the variant cannot be read two ways.
  const variant = fPort === undefined ? `s\0${app ?? ''}` : `f${fPort}\0${app ?? ''}`;
  const tags = tagSets.get(devEui, device, variant);
  if (tags !== undefined) return tags;
  const built = fPort === undefined ? baseTags(devEui, device, app) : { ...baseTags(devEui, device, app), f_port: fPort };
  return tagSets.add(devEui, device, variant, built);
}

/** Flattens decoded data into (path, value) leaves the way ChirpStack does. */
function leaves(value: unknown, path: string, out: { path: string; value: FieldValue; location?: { lat: number; lon: number } }[], depth = 0): void {
  if (depth > 16 || value === null || value === undefined) return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) out.push({ path, value });
    return;
  }
  if (typeof value === 'boolean' || typeof value === 'string') {
    out.push({ path, value });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => leaves(v, path ? `${path}_${i}` : String(i), out, depth + 1));
    return;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o['latitude'] === 'number' && typeof o['longitude'] === 'number') {
      out.push({ path: path ? `${path}_location` : 'location', value: 0, location: { lat: o['latitude'], lon: o['longitude'] } });
    }
    for (const [k, v] of Object.entries(o)) {
      if ((k === 'latitude' || k === 'longitude') && typeof o['latitude'] === 'number' && typeof o['longitude'] === 'number') continue;
      leaves(v, path ? `${path}_${k}` : k, out, depth + 1);
    }
  }
}

export function chirpstackPoints(r: PipelineRecord, options: ChirpstackSchemaOptions = {}): Point[] {
  const app = options.applicationName?.(r);
  switch (r.kind) {
    case 'up': {
      const points: Point[] = [];
      const data = r.decoded?.data ?? r.csObject;
      if (data) {
        const tags = sharedTags(r.devEui, r.device, app, String(r.fPort));
        const found: Parameters<typeof leaves>[2] = [];
        leaves(data, '', found);
        for (const leaf of found) {
          const measurement = `device_frmpayload_data_${leaf.path}`;
          if (leaf.location) points.push({ measurement, tags, fields: { latitude: leaf.location.lat, longitude: leaf.location.lon }, timeMs: r.time });
          else points.push({ measurement, tags, fields: { value: leaf.value }, timeMs: r.time });
        }
      }
      const fields: Record<string, FieldValue> = { value: integer(1), f_cnt: integer(r.fCnt) };
      if (r.gateways.length) {
        fields['rssi'] = integer(Math.max(...r.gateways.map((g) => Math.round(g.rssi))));
        fields['snr'] = Math.max(...r.gateways.map((g) => g.snr));
      }
      const tags: Record<string, string> = { ...baseTags(r.devEui, r.device, app), dr: String(r.dr) };
      if (r.frequency !== undefined) tags['frequency'] = String(r.frequency);
      points.push({ measurement: 'device_uplink', tags, fields, timeMs: r.time });
      return points;
    }
    case 'status': {
      const tags = sharedTags(r.devEui, r.device, app);
      const points: Point[] = [{ measurement: 'device_status_margin', tags, fields: { value: integer(r.margin) }, timeMs: r.time }];
      if (!r.batteryUnavailable && !r.externalPower) points.push({ measurement: 'device_status_battery_level', tags, fields: { value: r.batteryPct }, timeMs: r.time });
      return points;
    }
    case 'join':
      return [];
    case 'gateway':
      return gatewayStatusPoints(r);
  }
}
