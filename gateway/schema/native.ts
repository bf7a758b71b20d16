/**
 * The native InfluxDB schema: one measurement per category from the normalized readings,
 * `lorawan_uplink` for radio metadata and `device_status` for battery/margin/join events.
 *
 * | measurement | tags | fields | time |
 * |---|---|---|---|
 * | `bin_fill`, `water_meter`, `air_quality`, `sensor` (generic) | `dev_eui`, `device`, `model` + installation tags | the readings (`fill_pct`, `volume_m3`, `co2_ppm`, …) | the reading's own time, else the uplink's |
 * | `lorawan_uplink` | same | `rssi` (int, best gateway), `snr` (best), `gateway_count`, `sf`, `frequency`, `dr`, `fcnt`, `fport`, `payload_bytes`, `decode_errors` | uplink time |
 * | `device_status` | same | `battery_pct`, `margin_db`, `external_power` / `joined` + `dev_addr` | event time |
 * | `gateway_status` | `gateway_id` | `rx`, `rxok`, `rxfw`, `dwnb`, `txnb` (int), `ackr` (%), `lat`, `lon`, `alt` (when the stat has them) | the stat's time |
 *
 * Every point carries the uplink's own timestamp (ms), so writing the same record twice
 * overwrites instead of duplicating; hourly history readings repeated in the next uplink land
 * on the same timestamps and overwrite too.
 */
