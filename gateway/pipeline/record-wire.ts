/**
 * How a pipeline record is laid out inside its durable-log frame: a CBOR array with the fields
 * in a fixed order (record format 2), instead of a CBOR map with the field names (format 1).
 *
 * Why: every record is encoded once at ingest and decoded again by every sink that reads it
 * from disk. With names, 40 % of a record's bytes were keys and cbor-x spent most of its time
 * writing and reading them (measured by bench/gateway/hot-path.ts: encode 10.7 → 6.3 µs, decode
 * 6.5 → 3.2 µs, 780 → 572 bytes per uplink record). Arrays are plain CBOR, so any CBOR tool can
 * still read a segment; the positions are listed here and nowhere else.
 *
 *   up:     [2, "up", src, id, time, rxAt, devEui, devAddr, fCnt, fPort, dr, adr, confirmed,
 *            payload, gateways, frequency, sf, bw, region, device, csObject, decoded]
 *           gateways = [id, rssi, snr, id, rssi, snr, …] (flat)
 *   join:   [2, "join", src, id, time, rxAt, devEui, devAddr, device]
 *   status: [2, "status", src, id, time, rxAt, devEui, device, margin, externalPower,
 *            batteryUnavailable, batteryPct]
 *   gateway: [2, "gateway", src, id, time, rxAt, gatewayId, rxnb, rxok, rxfw, ackr, dwnb, txnb,
 *            lat, lon, alt]
 *   device  = [name, model, category, tags]
 *   decoded = [model, by, readings, warnings, errors, data]
 * An absent optional value is CBOR null. Readings, tags, `data` and `csObject` stay maps: their
 * keys are data, not schema.
 *
 * Format 1 records (maps with `v: 1`, written before this change) are still read as they are,
 * so a log written by an older gateway drains after an upgrade.
 */
import type { JsonObject, Reading } from '../../codecs/api.ts';
import type { CborOut } from '../buffer/cbor-writer.ts';
import { RECORD_VERSION, type DecodedPart, type DeviceSnapshot, type GatewayRx, type GatewayStatusRecord, type PipelineRecord, type UplinkRecord } from './record.ts';

export const WIRE_FORMAT = 2;

type Wire = unknown[];

function deviceToWire(d: DeviceSnapshot): Wire {
  return [d.name, d.model ?? null, d.category ?? null, d.tags];
}

function decodedToWire(d: DecodedPart): Wire {
  return [d.model, d.by, d.readings, d.warnings, d.errors, d.data ?? null];
}

/** The record as the array that is CBOR-encoded into the log. */
export function recordToWire(r: PipelineRecord): Wire {
  switch (r.kind) {
    case 'up': {
      const gws: unknown[] = [];
      for (const g of r.gateways) gws.push(g.id, g.rssi, g.snr);
      return [
        WIRE_FORMAT, 'up', r.src, r.id, r.time, r.rxAt, r.devEui, r.devAddr, r.fCnt, r.fPort, r.dr, r.adr, r.confirmed,
        r.payload, gws, r.frequency ?? null, r.sf ?? null, r.bw ?? null, r.region ?? null, deviceToWire(r.device),
        r.csObject ?? null, r.decoded ? decodedToWire(r.decoded) : null,
      ];
    }
    case 'join':
      return [WIRE_FORMAT, 'join', r.src, r.id, r.time, r.rxAt, r.devEui, r.devAddr, deviceToWire(r.device)];
    case 'status':
      return [
        WIRE_FORMAT, 'status', r.src, r.id, r.time, r.rxAt, r.devEui, deviceToWire(r.device), r.margin, r.externalPower,
        r.batteryUnavailable, r.batteryPct,
      ];
    case 'gateway':
      return [
        WIRE_FORMAT, 'gateway', r.src, r.id, r.time, r.rxAt, r.gatewayId, r.rxnb ?? null, r.rxok ?? null, r.rxfw ?? null,
        r.ackr ?? null, r.dwnb ?? null, r.txnb ?? null, r.lat ?? null, r.lon ?? null, r.alt ?? null,
      ];
  }
}

