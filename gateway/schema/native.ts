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
import { integer, type FieldValue, type Point } from '../sinks/influxdb/line-protocol.ts';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';

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

function uplinkPoints(r: UplinkRecord): Point[] {
  const tags = deviceTags(r.devEui, r.device);
  const points: Point[] = [];
  const measurement = CATEGORY_MEASUREMENT[r.device.category ?? 'generic'] ?? 'sensor';
  for (const reading of r.decoded?.readings ?? []) {
    const fields: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(reading.values)) fields[k] = v;
    if (Object.keys(fields).length === 0) continue;
    const t = reading.time ? Date.parse(reading.time) : r.time;
    points.push({ measurement, tags, fields, timeMs: Number.isFinite(t) ? t : r.time });
  }
  const best = r.gateways.reduce<{ rssi: number; snr: number } | undefined>(
    (acc, g) => (acc === undefined ? { rssi: g.rssi, snr: g.snr } : { rssi: Math.max(acc.rssi, g.rssi), snr: Math.max(acc.snr, g.snr) }),
    undefined,
  );
  const radio: Record<string, FieldValue> = {
    gateway_count: integer(r.gateways.length),
    fcnt: integer(r.fCnt),
    fport: integer(r.fPort),
    dr: integer(r.dr),
    payload_bytes: integer(r.payload.length),
    decode_errors: integer(r.decoded?.errors.length ?? 0),
  };
  if (best) {
    radio['rssi'] = integer(Math.round(best.rssi));
    radio['snr'] = best.snr;
  }
  if (r.sf !== undefined) radio['sf'] = integer(r.sf);
  if (r.frequency !== undefined) radio['frequency'] = integer(r.frequency);
  points.push({ measurement: 'lorawan_uplink', tags, fields: radio, timeMs: r.time });
  return points;
}

export function nativePoints(r: PipelineRecord): Point[] {
  switch (r.kind) {
    case 'up':
      return uplinkPoints(r);
    case 'join':
      return [{ measurement: 'device_status', tags: deviceTags(r.devEui, r.device), fields: { joined: true, dev_addr: r.devAddr }, timeMs: r.time }];
    case 'status': {
      const fields: Record<string, FieldValue> = { margin_db: integer(r.margin), external_power: r.externalPower };
      if (!r.batteryUnavailable && !r.externalPower) fields['battery_pct'] = r.batteryPct;
      return [{ measurement: 'device_status', tags: deviceTags(r.devEui, r.device), fields, timeMs: r.time }];
    }
  }
}
