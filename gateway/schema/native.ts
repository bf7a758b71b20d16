/**
 * The native InfluxDB schema: one measurement per category from the normalized readings,
 * `lorawan_uplink` for radio metadata and `device_status` for battery/margin/join events.
 *
 * | measurement | tags | fields | time |
 * |---|---|---|---|
 * | `bin_fill`, `water_meter`, `air_quality`, `sensor` (generic) | `dev_eui`, `device`, `model` + installation tags | the readings (`fill_pct`, `volume_m3`, `co2_ppm`, …) | the reading's own time, else the uplink's |
 * | `lorawan_uplink` | same | `rssi` (int, best gateway), `snr` (best), `gateway_count`, `sf`, `frequency`, `dr`, `fcnt`, `fport`, `payload_bytes`, `decode_errors` | uplink time |
 * | `device_status` | same | `battery_pct`, `margin_db`, `external_power` / `joined` + `dev_addr` | event time |
 *
 * Every point carries the uplink's own timestamp (ms), so writing the same record twice
 * overwrites instead of duplicating; hourly history readings repeated in the next uplink land
 * on the same timestamps and overwrite too.
 */
import { integer, type FieldValue, type Point, type Tags } from '../sinks/influxdb/line-protocol.ts';
import type { Reading } from '../../codecs/api.ts';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
import { DeviceTagSets } from './device-tags.ts';

export const CATEGORY_MEASUREMENT: Readonly<Record<string, string>> = {
  'bin-fill': 'bin_fill',
  'water-meter': 'water_meter',
  'air-quality': 'air_quality',
  generic: 'sensor',
};

export function deviceTags(devEui: string, device: DeviceSnapshot): Record<string, string> {
  // Installation tags first so the gateway's own three always win.
  return { ...device.tags, dev_eui: devEui, device: device.name, ...(device.model ? { model: device.model } : {}) };
}

// Every point of a device carries the same tags: built and encoded once per device snapshot.
const tagSets = new DeviceTagSets();

function sharedDeviceTags(devEui: string, device: DeviceSnapshot): Tags {
  return tagSets.get(devEui, device) ?? tagSets.add(devEui, device, '', deviceTags(devEui, device));
}

/** Whether a reading has at least one value (own key), without listing them. */
function hasValues(values: Readonly<Record<string, unknown>>): boolean {
  for (const k in values) if (Object.prototype.hasOwnProperty.call(values, k)) return true;
  return false;
}

function readingPoint(reading: Reading, measurement: string, tags: Tags, time: number): Point | undefined {
  // The reading's values are the fields as they are: the encoder writes their own keys in order,
  // which is what a copy would hold.
  if (!hasValues(reading.values)) return undefined;
  const t = reading.time ? Date.parse(reading.time) : time;
  return { measurement, tags, fields: reading.values, timeMs: Number.isFinite(t) ? t : time };
}

function uplinkPoints(r: UplinkRecord): Point[] {
  const { devEui, device, decoded, gateways, time, sf, frequency } = r;
  const tags = sharedDeviceTags(devEui, device);
  // Best gateway: the highest RSSI and the highest SNR (not necessarily the same gateway).
  let rssi = 0;
  let snr = 0;
  for (let i = 0; i < gateways.length; i++) {
    const g = gateways[i] as UplinkRecord['gateways'][number];
    rssi = i === 0 ? g.rssi : Math.max(rssi, g.rssi);
    snr = i === 0 ? g.snr : Math.max(snr, g.snr);
  }
  const heard = gateways.length > 0;
  // One literal (one shape) in the order the fields are written; undefined fields are left out.
  const radio: Record<string, FieldValue | undefined> = {
    gateway_count: integer(gateways.length),
    fcnt: integer(r.fCnt),
    fport: integer(r.fPort),
    dr: integer(r.dr),
    payload_bytes: integer(r.payload.length),
    decode_errors: integer(decoded?.errors.length ?? 0),
    rssi: heard ? integer(Math.round(rssi)) : undefined,
    snr: heard ? snr : undefined,
    sf: sf === undefined ? undefined : integer(sf),
    frequency: frequency === undefined ? undefined : integer(frequency),
  };
  const radioPoint: Point = { measurement: 'lorawan_uplink', tags, fields: radio, timeMs: time };

  // The reading points come first. Most uplinks carry one reading: the array is then made at
  // its final size, as an array grown by push() keeps room for 17 and a batch holds thousands.
  const readings = decoded?.readings ?? [];
  const measurement = CATEGORY_MEASUREMENT[device.category ?? 'generic'] ?? 'sensor';
  if (readings.length === 1) {
    const p = readingPoint(readings[0] as Reading, measurement, tags, time);
    return p === undefined ? [radioPoint] : [p, radioPoint];
  }
  const points: Point[] = [];
  for (const reading of readings) {
    const p = readingPoint(reading, measurement, tags, time);
    if (p !== undefined) points.push(p);
  }
  points.push(radioPoint);
  return points;
}

export function nativePoints(r: PipelineRecord): Point[] {
  switch (r.kind) {
    case 'up':
      return uplinkPoints(r);
    case 'join':
      return [{ measurement: 'device_status', tags: sharedDeviceTags(r.devEui, r.device), fields: { joined: true, dev_addr: r.devAddr }, timeMs: r.time }];
    case 'status': {
      const fields: Record<string, FieldValue> = { margin_db: integer(r.margin), external_power: r.externalPower };
      if (!r.batteryUnavailable && !r.externalPower) fields['battery_pct'] = r.batteryPct;
      return [{ measurement: 'device_status', tags: sharedDeviceTags(r.devEui, r.device), fields, timeMs: r.time }];
    }
  }
}