/**
 * The record's CBOR written straight to the log's writer: the same bytes as encoding
 * recordToWire(r), without building the positional arrays (~0.6 KB per uplink record, ~4 % of
 * what an uplink allocated at 10,000/s; bench/RESULTS.md, session 8 ns-alloc). Other kinds go
 * through recordToWire.
 */
export function writeRecord(r: PipelineRecord, o: CborOut): void {
  if (r.kind !== 'up') return o.value(recordToWire(r), 0);
  o.array(22, 0);
  o.num(WIRE_FORMAT);
  o.str('up');
  o.value(r.src, 1);
  o.value(r.id, 1);
  o.value(r.time, 1);
  o.value(r.rxAt, 1);
  o.value(r.devEui, 1);
  o.value(r.devAddr, 1);
  o.value(r.fCnt, 1);
  o.value(r.fPort, 1);
  o.value(r.dr, 1);
  o.value(r.adr, 1);
  o.value(r.confirmed, 1);
  o.value(r.payload, 1);
  o.array(r.gateways.length * 3, 1);
  for (const g of r.gateways) {
    o.value(g.id, 2);
    o.value(g.rssi, 2);
    o.value(g.snr, 2);
  }
  o.value(r.frequency ?? null, 1);
  o.value(r.sf ?? null, 1);
  o.value(r.bw ?? null, 1);
  o.value(r.region ?? null, 1);
  const d = r.device;
  o.array(4, 1);
  o.value(d.name, 2);
  o.value(d.model ?? null, 2);
  o.value(d.category ?? null, 2);
  o.value(d.tags, 2);
  o.value(r.csObject ?? null, 1);
  const x = r.decoded;
  if (!x) return o.nil();
  o.array(6, 1);
  o.value(x.model, 2);
  o.value(x.by, 2);
  o.value(x.readings, 2);
  o.value(x.warnings, 2);
  o.value(x.errors, 2);
  o.value(x.data ?? null, 2);
}

export class WireFormatError extends Error {}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string') throw new WireFormatError(`${what}: expected a string`);
  return v;
};
const num = (v: unknown, what: string): number => {
  if (typeof v !== 'number') throw new WireFormatError(`${what}: expected a number`);
  return v;
};
const bool = (v: unknown, what: string): boolean => {
  if (typeof v !== 'boolean') throw new WireFormatError(`${what}: expected a boolean`);
  return v;
};
const arr = (v: unknown, what: string): unknown[] => {
  if (!Array.isArray(v)) throw new WireFormatError(`${what}: expected an array`);
  return v;
};
const obj = <T>(v: unknown, what: string): T => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WireFormatError(`${what}: expected a map`);
  return v as T;
};

function deviceFromWire(v: unknown): DeviceSnapshot {
  const a = arr(v, 'device');
  const d: DeviceSnapshot = { name: str(a[0], 'device.name'), tags: obj<Record<string, string>>(a[3], 'device.tags') };
  if (a[1] !== null && a[1] !== undefined) d.model = str(a[1], 'device.model');
  if (a[2] !== null && a[2] !== undefined) d.category = str(a[2], 'device.category');
  return d;
}

function decodedFromWire(v: unknown): DecodedPart {
  const a = arr(v, 'decoded');
  const by = a[1];
  if (by !== 'codec' && by !== 'chirpstack') throw new WireFormatError('decoded.by: expected "codec" or "chirpstack"');
  const d: DecodedPart = {
    model: str(a[0], 'decoded.model'),
    by,
    readings: arr(a[2], 'decoded.readings') as Reading[],
    warnings: arr(a[3], 'decoded.warnings') as string[],
    errors: arr(a[4], 'decoded.errors') as string[],
  };
  if (a[5] !== null && a[5] !== undefined) d.data = obj<JsonObject>(a[5], 'decoded.data');
  return d;
}

