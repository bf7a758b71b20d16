/**
 * The benchmark's device fleet and its uplinks, shared by the orchestrator (registry files,
 * expected counts) and the publisher child (the MQTT messages).
 *
 * 1,000 devices of six catalogue models, three categories. Each model has a few payload
 * variants made by the model's own `encodeUplink` from readings taken from its examples (so
 * every payload decodes to exactly one reading). Uplink `i` of a run belongs to device
 * `i mod 1000`, carries payload variant `⌊i / 1000⌋ mod variants` and the timestamp `t0 + i` ms:
 * every (device, time) pair is unique, so no InfluxDB point overwrites another and counting
 * points counts uplinks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reading } from '../../codecs/api.ts';
import { nativeCodec } from '../../codecs/registry.ts';
import { REPO_ROOT } from '../../codecs/testing/paths.ts';
import { eventToJson, eventTopic, rfc3339, type UplinkEvent } from '../../lorawan/chirpstack/events.ts';

export const FLEET_SIZE = 1_000;

/** catalogue id, share of the fleet, measurement (native schema), field present in every point */
export const MODELS = [
  { id: 'dingtek/df703', share: 0.3, measurement: 'bin_fill', vary: 'distance_mm', lo: 300, hi: 1_800 },
  { id: 'milesight-iot/em310-udl', share: 0.2, measurement: 'bin_fill', vary: 'distance_mm', lo: 300, hi: 1_800 },
  { id: 'dragino/ldds75', share: 0.1, measurement: 'bin_fill', vary: 'distance_mm', lo: 300, hi: 1_800 },
  { id: 'decentlab/dl-pm', share: 0.15, measurement: 'air_quality', vary: 'pm2_5_ugm3', lo: 1, hi: 60 },
  { id: 'milesight-iot/am319', share: 0.1, measurement: 'air_quality', vary: 'pm2_5_ugm3', lo: 1, hi: 60 },
  { id: 'netvox/r718h', share: 0.15, measurement: 'water_meter', vary: 'pulse_count', lo: 100, hi: 60_000 },
] as const;

/** Per measurement, a field every point of that measurement has (for count()). */
export const COUNT_FIELDS: Readonly<Record<string, string>> = { bin_fill: 'distance_mm', air_quality: 'pm2_5_ugm3', water_meter: 'pulse_count' };

const VARIANTS = 16;
const BIN_VARIABLES = { container_depth_mm: 2_000, sensor_offset_mm: 200 };

export interface FleetDevice {
  devEui: string;
  name: string;
  model: string;
  measurement: string;
  tags: Record<string, string>;
  variables: Record<string, unknown>;
  fPort: number;
  /** payload variants (bytes) */
  payloads: Uint8Array[];
}

interface Example {
  fPort: number;
  bytesHex: string;
  expectedReadings?: Reading[];
}

function modelPayloads(id: string, vary: string, lo: number, hi: number): { fPort: number; payloads: Uint8Array[] } {
  const codec = nativeCodec(id);
  if (!codec) throw new Error(`no native codec ${id}`);
  const examples = (JSON.parse(readFileSync(join(REPO_ROOT, 'codecs', id, 'examples.json'), 'utf8')) as { examples: Example[] }).examples;
  const ex = examples.find((e) => e.expectedReadings?.length === 1 && vary in (e.expectedReadings[0]?.values ?? {}));
  if (!ex) throw new Error(`${id}: no example with one reading carrying ${vary}`);
  const template = (ex.expectedReadings as Reading[])[0] as Reading;
  const payloads: Uint8Array[] = [];
  let fPort = ex.fPort;
  for (let v = 0; v < VARIANTS; v++) {
    const value = Math.round(lo + ((hi - lo) * v) / (VARIANTS - 1));
    const values = { ...template.values, [vary]: value };
    // fill_pct is derived from distance by the decoder; the encoder ignores or recomputes it.
    const enc = codec.encodeUplink({ readings: [{ values }] });
    if (!enc.bytes || enc.errors?.length) throw new Error(`${id}: encodeUplink failed: ${enc.errors?.join('; ')}`);
    fPort = enc.fPort ?? fPort;
    const bytes = Uint8Array.from(enc.bytes);
    const dec = codec.decodeUplink({ bytes, fPort, recvTime: new Date(0), variables: BIN_VARIABLES });
    const norm = dec.data ? codec.normalizeUplink(dec.data, { variables: BIN_VARIABLES, recvTime: new Date(0) }) : undefined;
    if (norm?.readings.length !== 1) throw new Error(`${id}: variant ${v} does not decode to one reading: ${JSON.stringify(dec.errors ?? norm?.errors)}`);
    payloads.push(bytes);
  }
  return { fPort, payloads };
}

