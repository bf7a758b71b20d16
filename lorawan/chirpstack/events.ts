/**
 * ChirpStack v4 application-integration events (`up`, `join`, `status`) in one internal shape,
 * with both wire encodings ChirpStack's MQTT integration publishes:
 *
 * - JSON exactly as ChirpStack renders it (chirpstack-integration.md §2.3): lowerCamelCase,
 *   `integration.*` fields always present (even at defaults), `gw.*` fields only when non-zero,
 *   bytes as padded base64, timestamps RFC 3339 with `+00:00`, enums by name;
 * - protobuf (`integration.UplinkEvent` etc. from @chirpstack/chirpstack-api).
 *
 * Parsing is tolerant, as a subscriber must be: `object` optional, numbers may be floats,
 * unknown fields ignored, `regionConfigId` or the legacy `rxInfo[].metadata.region_config_id`.
 * Parsers never throw: they return `{ok: false, error}` naming what is wrong.
 *
 * This lives beside the MAC layer because both the simulator (producer) and the gateway
 * (consumer) need it and neither may import the other.
 */
import { createRequire } from 'node:module';
import type * as IntegrationPb from '@chirpstack/chirpstack-api/integration/integration_pb.js';
import type * as GwPb from '@chirpstack/chirpstack-api/gw/gw_pb.js';
import type * as CommonPb from '@chirpstack/chirpstack-api/common/common_pb.js';
import type * as TimestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import type * as StructPb from 'google-protobuf/google/protobuf/struct_pb.js';
import { guardProtobufLengths } from './pb-bounds.ts';

// The generated protobuf modules are CommonJS; loaded once, at the first protobuf encode or
// decode: a gateway that only speaks JSON (or only Semtech UDP) never loads them (with
// google-protobuf they were ~4 MB of heap and ~10 MB of RSS, bench/RESULTS.md "ns-heap").
const require = createRequire(import.meta.url);
interface ProtobufModules {
  integration: typeof IntegrationPb;
  gw: typeof GwPb;
  common: typeof CommonPb;
  timestampPb: typeof TimestampPb;
  structPb: typeof StructPb;
}
let protobufModules: ProtobufModules | undefined;
function pb(): ProtobufModules {
  if (protobufModules) return protobufModules;
  // A declared length past the end of the bytes is refused at once, not walked (pb-bounds.ts).
  guardProtobufLengths();
  protobufModules = {
    integration: require('@chirpstack/chirpstack-api/integration/integration_pb.js') as typeof IntegrationPb,
    gw: require('@chirpstack/chirpstack-api/gw/gw_pb.js') as typeof GwPb,
    common: require('@chirpstack/chirpstack-api/common/common_pb.js') as typeof CommonPb,
    timestampPb: require('google-protobuf/google/protobuf/timestamp_pb.js') as typeof TimestampPb,
    structPb: require('google-protobuf/google/protobuf/struct_pb.js') as typeof StructPb,
  };
  return protobufModules;
}

export interface DeviceInfo {
  tenantId: string;
  tenantName: string;
  applicationId: string;
  applicationName: string;
  deviceProfileId: string;
  deviceProfileName: string;
  deviceName: string;
  devEui: string;
  deviceClassEnabled: 'CLASS_A' | 'CLASS_B' | 'CLASS_C';
  tags: Record<string, string>;
}

export interface RxInfo {
  gatewayId: string;
  uplinkId: number;
  /** ms since epoch */
  gwTime?: number;
  nsTime?: number;
  rssi: number;
  snr: number;
  channel: number;
  rfChain: number;
  location?: { latitude: number; longitude: number; altitude: number };
  /** Opaque; for Semtech UDP gateways the 4-byte big-endian tmst. */
  context?: Uint8Array;
  crcStatus?: 'CRC_OK' | 'BAD_CRC';
  metadata?: Record<string, string>;
}

export interface TxInfo {
  frequency: number;
  bandwidth: number;
  spreadingFactor: number;
  codeRate: string;
}

