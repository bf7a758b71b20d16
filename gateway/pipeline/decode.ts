/**
 * Turns a network-server event into a pipeline record: looks the device up, picks its codec,
 * decodes and normalizes — and keeps the raw frame whatever happens.
 *
 * Which codec decodes an uplink, in order:
 *  1. the device registry (DevEUI → catalogue model);
 *  2. the config map of ChirpStack device-profile names → catalogue ids;
 *  3. neither: ChirpStack's own `object` is kept as the decoded data (no normalized readings);
 *  4. nothing: the raw frame is kept and counted as undecoded.
 * Installation tags: ChirpStack's device tags, overridden by the registry's. Variables: the
 * catalogue defaults, overridden by the registry's.
 */
import type { Codec, JsonObject, Reading } from '../../codecs/api.ts';
import type { DeviceEntry } from '../../devices/catalogue.ts';
import type { IntegrationEvent, UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import type { DeviceRegistry, RegisteredDevice } from '../registry/devices-file.ts';
import { chirpstackTagKey } from '../registry/reserved-keys.ts';
import { RECORD_VERSION, type DecodedPart, type DeviceSnapshot, type PipelineRecord, type UplinkRecord } from './record.ts';

/** Why an uplink has no normalized readings (metric label `reason`). */
export type UndecodedReason = 'unknown_device' | 'codec_error' | 'no_payload' | 'chirpstack_object';

export interface DecodeContext {
  registry: () => DeviceRegistry;
  catalogue: (id: string) => { entry: DeviceEntry; codec: Codec } | undefined;
  /** ChirpStack device-profile name → catalogue id */
  deviceProfiles: Readonly<Record<string, string>>;
  now: () => number;
  /**
   * Keep the codec's own `data` object in the record even when it gave readings (default true).
   * The gateway turns it off unless a sink writes it (the ChirpStack schema): it is half of a
   * record's bytes and of its encoding time, and it follows from the stored payload anyway
   * (`lorawan-edge replay` and `decode` reproduce it). Uplinks without readings always keep it,
   * for inspection.
   */
  keepCodecData?: boolean;
}

export interface DecodeOutcome {
  record: PipelineRecord;
  /** set when the uplink yields no readings from our codec */
  undecoded?: UndecodedReason;
  /** model label for decode-error metrics */
  model?: string;
}

const SF_FROM_EU868_DR = [12, 11, 10, 9, 8, 7, 7];

/**
 * Script codecs (vendor JavaScript in the sandbox) keep their globals per device: each device
 * decodes in its own context. Native codecs are stateless and used as they are.
 */
export function perDevice(codec: Codec, devEui: string): Codec {
  const c = codec as Codec & { forDevice?: (id: string) => Codec };
  return typeof c.forDevice === 'function' ? c.forDevice(devEui) : codec;
}

/**
 * ChirpStack's device tags, renamed where they would clash with the gateway's own keys (`time`
 * would make InfluxDB refuse every point: see registry/reserved-keys.ts), then the registry's
 * (checked when they were written) on top.
 */
function cleanTags(chirpstack: Record<string, string>, registry: Record<string, string> | undefined): Record<string, string> {
  // Loops over own keys rather than Object.entries: no arrays per uplink (bench/edge-ns).
  const out: Record<string, string> = {};
  for (const k in chirpstack) {
    if (!Object.prototype.hasOwnProperty.call(chirpstack, k)) continue;
    const v = chirpstack[k];
    if (v !== '' && typeof v === 'string') out[chirpstackTagKey(k)] = v;
  }
  if (registry) {
    for (const k in registry) {
      if (!Object.prototype.hasOwnProperty.call(registry, k)) continue;
      const v = registry[k] as string;
      if (v !== '') out[k] = v;
    }
  }
  return out;
}

/**
 * The catalogue defaults of a model's variables, once per catalogue entry (entries are loaded
 * once and not changed): every uplink used to rebuild them. Never handed out: each uplink gets
 * its own variables object made from it.
 */
const defaultsOf = new WeakMap<DeviceEntry, Readonly<Record<string, unknown>>>();

function variableDefaults(entry: DeviceEntry | undefined): Readonly<Record<string, unknown>> {
  if (!entry) return {};
  let d = defaultsOf.get(entry);
  if (!d) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(entry.variables ?? {})) if (v.default !== undefined) out[k] = v.default;
    d = out;
    defaultsOf.set(entry, d);
  }
  return d;
}