/**
 * The record from what the log decoded: a format-2 array, or a format-1 map as written by
 * earlier versions. Throws WireFormatError on anything else (the log counts it as damaged).
 */
export function recordFromWire(v: unknown): PipelineRecord {
  if (!Array.isArray(v)) {
    const old = obj<{ v?: unknown; kind?: unknown }>(v, 'record');
    if (old.v === 1 && (old.kind === 'up' || old.kind === 'join' || old.kind === 'status')) return old as PipelineRecord;
    throw new WireFormatError('record: neither a format-2 array nor a format-1 map');
  }
  if (v[0] !== WIRE_FORMAT) throw new WireFormatError(`record format ${String(v[0])} is not supported (this version reads 1 and 2)`);
  // Object literals with every field in one place (no spreads): V8 then builds each record
  // with one stable shape, which is what made this path fast.
  const src = str(v[2], 'src');
  const id = str(v[3], 'id');
  const time = num(v[4], 'time');
  const rxAt = num(v[5], 'rxAt');
  const devEui = str(v[6], 'devEui');
  switch (v[1]) {
    case 'up': {
      const flat = arr(v[14], 'gateways');
      const gateways: GatewayRx[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) gateways.push({ id: str(flat[i], 'gateway.id'), rssi: num(flat[i + 1], 'gateway.rssi'), snr: num(flat[i + 2], 'gateway.snr') });
      const payload = v[13];
      if (!(payload instanceof Uint8Array)) throw new WireFormatError('payload: expected bytes');
      const r: UplinkRecord = {
        v: RECORD_VERSION,
        kind: 'up',
        src,
        id,
        time,
        rxAt,
        devEui,
        devAddr: str(v[7], 'devAddr'),
        fCnt: num(v[8], 'fCnt'),
        fPort: num(v[9], 'fPort'),
        dr: num(v[10], 'dr'),
        adr: bool(v[11], 'adr'),
        confirmed: bool(v[12], 'confirmed'),
        payload,
        gateways,
        device: deviceFromWire(v[19]),
      };
      if (v[15] !== null) r.frequency = num(v[15], 'frequency');
      if (v[16] !== null) r.sf = num(v[16], 'sf');
      if (v[17] !== null) r.bw = num(v[17], 'bw');
      if (v[18] !== null) r.region = str(v[18], 'region');
      if (v[20] !== null) r.csObject = obj<JsonObject>(v[20], 'csObject');
      if (v[21] !== null) r.decoded = decodedFromWire(v[21]);
      return r;
    }
    case 'join':
      return { v: RECORD_VERSION, kind: 'join', src, id, time, rxAt, devEui, devAddr: str(v[7], 'devAddr'), device: deviceFromWire(v[8]) };
    case 'status':
      return {
        v: RECORD_VERSION,
        kind: 'status',
        src,
        id,
        time,
        rxAt,
        devEui,
        device: deviceFromWire(v[7]),
        margin: num(v[8], 'margin'),
        externalPower: bool(v[9], 'externalPower'),
        batteryUnavailable: bool(v[10], 'batteryUnavailable'),
        batteryPct: num(v[11], 'batteryPct'),
      };
    case 'gateway': {
      const r: GatewayStatusRecord = { v: RECORD_VERSION, kind: 'gateway', src, id, time, rxAt, gatewayId: devEui };
      const fields = ['rxnb', 'rxok', 'rxfw', 'ackr', 'dwnb', 'txnb', 'lat', 'lon', 'alt'] as const;
      for (const [i, k] of fields.entries()) if (v[7 + i] !== null && v[7 + i] !== undefined) r[k] = num(v[7 + i], k);
      return r;
    }
    default:
      throw new WireFormatError(`record kind ${JSON.stringify(v[1])} is unknown`);
  }
}

/** The durable log's wire codec for pipeline records. */
export const RECORD_WIRE = { encode: recordToWire, decode: recordFromWire, write: writeRecord } as const;