export interface UplinkEvent {
  kind: 'up';
  deduplicationId: string;
  /** ms since epoch */
  time: number;
  deviceInfo: DeviceInfo;
  devAddr: string;
  adr: boolean;
  dr: number;
  fCnt: number;
  fPort: number;
  confirmed: boolean;
  data: Uint8Array;
  /** ChirpStack's own codec output, when it decoded the payload. */
  object?: Record<string, unknown>;
  rxInfo: RxInfo[];
  txInfo?: TxInfo;
  regionConfigId?: string;
}

export interface JoinEvent {
  kind: 'join';
  deduplicationId: string;
  time: number;
  deviceInfo: DeviceInfo;
  devAddr: string;
  regionConfigId?: string;
}

export interface StatusEvent {
  kind: 'status';
  deduplicationId: string;
  time: number;
  deviceInfo: DeviceInfo;
  margin: number;
  externalPowerSource: boolean;
  batteryLevelUnavailable: boolean;
  batteryLevel: number;
}

export type IntegrationEvent = UplinkEvent | JoinEvent | StatusEvent;
export type EventKind = IntegrationEvent['kind'];

export type ParseResult = { ok: true; event: IntegrationEvent } | { ok: false; error: string };

// ---------------------------------------------------------------------------------------------
// Timestamps

/** RFC 3339 with ChirpStack's `+00:00` offset and 0/3/6 fractional digits. */
export function rfc3339(ms: number, extraNanos = 0): string {
  const iso = new Date(ms).toISOString(); // 2026-07-20T09:14:03.512Z
  const base = iso.slice(0, 19);
  const nanos = (ms % 1000) * 1_000_000 + extraNanos;
  if (nanos === 0) return `${base}+00:00`;
  const frac = String(nanos).padStart(9, '0').replace(/(000)+$/, '');
  return `${base}.${frac}+00:00`;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? undefined : ms;
}

// ---------------------------------------------------------------------------------------------
// JSON encoding (what ChirpStack publishes)

/** `deviceInfo` as ChirpStack renders it in JSON events (field order included). */
export function deviceInfoJson(d: DeviceInfo): Record<string, unknown> {
  return {
    tenantId: d.tenantId,
    tenantName: d.tenantName,
    applicationId: d.applicationId,
    applicationName: d.applicationName,
    deviceProfileId: d.deviceProfileId,
    deviceProfileName: d.deviceProfileName,
    deviceName: d.deviceName,
    devEui: d.devEui,
    deviceClassEnabled: d.deviceClassEnabled,
    tags: d.tags,
  };
}

function rxInfoJson(r: RxInfo): Record<string, unknown> {
  // gw.* messages omit zero values.
  const o: Record<string, unknown> = { gatewayId: r.gatewayId };
  if (r.uplinkId) o['uplinkId'] = r.uplinkId;
  if (r.gwTime !== undefined) o['gwTime'] = rfc3339(r.gwTime);
  if (r.nsTime !== undefined) o['nsTime'] = rfc3339(r.nsTime);
  if (r.rssi) o['rssi'] = r.rssi;
  if (r.snr) o['snr'] = r.snr;
  if (r.channel) o['channel'] = r.channel;
  if (r.rfChain) o['rfChain'] = r.rfChain;
  if (r.location) o['location'] = { latitude: r.location.latitude, longitude: r.location.longitude, altitude: r.location.altitude };
  if (r.context && r.context.length) o['context'] = Buffer.from(r.context).toString('base64');
  if (r.metadata && Object.keys(r.metadata).length) o['metadata'] = r.metadata;
  if (r.crcStatus) o['crcStatus'] = r.crcStatus;
  return o;
}