/**
 * The snapshot of a registered device whose event brings no tags of its own (the edge network
 * server's events never do), made once per registry entry and catalogue entry instead of per
 * uplink, frozen because every record of the device shares it. A reloaded registry has new
 * entries, hence new snapshots.
 */
const sharedSnapshots = new WeakMap<RegisteredDevice, { entry: DeviceEntry | undefined; snapshot: DeviceSnapshot }>();

function hasOwnKeys(o: Record<string, string>): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return true;
  return false;
}

function deviceSnapshot(ev: IntegrationEvent, reg: RegisteredDevice | undefined, entry: DeviceEntry | undefined): DeviceSnapshot {
  const shareable = reg !== undefined && reg.name !== '' && !hasOwnKeys(ev.deviceInfo.tags);
  if (shareable) {
    const hit = sharedSnapshots.get(reg);
    if (hit && hit.entry === entry) return hit.snapshot;
  }
  const snapshot: DeviceSnapshot = {
    name: reg?.name || ev.deviceInfo.deviceName || ev.deviceInfo.devEui,
    tags: cleanTags(ev.deviceInfo.tags, reg?.tags),
  };
  if (entry) {
    snapshot.model = entry.id;
    snapshot.category = entry.category;
  }
  if (shareable) {
    Object.freeze(snapshot.tags);
    sharedSnapshots.set(reg, { entry, snapshot: Object.freeze(snapshot) });
  }
  return snapshot;
}

function resolveDevice(ev: IntegrationEvent, ctx: DecodeContext): { snapshot: DeviceSnapshot; model?: string; variables: Record<string, unknown> } {
  const reg = ctx.registry().byEui.get(ev.deviceInfo.devEui);
  const model = reg?.model ?? ctx.deviceProfiles[ev.deviceInfo.deviceProfileName];
  const found = model ? ctx.catalogue(model) : undefined;
  const defaults = variableDefaults(found?.entry);
  const snapshot = deviceSnapshot(ev, reg, found?.entry);
  return { snapshot, ...(found ? { model: found.entry.id } : {}), variables: { ...defaults, ...(reg?.variables ?? {}) } };
}

/**
 * Decodes (again) the payload of an uplink record with a codec; used at ingest and by replay.
 * `keepData` false leaves the codec's `data` object out when it gave readings (see
 * DecodeContext.keepCodecData); it is never deleted afterwards, which would put the object in
 * V8's slow dictionary mode for everything that reads it later.
 */
export function decodeWith(codec: Codec, model: string, payload: Uint8Array, fPort: number, time: number, variables: Record<string, unknown>, keepData = true): DecodedPart {
  const recvTime = new Date(time);
  // A codec that throws (a bug, or a vendor script) fails that uplink's decoding only: the
  // record keeps its raw payload with the error, so it is stored, counted and can be decoded
  // again after a fix — it never becomes a message that cannot be processed.
  let r: ReturnType<Codec['decodeUplink']>;
  try {
    r = codec.decodeUplink({ bytes: payload, fPort, recvTime, variables });
  } catch (err) {
    return { model, readings: [], warnings: [], errors: [`decoder threw: ${thrownText(err)}`], by: 'codec' };
  }
  const part: DecodedPart = { model, readings: NO_READINGS, warnings: joined(r.warnings, undefined), errors: joined(r.errors, undefined), by: 'codec' };
  if (r.data) {
    try {
      const n = codec.normalizeUplink(r.data, { variables, recvTime });
      part.readings = n.readings;
      part.warnings = joined(part.warnings, n.warnings);
      part.errors = joined(part.errors, n.errors);
    } catch (err) {
      part.readings = NO_READINGS;
      part.errors = joined(part.errors, [`normalizer threw: ${thrownText(err)}`]);
    }
    if (keepData || part.readings.length === 0) part.data = r.data;
  }
  return part;
}