export function buildFleet(size = FLEET_SIZE): FleetDevice[] {
  const perModel = MODELS.map((m) => ({ m, ...modelPayloads(m.id, m.vary, m.lo, m.hi) }));
  // Interleave models by share with a deterministic weighted round-robin.
  const devices: FleetDevice[] = [];
  const credit = perModel.map(() => 0);
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < perModel.length; k++) credit[k] = (credit[k] as number) + (perModel[k] as (typeof perModel)[number]).m.share;
    let best = 0;
    for (let k = 1; k < perModel.length; k++) if ((credit[k] as number) > (credit[best] as number)) best = k;
    credit[best] = (credit[best] as number) - 1;
    const pm = perModel[best] as (typeof perModel)[number];
    const short = pm.m.id.split('/')[1] as string;
    devices.push({
      devEui: (0xa840_4100_0000_0000n + BigInt(i)).toString(16),
      name: `${short}-${String(i).padStart(4, '0')}`,
      model: pm.m.id,
      measurement: pm.m.measurement,
      tags: { district: `d${i % 12}` },
      variables: pm.m.measurement === 'bin_fill' ? { ...BIN_VARIABLES } : {},
      fPort: pm.fPort,
      payloads: pm.payloads,
    });
  }
  return devices;
}

/** The gateway's registry file (YAML is a superset of JSON; one entry per line). */
export function registryYaml(devices: readonly FleetDevice[]): string {
  const lines = devices.map((d) => `  - ${JSON.stringify({ dev_eui: d.devEui, name: d.name, model: d.model, tags: d.tags, variables: d.variables })}`);
  return `devices:\n${lines.join('\n')}\n`;
}

/** What the Node-RED function node gets through functionGlobalContext: DevEUI → device. */
export function nodeRedDevices(devices: readonly FleetDevice[]): Record<string, { name: string; model: string; measurement: string; tags: Record<string, string>; variables: Record<string, unknown> }> {
  const out: ReturnType<typeof nodeRedDevices> = {};
  for (const d of devices) out[d.devEui] = { name: d.name, model: d.model, measurement: d.measurement, tags: d.tags, variables: d.variables };
  return out;
}

/** Uplink `i` of a run with timestamps from `t0` under ChirpStack application `appId`. */
export function uplinkEvent(devices: readonly FleetDevice[], appId: string, t0: number, i: number): UplinkEvent {
  const k = i % devices.length;
  const d = devices[k] as FleetDevice;
  const round = Math.floor(i / devices.length);
  return {
    kind: 'up',
    deduplicationId: `${appId}-${i}`,
    time: t0 + i,
    deviceInfo: {
      tenantId: '52f14cd4-c6f1-4fbd-8f87-4025e1d49242',
      tenantName: 'city',
      applicationId: appId,
      applicationName: 'bench',
      deviceProfileId: '0b6a4fdc-ad7d-4c8a-8b5c-6e6a0b6d1a01',
      deviceProfileName: d.model,
      deviceName: d.name,
      devEui: d.devEui,
      deviceClassEnabled: 'CLASS_A',
      tags: {},
    },
    devAddr: (0x2600_0000 + k).toString(16).padStart(8, '0'),
    adr: true,
    dr: 5,
    fCnt: round,
    fPort: d.fPort,
    confirmed: false,
    data: d.payloads[round % d.payloads.length] as Uint8Array,
    // Radio values depend on the device only, so the publisher can fill a per-device template.
    rxInfo: [{ gatewayId: '0016c001f1530001', uplinkId: 1 + ((k * 7919) % 65_535), rssi: -70 - (k % 40), snr: 9.5 - (k % 15), channel: 1 + (k % 7), rfChain: 0 }],
    txInfo: { frequency: 868_100_000 + (1 + (k % 7)) * 200_000, bandwidth: 125_000, spreadingFactor: 7, codeRate: 'CR_4_5' },
    regionConfigId: 'eu868',
  };
}