import {
  addLine,
  addPoint,
  fieldKeyText,
  fieldValueText,
  integer,
  integerFieldText,
  linePrefix,
  lineTimeText,
  newEncodeCounters,
  type EncodeCounters,
  type FieldValue,
  type LineBatch,
  type Point,
  type Tags,
} from '../sinks/influxdb/line-protocol.ts';
import type { Reading } from '../../codecs/api.ts';
import type { DeviceSnapshot, GatewayStatusRecord, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
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

// Best gateway: the highest RSSI and the highest SNR (not necessarily the same gateway).
// Module-level results instead of an object per uplink.
let bestRssi = 0;
let bestSnr = 0;

function findBestGateway(gateways: UplinkRecord['gateways']): void {
  let rssi = 0;
  let snr = 0;
  for (let i = 0; i < gateways.length; i++) {
    const g = gateways[i] as UplinkRecord['gateways'][number];
    rssi = i === 0 ? g.rssi : Math.max(rssi, g.rssi);
    snr = i === 0 ? g.snr : Math.max(snr, g.snr);
  }
  bestRssi = rssi;
  bestSnr = snr;
}

function radioPoint(r: UplinkRecord, tags: Tags): Point {
  const { decoded, gateways, sf, frequency } = r;
  findBestGateway(gateways);
  const heard = gateways.length > 0;
  // One literal (one shape) in the order the fields are written; undefined fields are left out.
  const radio: Record<string, FieldValue | undefined> = {
    gateway_count: integer(gateways.length),
    fcnt: integer(r.fCnt),
    fport: integer(r.fPort),
    dr: integer(r.dr),
    payload_bytes: integer(r.payload.length),
    decode_errors: integer(decoded?.errors.length ?? 0),
    rssi: heard ? integer(Math.round(bestRssi)) : undefined,
    snr: heard ? bestSnr : undefined,
    sf: sf === undefined ? undefined : integer(sf),
    frequency: frequency === undefined ? undefined : integer(frequency),
  };
  return { measurement: 'lorawan_uplink', tags, fields: radio, timeMs: r.time };
}

function uplinkPoints(r: UplinkRecord): Point[] {
  const { devEui, device, decoded, time } = r;
  const tags = sharedDeviceTags(devEui, device);
  const radio = radioPoint(r, tags);

  // The reading points come first. Most uplinks carry one reading: the array is then made at
  // its final size, as an array grown by push() keeps room for 17 and a batch holds thousands.
  const readings = decoded?.readings ?? [];
  const measurement = CATEGORY_MEASUREMENT[device.category ?? 'generic'] ?? 'sensor';
  if (readings.length === 1) {
    const p = readingPoint(readings[0] as Reading, measurement, tags, time);
    return p === undefined ? [radio] : [p, radio];
  }
  const points: Point[] = [];
  for (const reading of readings) {
    const p = readingPoint(reading, measurement, tags, time);
    if (p !== undefined) points.push(p);
  }
  points.push(radio);
  return points;
}

/** A gateway's Semtech UDP `stat` (both schemas write it: ChirpStack's own has no gateway measurement). */
export function gatewayStatusPoints(r: GatewayStatusRecord): Point[] {
  const fields: Record<string, FieldValue> = {};
  const ints = [['rx', r.rxnb], ['rxok', r.rxok], ['rxfw', r.rxfw], ['dwnb', r.dwnb], ['txnb', r.txnb]] as const;
  for (const [k, v] of ints) if (v !== undefined) fields[k] = integer(v);
  const floats = [['ackr', r.ackr], ['lat', r.lat], ['lon', r.lon], ['alt', r.alt]] as const;
  for (const [k, v] of floats) if (v !== undefined) fields[k] = v;
  return Object.keys(fields).length ? [{ measurement: 'gateway_status', tags: { gateway_id: r.gatewayId }, fields, timeMs: r.time }] : [];
}

export function nativePoints(r: PipelineRecord): Point[] {
  switch (r.kind) {
    case 'gateway':
      return gatewayStatusPoints(r);
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

// ---------------------------------------------------------------------------------------------
// The same lines without Point objects (`nativeLines`): what a drain into InfluxDB uses. Each
// line is built from line-protocol.ts's pieces; whatever they cannot write directly (a name to
// escape, NaN, an integer out of range, a time out of range) goes through the Point path for
// that point, so the lines are byte for byte those of `encodePoints(nativePoints(r))`.

function pointTime(reading: Reading, time: number): number {
  const t = reading.time ? Date.parse(reading.time) : time;
  return Number.isFinite(t) ? t : time;
}

/** The fields of a reading as written, or undefined when one needs the Point path (or none is writable). */
function readingFieldsText(values: Readonly<Record<string, unknown>>, counters: EncodeCounters): string | undefined {
  let text = '';
  for (const k in values) {
    if (!Object.prototype.hasOwnProperty.call(values, k)) continue;
    const value = values[k] as FieldValue | null | undefined;
    if (value === undefined || value === null) continue;
    const key = fieldKeyText(k, text === '');
    const v = key === undefined ? undefined : fieldValueText(value, counters);
    if (v === undefined) return undefined;
    text += (key as string) + v;
  }
  return text === '' ? undefined : text;
}

function addReadingLine(batch: LineBatch, reading: Reading, measurement: string, tags: Tags, time: number): void {
  if (!hasValues(reading.values)) return;
  const t = pointTime(reading, time);
  const prefix = linePrefix(measurement, tags);
  scratch.altered = 0;
  const fields = prefix === undefined ? undefined : readingFieldsText(reading.values, scratch);
  const timeText = fields === undefined ? undefined : lineTimeText(t);
  if (timeText === undefined) {
    addPoint(batch, { measurement, tags, fields: reading.values, timeMs: t });
    return;
  }
  batch.counters.altered += scratch.altered; // string values changed to stay writable
  addLine(batch, tags, (prefix as string) + (fields as string) + timeText);
}

// What building a line counted, added to the batch only if the line is kept (a point that falls
// back to addPoint is counted there).
const scratch: EncodeCounters = newEncodeCounters();

// The radio fields' keys as written (first one without the comma).
const K_GATEWAY_COUNT = fieldKeyText('gateway_count', true) as string;
const K_FCNT = fieldKeyText('fcnt', false) as string;
const K_FPORT = fieldKeyText('fport', false) as string;
const K_DR = fieldKeyText('dr', false) as string;
const K_PAYLOAD_BYTES = fieldKeyText('payload_bytes', false) as string;
const K_DECODE_ERRORS = fieldKeyText('decode_errors', false) as string;
const K_RSSI = fieldKeyText('rssi', false) as string;
const K_SNR = fieldKeyText('snr', false) as string;
const K_SF = fieldKeyText('sf', false) as string;
const K_FREQUENCY = fieldKeyText('frequency', false) as string;

/** The `lorawan_uplink` line's fields (see `radioPoint`), or undefined when one needs the Point path. */
function radioFieldsText(r: UplinkRecord): string | undefined {
  const { decoded, gateways, sf, frequency } = r;
  const count = integerFieldText(gateways.length);
  const fCnt = integerFieldText(r.fCnt);
  const fPort = integerFieldText(r.fPort);
  const dr = integerFieldText(r.dr);
  const bytes = integerFieldText(r.payload.length);
  const errors = integerFieldText(decoded?.errors.length ?? 0);
  if (count === undefined || fCnt === undefined || fPort === undefined || dr === undefined || bytes === undefined || errors === undefined) return undefined;
  let text = K_GATEWAY_COUNT + count + K_FCNT + fCnt + K_FPORT + fPort + K_DR + dr + K_PAYLOAD_BYTES + bytes + K_DECODE_ERRORS + errors;
  if (gateways.length > 0) {
    findBestGateway(gateways);
    const rssi = integerFieldText(Math.round(bestRssi));
    const snr = fieldValueText(bestSnr, scratch);
    if (rssi === undefined || snr === undefined) return undefined;
    text += K_RSSI + rssi + K_SNR + snr;
  }
  if (sf !== undefined) {
    const v = integerFieldText(sf);
    if (v === undefined) return undefined;
    text += K_SF + v;
  }
  if (frequency !== undefined) {
    const v = integerFieldText(frequency);
    if (v === undefined) return undefined;
    text += K_FREQUENCY + v;
  }
  return text;
}

function addUplinkLines(batch: LineBatch, r: UplinkRecord): void {
  const { devEui, device, decoded, time } = r;
  const tags = sharedDeviceTags(devEui, device);
  const readings = decoded?.readings ?? [];
  const measurement = CATEGORY_MEASUREMENT[device.category ?? 'generic'] ?? 'sensor';
  for (let i = 0; i < readings.length; i++) addReadingLine(batch, readings[i] as Reading, measurement, tags, time);
  const prefix = linePrefix('lorawan_uplink', tags);
  const fields = prefix === undefined ? undefined : radioFieldsText(r);
  const timeText = fields === undefined ? undefined : lineTimeText(time);
  if (timeText === undefined) addPoint(batch, radioPoint(r, tags));
  else addLine(batch, tags, (prefix as string) + (fields as string) + timeText);
}

/**
 * The lines of `nativePoints(r)` added to `batch`, as `encodePoints` would write them, without
 * making the points (see above).
 */
export function nativeLines(r: PipelineRecord, batch: LineBatch): void {
  if (r.kind === 'up') addUplinkLines(batch, r);
  else for (const p of nativePoints(r)) addPoint(batch, p);
}