/**
 * One frozen empty list for every record without readings, warnings or errors: nearly every
 * record has no warnings and no errors, and two fresh empty arrays per record lived with it
 * until the sinks had it (old space). Nothing changes a record's lists after decodeWith.
 */
const NONE: string[] = Object.freeze([]) as unknown as string[];
const NO_READINGS: Reading[] = Object.freeze([]) as unknown as Reading[];

/** `a` then `b` as a new list (NONE when both are empty); `a` is never changed. */
function joined(a: readonly string[] | undefined, b: readonly string[] | undefined): string[] {
  if (!b?.length) return a?.length ? (a === NONE ? NONE : [...a]) : NONE;
  return a?.length ? [...a, ...b] : [...b];
}

function thrownText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

function uplinkRecord(ev: UplinkEvent, src: string, ctx: DecodeContext): DecodeOutcome {
  const { snapshot, model, variables } = resolveDevice(ev, ctx);
  const record: UplinkRecord = {
    v: RECORD_VERSION,
    kind: 'up',
    src,
    id: ev.deduplicationId || `${ev.deviceInfo.devEui}-${ev.fCnt}-${ev.time}`,
    time: ev.time,
    rxAt: ctx.now(),
    devEui: ev.deviceInfo.devEui,
    devAddr: ev.devAddr,
    fCnt: ev.fCnt,
    fPort: ev.fPort,
    dr: ev.dr,
    adr: ev.adr,
    confirmed: ev.confirmed,
    payload: ev.data,
    gateways: ev.rxInfo.map((r) => ({ id: r.gatewayId, rssi: r.rssi, snr: r.snr })),
    device: snapshot,
  };
  // Optional fields are only ever added, never deleted (a delete sends V8 objects to slow mode).
  const sf = ev.txInfo ? ev.txInfo.spreadingFactor || undefined : SF_FROM_EU868_DR[ev.dr];
  if (ev.txInfo) record.frequency = ev.txInfo.frequency;
  if (sf !== undefined) record.sf = sf;
  if (ev.txInfo?.bandwidth) record.bw = ev.txInfo.bandwidth;
  if (ev.regionConfigId) record.region = ev.regionConfigId;
  if (ev.object) record.csObject = ev.object as JsonObject;

  // MAC-only frames (fPort 0) and empty payloads carry no sensor data: keep the radio metadata.
  if (ev.fPort === 0 || ev.data.length === 0) return { record, undecoded: 'no_payload', ...(model ? { model } : {}) };
  const found = model ? ctx.catalogue(model) : undefined;
  if (found && model) {
    record.decoded = decodeWith(perDevice(found.codec, ev.deviceInfo.devEui), model, ev.data, ev.fPort, ev.time, variables, ctx.keepCodecData !== false);
    if (record.decoded.readings.length === 0) return { record, undecoded: 'codec_error', model };
    return { record, model };
  }
  if (ev.object) {
    record.decoded = { model: 'chirpstack', data: ev.object as JsonObject, readings: [], warnings: [], errors: [], by: 'chirpstack' };
    return { record, undecoded: 'chirpstack_object' };
  }
  return { record, undecoded: 'unknown_device' };
}

export function eventToRecord(ev: IntegrationEvent, src: string, ctx: DecodeContext): DecodeOutcome {
  switch (ev.kind) {
    case 'up':
      return uplinkRecord(ev, src, ctx);
    case 'join': {
      const { snapshot } = resolveDevice(ev, ctx);
      return {
        record: { v: RECORD_VERSION, kind: 'join', src, id: ev.deduplicationId, time: ev.time, rxAt: ctx.now(), devEui: ev.deviceInfo.devEui, devAddr: ev.devAddr, device: snapshot },
      };
    }
    case 'status': {
      const { snapshot } = resolveDevice(ev, ctx);
      return {
        record: {
          v: RECORD_VERSION,
          kind: 'status',
          src,
          id: ev.deduplicationId,
          time: ev.time,
          rxAt: ctx.now(),
          devEui: ev.deviceInfo.devEui,
          device: snapshot,
          margin: ev.margin,
          externalPower: ev.externalPowerSource,
          batteryUnavailable: ev.batteryLevelUnavailable,
          batteryPct: ev.batteryLevel,
        },
      };
    }
  }
}