export function uplinkMessage(devices: readonly FleetDevice[], appId: string, t0: number, i: number): { topic: string; payload: string } {
  const ev = uplinkEvent(devices, appId, t0, i);
  return { topic: eventTopic(ev), payload: eventToJson(ev) };
}

/**
 * The same messages as `uplinkMessage`, about 10× cheaper: one JSON template per device with the
 * four fields that change per uplink (deduplicationId, time, fCnt, data) cut out. The publisher
 * checks it against `uplinkMessage` before publishing (`checkFastMessages`).
 */
export function fastMessages(devices: readonly FleetDevice[], appId: string, t0: number): (i: number) => { topic: string; payload: string } {
  const MARK_ID = 'ZZID';
  const MARK_FCNT = 987_654_321;
  const MARK_DATA = Uint8Array.from([0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa]);
  const MARK_TIME = Date.UTC(2001, 0, 1);
  const dataB64 = devices.map((d) => d.payloads.map((p) => Buffer.from(p).toString('base64')));
  const templates = devices.map((_, k) => {
    const ev = uplinkEvent(devices, appId, t0, k);
    ev.deduplicationId = MARK_ID;
    ev.fCnt = MARK_FCNT;
    ev.data = MARK_DATA;
    ev.time = MARK_TIME;
    const json = eventToJson(ev);
    const cut = (s: string, mark: string): [string, string] => {
      const at = s.indexOf(mark);
      if (at < 0 || s.indexOf(mark, at + 1) >= 0) throw new Error(`template: marker ${mark} not found once`);
      return [s.slice(0, at), s.slice(at + mark.length)];
    };
    const [p0, r0] = cut(json, `"deduplicationId":"${MARK_ID}"`);
    const [p1, r1] = cut(r0, `"time":"${rfc3339(MARK_TIME)}"`);
    const [p2, r2] = cut(r1, `"fCnt":${MARK_FCNT}`);
    const [p3, p4] = cut(r2, `"data":"${Buffer.from(MARK_DATA).toString('base64')}"`);
    return { topic: eventTopic(ev), parts: [p0, p1, p2, p3, p4] as const };
  });
  return (i) => {
    const k = i % devices.length;
    const round = Math.floor(i / devices.length);
    const t = templates[k] as (typeof templates)[number];
    const b64 = dataB64[k] as string[];
    const [p0, p1, p2, p3, p4] = t.parts;
    return {
      topic: t.topic,
      payload: `${p0}"deduplicationId":"${appId}-${i}"${p1}"time":"${rfc3339(t0 + i)}"${p2}"fCnt":${round}${p3}"data":"${b64[round % b64.length] as string}"${p4}`,
    };
  };
}

/** Throws unless the fast path renders exactly what eventToJson renders, on a sample of uplinks. */
export function checkFastMessages(devices: readonly FleetDevice[], appId: string, t0: number, from: number, count: number): void {
  const fast = fastMessages(devices, appId, t0);
  const step = Math.max(1, Math.floor(count / 500));
  for (let i = from; i < from + count; i += step) {
    const a = fast(i);
    const b = uplinkMessage(devices, appId, t0, i);
    if (a.topic !== b.topic || a.payload !== b.payload) throw new Error(`fast message ${i} differs:\n${a.payload}\n${b.payload}`);
  }
}

/** Uplinks of a run per measurement, for checking counts. */
export function expectedPerMeasurement(devices: readonly FleetDevice[], n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let k = 0; k < devices.length; k++) {
    const d = devices[k] as FleetDevice;
    const count = n > k ? Math.floor((n - 1 - k) / devices.length) + 1 : 0;
    out[d.measurement] = (out[d.measurement] ?? 0) + count;
  }
  return out;
}