export function eventToJson(e: IntegrationEvent): string {
  const base = { deduplicationId: e.deduplicationId, time: rfc3339(e.time), deviceInfo: deviceInfoJson(e.deviceInfo) };
  switch (e.kind) {
    case 'up': {
      const o: Record<string, unknown> = {
        ...base,
        devAddr: e.devAddr,
        adr: e.adr,
        dr: e.dr,
        fCnt: e.fCnt,
        fPort: e.fPort,
        confirmed: e.confirmed,
        data: Buffer.from(e.data).toString('base64'),
      };
      if (e.object) o['object'] = e.object;
      o['rxInfo'] = e.rxInfo.map(rxInfoJson);
      if (e.txInfo) {
        o['txInfo'] = {
          frequency: e.txInfo.frequency,
          modulation: { lora: { bandwidth: e.txInfo.bandwidth, spreadingFactor: e.txInfo.spreadingFactor, codeRate: e.txInfo.codeRate } },
        };
      }
      if (e.regionConfigId) o['regionConfigId'] = e.regionConfigId;
      return JSON.stringify(o);
    }
    case 'join':
      return JSON.stringify({ ...base, devAddr: e.devAddr, ...(e.regionConfigId ? { regionConfigId: e.regionConfigId } : {}) });
    case 'status':
      return JSON.stringify({
        ...base,
        margin: e.margin,
        externalPowerSource: e.externalPowerSource,
        batteryLevelUnavailable: e.batteryLevelUnavailable,
        batteryLevel: e.batteryLevel,
      });
  }
}

// ---------------------------------------------------------------------------------------------
// JSON parsing (tolerant)

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : d);
const bool = (v: unknown): boolean => v === true;

function parseDeviceInfo(v: unknown): DeviceInfo | string {
  if (!isObj(v)) return 'deviceInfo is missing';
  const devEui = str(v['devEui']).toLowerCase();
  if (!/^[0-9a-f]{16}$/.test(devEui)) return `deviceInfo.devEui is not a 16-hex-digit EUI: ${JSON.stringify(v['devEui'])}`;
  const tags: Record<string, string> = {};
  if (isObj(v['tags'])) for (const [k, t] of Object.entries(v['tags'])) if (typeof t === 'string') tags[k] = t;
  const cls = str(v['deviceClassEnabled'], 'CLASS_A');
  return {
    tenantId: str(v['tenantId']),
    tenantName: str(v['tenantName']),
    applicationId: str(v['applicationId']),
    applicationName: str(v['applicationName']),
    deviceProfileId: str(v['deviceProfileId']),
    deviceProfileName: str(v['deviceProfileName']),
    deviceName: str(v['deviceName']),
    devEui,
    deviceClassEnabled: cls === 'CLASS_B' || cls === 'CLASS_C' ? cls : 'CLASS_A',
    tags,
  };
}

function base64Bytes(v: unknown, field: string): Uint8Array | string {
  if (v === undefined || v === null || v === '') return new Uint8Array(0);
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 === 1) return `${field} is not base64`;
  return new Uint8Array(Buffer.from(v, 'base64'));
}

function parseRxInfo(v: unknown): RxInfo | undefined {
  if (!isObj(v)) return undefined;
  const r: RxInfo = {
    gatewayId: str(v['gatewayId']).toLowerCase(),
    uplinkId: num(v['uplinkId']),
    rssi: num(v['rssi']),
    snr: num(v['snr'], num(v['loRaSNR'])),
    channel: num(v['channel']),
    rfChain: num(v['rfChain']),
  };
  const gwTime = parseTime(v['gwTime'] ?? v['time']);
  if (gwTime !== undefined) r.gwTime = gwTime;
  const nsTime = parseTime(v['nsTime']);
  if (nsTime !== undefined) r.nsTime = nsTime;
  if (isObj(v['location']) && typeof v['location']['latitude'] === 'number') {
    r.location = { latitude: num(v['location']['latitude']), longitude: num(v['location']['longitude']), altitude: num(v['location']['altitude']) };
  }
  const ctx = base64Bytes(v['context'], 'context');
  if (typeof ctx !== 'string' && ctx.length) r.context = ctx;
  if (v['crcStatus'] === 'CRC_OK' || v['crcStatus'] === 'BAD_CRC') r.crcStatus = v['crcStatus'];
  if (isObj(v['metadata'])) {
    const m: Record<string, string> = {};
    for (const [k, t] of Object.entries(v['metadata'])) if (typeof t === 'string') m[k] = t;
    r.metadata = m;
  }
  return r;
}

/** Parses a ChirpStack JSON event of the given kind (the topic's last level). */
export function parseEventJson(kind: string, text: string | Uint8Array): ParseResult {
  let doc: unknown;
  try {
    // A view, not a copy: this runs for every MQTT message.
    const t = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
    // A UTF-8 byte-order mark (some publishers write one) is not part of the JSON text (RFC 8259 §8.1).
    doc = JSON.parse(t.charCodeAt(0) === 0xfeff ? t.slice(1) : t);
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
  }
  if (!isObj(doc)) return { ok: false, error: 'event is not a JSON object' };
  const deviceInfo = parseDeviceInfo(doc['deviceInfo']);
  if (typeof deviceInfo === 'string') return { ok: false, error: deviceInfo };
  const time = parseTime(doc['time']);
  if (time === undefined) return { ok: false, error: `time is missing or not RFC 3339: ${JSON.stringify(doc['time'])}` };
  const deduplicationId = str(doc['deduplicationId']);
  switch (kind) {
    case 'up': {
      const data = base64Bytes(doc['data'], 'data');
      if (typeof data === 'string') return { ok: false, error: data };
      const fPort = num(doc['fPort']);
      const fCnt = num(doc['fCnt'], Number.NaN);
      if (!Number.isInteger(fPort) || fPort < 0 || fPort > 255) return { ok: false, error: `fPort is not 0..255: ${JSON.stringify(doc['fPort'])}` };
      if (!Number.isInteger(fCnt) || fCnt < 0) return { ok: false, error: `fCnt is missing or not a counter: ${JSON.stringify(doc['fCnt'])}` };
      const rxInfo = Array.isArray(doc['rxInfo']) ? doc['rxInfo'].map(parseRxInfo).filter((r): r is RxInfo => r !== undefined) : [];
      const ev: UplinkEvent = {
        kind: 'up',
        deduplicationId,
        time,
        deviceInfo,
        devAddr: str(doc['devAddr']).toLowerCase(),
        adr: bool(doc['adr']),
        dr: num(doc['dr']),
        fCnt,
        fPort,
        confirmed: bool(doc['confirmed']),
        data,
        rxInfo,
      };
      if (isObj(doc['object'])) ev.object = doc['object'];
      const tx = doc['txInfo'];
      if (isObj(tx)) {
        const lora = isObj(tx['modulation']) && isObj(tx['modulation']['lora']) ? tx['modulation']['lora'] : {};
        ev.txInfo = { frequency: num(tx['frequency']), bandwidth: num(lora['bandwidth']), spreadingFactor: num(lora['spreadingFactor']), codeRate: str(lora['codeRate']) };
      }
      const region = str(doc['regionConfigId']) || rxInfo.map((r) => r.metadata?.['region_config_id'] ?? '').find((x) => x !== '') || '';
      if (region) ev.regionConfigId = region;
      return { ok: true, event: ev };
    }
    case 'join': {
      const ev: JoinEvent = { kind: 'join', deduplicationId, time, deviceInfo, devAddr: str(doc['devAddr']).toLowerCase() };
      if (str(doc['regionConfigId'])) ev.regionConfigId = str(doc['regionConfigId']);
      return { ok: true, event: ev };
    }
    case 'status':
      return {
        ok: true,
        event: {
          kind: 'status',
          deduplicationId,
          time,
          deviceInfo,
          margin: num(doc['margin']),
          externalPowerSource: bool(doc['externalPowerSource']),
          batteryLevelUnavailable: bool(doc['batteryLevelUnavailable']),
          batteryLevel: num(doc['batteryLevel']),
        },
      };
    default:
      return { ok: false, error: `unsupported event type "${kind}"` };
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf

const CODE_RATES = ['CR_UNDEFINED', 'CR_4_5', 'CR_4_6', 'CR_4_7', 'CR_4_8', 'CR_3_8', 'CR_2_6', 'CR_1_4', 'CR_1_6', 'CR_5_6', 'CR_LI_4_5', 'CR_LI_4_6', 'CR_LI_4_8'];
const CLASSES = ['CLASS_A', 'CLASS_B', 'CLASS_C'] as const;

function pbTime(ms: number): TimestampPb.Timestamp {
  const t = new (pb().timestampPb.Timestamp)();
  t.setSeconds(Math.floor(ms / 1000));
  t.setNanos((ms % 1000) * 1_000_000);
  return t;
}

function fromPbTime(t: TimestampPb.Timestamp | undefined): number | undefined {
  return t ? t.getSeconds() * 1000 + Math.floor(t.getNanos() / 1_000_000) : undefined;
}

function pbDeviceInfo(d: DeviceInfo): IntegrationPb.DeviceInfo {
  const p = new (pb().integration.DeviceInfo)();
  p.setTenantId(d.tenantId);
  p.setTenantName(d.tenantName);
  p.setApplicationId(d.applicationId);
  p.setApplicationName(d.applicationName);
  p.setDeviceProfileId(d.deviceProfileId);
  p.setDeviceProfileName(d.deviceProfileName);
  p.setDeviceName(d.deviceName);
  p.setDevEui(d.devEui);
  p.setDeviceClassEnabled(CLASSES.indexOf(d.deviceClassEnabled) as 0 | 1 | 2);
  const tags = p.getTagsMap();
  for (const [k, v] of Object.entries(d.tags)) tags.set(k, v);
  return p;
}

function fromPbDeviceInfo(p: IntegrationPb.DeviceInfo | undefined): DeviceInfo | string {
  if (!p) return 'deviceInfo is missing';
  const tags: Record<string, string> = {};
  p.getTagsMap().forEach((v: string, k: string) => {
    tags[k] = v;
  });
  const devEui = p.getDevEui().toLowerCase();
  if (!/^[0-9a-f]{16}$/.test(devEui)) return `deviceInfo.devEui is not a 16-hex-digit EUI: ${JSON.stringify(devEui)}`;
  return {
    tenantId: p.getTenantId(),
    tenantName: p.getTenantName(),
    applicationId: p.getApplicationId(),
    applicationName: p.getApplicationName(),
    deviceProfileId: p.getDeviceProfileId(),
    deviceProfileName: p.getDeviceProfileName(),
    deviceName: p.getDeviceName(),
    devEui,
    deviceClassEnabled: CLASSES[p.getDeviceClassEnabled()] ?? 'CLASS_A',
    tags,
  };
}

export function eventToProtobuf(e: IntegrationEvent): Uint8Array {
  switch (e.kind) {
    case 'up': {
      const m = new (pb().integration.UplinkEvent)();
      m.setDeduplicationId(e.deduplicationId);
      m.setTime(pbTime(e.time));
      m.setDeviceInfo(pbDeviceInfo(e.deviceInfo));
      m.setDevAddr(e.devAddr);
      m.setAdr(e.adr);
      m.setDr(e.dr);
      m.setFCnt(e.fCnt);
      m.setFPort(e.fPort);
      m.setConfirmed(e.confirmed);
      m.setData(e.data);
      if (e.object) m.setObject(pb().structPb.Struct.fromJavaScript(e.object as Record<string, StructPb.JavaScriptValue>));
      m.setRxInfoList(
        e.rxInfo.map((r) => {
          const p = new (pb().gw.UplinkRxInfo)();
          p.setGatewayId(r.gatewayId);
          p.setUplinkId(r.uplinkId);
          if (r.gwTime !== undefined) p.setGwTime(pbTime(r.gwTime));
          if (r.nsTime !== undefined) p.setNsTime(pbTime(r.nsTime));
          p.setRssi(r.rssi);
          p.setSnr(r.snr);
          p.setChannel(r.channel);
          p.setRfChain(r.rfChain);
          if (r.location) {
            const l = new (pb().common.Location)();
            l.setLatitude(r.location.latitude);
            l.setLongitude(r.location.longitude);
            l.setAltitude(r.location.altitude);
            p.setLocation(l);
          }
          if (r.context) p.setContext(r.context);
          if (r.crcStatus) p.setCrcStatus(r.crcStatus === 'CRC_OK' ? 2 : 1);
          for (const [k, v] of Object.entries(r.metadata ?? {})) p.getMetadataMap().set(k, v);
          return p;
        }),
      );
      if (e.txInfo) {
        const tx = new (pb().gw.UplinkTxInfo)();
        tx.setFrequency(e.txInfo.frequency);
        const mod = new (pb().gw.Modulation)();
        const lora = new (pb().gw.LoraModulationInfo)();
        lora.setBandwidth(e.txInfo.bandwidth);
        lora.setSpreadingFactor(e.txInfo.spreadingFactor);
        lora.setCodeRate(Math.max(0, CODE_RATES.indexOf(e.txInfo.codeRate)) as 0);
        mod.setLora(lora);
        tx.setModulation(mod);
        m.setTxInfo(tx);
      }
      if (e.regionConfigId) m.setRegionConfigId(e.regionConfigId);
      return m.serializeBinary();
    }
    case 'join': {
      const m = new (pb().integration.JoinEvent)();
      m.setDeduplicationId(e.deduplicationId);
      m.setTime(pbTime(e.time));
      m.setDeviceInfo(pbDeviceInfo(e.deviceInfo));
      m.setDevAddr(e.devAddr);
      if (e.regionConfigId) m.setRegionConfigId(e.regionConfigId);
      return m.serializeBinary();
    }
    case 'status': {
      const m = new (pb().integration.StatusEvent)();
      m.setDeduplicationId(e.deduplicationId);
      m.setTime(pbTime(e.time));
      m.setDeviceInfo(pbDeviceInfo(e.deviceInfo));
      m.setMargin(e.margin);
      m.setExternalPowerSource(e.externalPowerSource);
      m.setBatteryLevelUnavailable(e.batteryLevelUnavailable);
      m.setBatteryLevel(e.batteryLevel);
      return m.serializeBinary();
    }
  }
}

/** Parses a ChirpStack protobuf event of the given kind; never throws. */
export function parseEventProtobuf(kind: string, bytes: Uint8Array): ParseResult {
  try {
    switch (kind) {
      case 'up': {
        const m = pb().integration.UplinkEvent.deserializeBinary(bytes);
        const deviceInfo = fromPbDeviceInfo(m.getDeviceInfo());
        if (typeof deviceInfo === 'string') return { ok: false, error: deviceInfo };
        const time = fromPbTime(m.getTime());
        if (time === undefined) return { ok: false, error: 'time is missing' };
        const ev: UplinkEvent = {
          kind: 'up',
          deduplicationId: m.getDeduplicationId(),
          time,
          deviceInfo,
          devAddr: m.getDevAddr().toLowerCase(),
          adr: m.getAdr(),
          dr: m.getDr(),
          fCnt: m.getFCnt(),
          fPort: m.getFPort(),
          confirmed: m.getConfirmed(),
          data: m.getData_asU8(),
          rxInfo: m.getRxInfoList().map((p) => {
            const r: RxInfo = {
              gatewayId: p.getGatewayId().toLowerCase(),
              uplinkId: p.getUplinkId(),
              rssi: p.getRssi(),
              snr: p.getSnr(),
              channel: p.getChannel(),
              rfChain: p.getRfChain(),
            };
            const gwTime = fromPbTime(p.getGwTime());
            if (gwTime !== undefined) r.gwTime = gwTime;
            const nsTime = fromPbTime(p.getNsTime());
            if (nsTime !== undefined) r.nsTime = nsTime;
            const l = p.getLocation();
            if (l) r.location = { latitude: l.getLatitude(), longitude: l.getLongitude(), altitude: l.getAltitude() };
            const ctx = p.getContext_asU8();
            if (ctx.length) r.context = ctx;
            const crc = p.getCrcStatus();
            if (crc === 2) r.crcStatus = 'CRC_OK';
            else if (crc === 1) r.crcStatus = 'BAD_CRC';
            const meta: Record<string, string> = {};
            p.getMetadataMap().forEach((v: string, k: string) => {
              meta[k] = v;
            });
            if (Object.keys(meta).length) r.metadata = meta;
            return r;
          }),
        };
        const obj = m.getObject();
        if (obj) ev.object = obj.toJavaScript() as Record<string, unknown>;
        const tx = m.getTxInfo();
        const lora = tx?.getModulation()?.getLora();
        if (tx) {
          ev.txInfo = {
            frequency: tx.getFrequency(),
            bandwidth: lora?.getBandwidth() ?? 0,
            spreadingFactor: lora?.getSpreadingFactor() ?? 0,
            codeRate: CODE_RATES[lora?.getCodeRate() ?? 0] ?? 'CR_UNDEFINED',
          };
        }
        const region = m.getRegionConfigId() || ev.rxInfo.map((r) => r.metadata?.['region_config_id'] ?? '').find((x) => x !== '') || '';
        if (region) ev.regionConfigId = region;
        return { ok: true, event: ev };
      }
      case 'join': {
        const m = pb().integration.JoinEvent.deserializeBinary(bytes);
        const deviceInfo = fromPbDeviceInfo(m.getDeviceInfo());
        if (typeof deviceInfo === 'string') return { ok: false, error: deviceInfo };
        const time = fromPbTime(m.getTime());
        if (time === undefined) return { ok: false, error: 'time is missing' };
        const ev: JoinEvent = { kind: 'join', deduplicationId: m.getDeduplicationId(), time, deviceInfo, devAddr: m.getDevAddr().toLowerCase() };
        if (m.getRegionConfigId()) ev.regionConfigId = m.getRegionConfigId();
        return { ok: true, event: ev };
      }
      case 'status': {
        const m = pb().integration.StatusEvent.deserializeBinary(bytes);
        const deviceInfo = fromPbDeviceInfo(m.getDeviceInfo());
        if (typeof deviceInfo === 'string') return { ok: false, error: deviceInfo };
        const time = fromPbTime(m.getTime());
        if (time === undefined) return { ok: false, error: 'time is missing' };
        return {
          ok: true,
          event: {
            kind: 'status',
            deduplicationId: m.getDeduplicationId(),
            time,
            deviceInfo,
            margin: m.getMargin(),
            externalPowerSource: m.getExternalPowerSource(),
            batteryLevelUnavailable: m.getBatteryLevelUnavailable(),
            batteryLevel: m.getBatteryLevel(),
          },
        };
      }
      default:
        return { ok: false, error: `unsupported event type "${kind}"` };
    }
  } catch (err) {
    return { ok: false, error: `malformed protobuf: ${protobufErrorText(err)}` };
  }
}

/**
 * google-protobuf throws `Error("Failure: Invalid wire type: %s (at position %s)")` and passes
 * the values as an ignored second argument, so the message holds literal `%s` placeholders:
 * drop them (and the "Failure: " prefix) instead of showing them.
 */
export function protobufErrorText(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const clean = msg
    .replace(/^Failure: /, '')
    .replace(/\s*\([^()]*%s[^()]*\)/g, '')
    .replace(/:?\s*%s/g, '')
    .trim();
  return (clean || 'not a protobuf message').slice(0, 200);
}

/** `application/<appId>/device/<devEui>/event/<kind>` */
export function eventTopic(e: IntegrationEvent, prefix = 'application'): string {
  return `${prefix}/${e.deviceInfo.applicationId}/device/${e.deviceInfo.devEui}/event/${e.kind}`;
}

/** Splits an integration topic; undefined when the topic is not an event topic. */
export function parseEventTopic(topic: string): { applicationId: string; devEui: string; kind: string } | undefined {
  const m = /(?:^|\/)application\/([^/]+)\/device\/([0-9a-fA-F]{16})\/event\/([a-z]+)$/.exec(topic);
  return m ? { applicationId: m[1] as string, devEui: (m[2] as string).toLowerCase(), kind: m[3] as string } : undefined;
}
