/**
 * What the decode node accepts, turned into the gateway's ChirpStack event model
 * (lorawan/chirpstack/events.ts) so that one decode path serves every input:
 *
 * - ChirpStack v4 MQTT integration, JSON: a Buffer or string (as the core `mqtt in` node gives
 *   with output "a Buffer" / "a String"), or the parsed object ("a parsed JSON object");
 * - ChirpStack v4 protobuf: a Buffer whose first byte is not `{`;
 * - The Things Stack v3 uplink: an object with `end_device_ids` and `uplink_message`
 *   (frm_payload base64, f_port, f_cnt, received_at, rx_metadata);
 * - plain: `{devEui, fPort, bytes | payload}` where bytes is a byte array / Buffer and payload a
 *   hex or base64 string.
 *
 * Every input is bounded before work (size, nesting depth); the parsers never throw and say
 * what is wrong in `error`.
 */
import { parseEventJson, parseEventProtobuf, parseEventTopic, type IntegrationEvent, type UplinkEvent } from '../../lorawan/chirpstack/events.ts';
import { normalizeEui } from '../../gateway/registry/devices-file.ts';

export const MAX_INPUT_BYTES = 64 * 1024;
export const MAX_INPUT_DEPTH = 16;

export type InputResult = { ok: true; event: IntegrationEvent; format: InputFormat } | { ok: false; error: string };
export type InputFormat = 'chirpstack-json' | 'chirpstack-protobuf' | 'tts-v3' | 'plain';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Depth of nested objects/arrays, stopping at `limit + 1`; counts nodes too (bounded work). */
function tooDeep(v: unknown, limit: number): boolean {
  let budget = 100_000;
  const walk = (x: unknown, d: number): boolean => {
    if (--budget < 0) return true;
    if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x)) return false;
    if (d > limit) return true;
    for (const k in x) if (walk((x as Obj)[k], d + 1)) return true;
    return false;
  };
  return walk(v, 0);
}

function kindOf(topic: unknown): string {
  return typeof topic === 'string' ? (parseEventTopic(topic)?.kind ?? 'up') : 'up';
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Bytes from a byte array, Buffer, or a hex / base64 string; a string error otherwise. */
export function bytesOf(v: unknown, what: string): Uint8Array | string {
  if (v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    if (v.length > MAX_INPUT_BYTES) return `${what} is longer than ${MAX_INPUT_BYTES} bytes`;
    if (!v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return `${what} must hold integers 0..255`;
    return Uint8Array.from(v as number[]);
  }
  if (isObj(v) && v['type'] === 'Buffer' && Array.isArray(v['data'])) return bytesOf(v['data'], what); // a Buffer after JSON
  if (typeof v === 'string') {
    const s = v.replace(/\s+/g, '');
    if (s.length > MAX_INPUT_BYTES * 2) return `${what} is longer than ${MAX_INPUT_BYTES} bytes`;
    if (HEX.test(s)) return Uint8Array.from(Buffer.from(s, 'hex'));
    if (B64.test(s) && s.length % 4 === 0) return Uint8Array.from(Buffer.from(s, 'base64'));
    return `${what} is neither hex nor base64`;
  }
  return `${what} is missing (byte array, Buffer, hex or base64 string)`;
}

function plainUplink(p: Obj): InputResult {
  const devEui = normalizeEui(p['devEui'] ?? p['dev_eui'] ?? p['deveui']);
  if (!devEui) return { ok: false, error: `devEui is not a 16-hex-digit EUI: ${JSON.stringify(p['devEui'] ?? null)}` };
  const fPort = p['fPort'] ?? p['f_port'] ?? p['port'];
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 0 || fPort > 255) return { ok: false, error: `fPort is not 0..255: ${JSON.stringify(fPort ?? null)}` };
  const data = bytesOf(p['bytes'] ?? p['payload'] ?? p['data'], 'bytes');
  if (typeof data === 'string') return { ok: false, error: data };
  const time = p['time'] === undefined ? Date.now() : typeof p['time'] === 'number' ? p['time'] : Date.parse(String(p['time']));
  if (!Number.isFinite(time)) return { ok: false, error: `time is not a date: ${JSON.stringify(p['time'])}` };
  const fCnt = typeof p['fCnt'] === 'number' ? p['fCnt'] : 0;
  const ev: UplinkEvent = {
    kind: 'up',
    deduplicationId: typeof p['id'] === 'string' ? p['id'] : '',
    time,
    deviceInfo: deviceInfo(devEui, typeof p['deviceName'] === 'string' ? p['deviceName'] : '', ''),
    devAddr: '',
    adr: false,
    dr: 0,
    fCnt,
    fPort,
    confirmed: false,
    data,
    rxInfo: [],
  };
  return { ok: true, event: ev, format: 'plain' };
}

function deviceInfo(devEui: string, deviceName: string, applicationId: string, tags: Record<string, string> = {}): UplinkEvent['deviceInfo'] {
  return {
    tenantId: '',
    tenantName: '',
    applicationId,
    applicationName: '',
    deviceProfileId: '',
    deviceProfileName: '',
    deviceName,
    devEui,
    deviceClassEnabled: 'CLASS_A',
    tags,
  };
}

/** The Things Stack v3 `uplink_message` (application-layer MQTT / webhook JSON). */
function ttsUplink(p: Obj): InputResult {
  const ids = isObj(p['end_device_ids']) ? p['end_device_ids'] : {};
  const up = p['uplink_message'] as Obj;
  const devEui = normalizeEui(ids['dev_eui']);
  if (!devEui) return { ok: false, error: `end_device_ids.dev_eui is not an EUI: ${JSON.stringify(ids['dev_eui'] ?? null)}` };
  const fPort = up['f_port'] ?? 0;
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 0 || fPort > 255) return { ok: false, error: `uplink_message.f_port is not 0..255: ${JSON.stringify(fPort)}` };
  const raw = up['frm_payload'] ?? '';
  const data = typeof raw === 'string' && B64.test(raw) ? Uint8Array.from(Buffer.from(raw, 'base64')) : undefined;
  if (!data) return { ok: false, error: 'uplink_message.frm_payload is not base64' };
  const when = up['received_at'] ?? p['received_at'];
  const time = typeof when === 'string' ? Date.parse(when) : Date.now();
  if (!Number.isFinite(time)) return { ok: false, error: `uplink_message.received_at is not a date: ${JSON.stringify(when)}` };
  const app = isObj(ids['application_ids']) ? String(ids['application_ids']['application_id'] ?? '') : '';
  const settings = isObj(up['settings']) ? up['settings'] : {};
  const lora = isObj(settings['data_rate']) && isObj(settings['data_rate']['lora']) ? settings['data_rate']['lora'] : {};
  const rx = Array.isArray(up['rx_metadata']) ? up['rx_metadata'].filter(isObj) : [];
  const version = isObj(up['version_ids']) ? up['version_ids'] : {};
  const ev: UplinkEvent = {
    kind: 'up',
    deduplicationId: '',
    time,
    deviceInfo: { ...deviceInfo(devEui, String(ids['device_id'] ?? ''), app), deviceProfileName: [version['brand_id'], version['model_id']].filter(Boolean).join('/') },
    devAddr: String(ids['dev_addr'] ?? '').toLowerCase(),
    adr: false,
    dr: 0,
    fCnt: typeof up['f_cnt'] === 'number' ? up['f_cnt'] : 0,
    fPort,
    confirmed: up['confirmed'] === true,
    data,
    rxInfo: rx.map((r, i) => ({
      gatewayId: String(isObj(r['gateway_ids']) ? (r['gateway_ids']['eui'] ?? r['gateway_ids']['gateway_id'] ?? '') : '').toLowerCase(),
      uplinkId: i,
      rssi: typeof r['rssi'] === 'number' ? r['rssi'] : 0,
      snr: typeof r['snr'] === 'number' ? r['snr'] : 0,
      channel: 0,
      rfChain: 0,
    })),
  };
  if (typeof settings['frequency'] === 'string' || typeof settings['frequency'] === 'number') {
    ev.txInfo = { frequency: Number(settings['frequency']), bandwidth: Number(lora['bandwidth'] ?? 0), spreadingFactor: Number(lora['spreading_factor'] ?? 0), codeRate: String(lora['coding_rate'] ?? '') };
  }
  // TTS has no deduplication id in the message body; device, counter and time identify it.
  ev.deduplicationId = `${devEui}-${ev.fCnt}-${time}`;
  return { ok: true, event: ev, format: 'tts-v3' };
}

/** Turns `msg.payload` (and `msg.topic` for the ChirpStack event kind) into an event. */
export function parseUplinkInput(payload: unknown, topic?: unknown): InputResult {
  if (payload instanceof Uint8Array) {
    if (payload.length > MAX_INPUT_BYTES) return { ok: false, error: `message is ${payload.length} bytes, more than ${MAX_INPUT_BYTES}` };
    const kind = kindOf(topic);
    if (payload[0] === 0x7b /* { */) {
      const r = parseEventJson(kind, payload);
      return r.ok ? { ...r, format: 'chirpstack-json' } : r;
    }
    const r = parseEventProtobuf(kind, payload);
    return r.ok ? { ...r, format: 'chirpstack-protobuf' } : { ok: false, error: `not ChirpStack JSON, and as protobuf: ${r.error}` };
  }
  if (typeof payload === 'string') {
    if (payload.length > MAX_INPUT_BYTES) return { ok: false, error: `message is ${payload.length} characters, more than ${MAX_INPUT_BYTES}` };
    const trimmed = payload.trimStart();
    if (!trimmed.startsWith('{')) return { ok: false, error: 'a string payload must be ChirpStack or TTS JSON' };
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      return { ok: false, error: `malformed JSON: ${(err as Error).message}` };
    }
    return parseUplinkInput(doc, topic);
  }
  if (!isObj(payload)) return { ok: false, error: `msg.payload must be an object, Buffer or JSON string, got ${payload === null ? 'null' : typeof payload}` };
  if (tooDeep(payload, MAX_INPUT_DEPTH)) return { ok: false, error: `msg.payload is nested deeper than ${MAX_INPUT_DEPTH} levels or too large` };
  if (isObj(payload['uplink_message'])) return ttsUplink(payload);
  if (isObj(payload['deviceInfo'])) {
    // The parsed ChirpStack object goes through the same parser as the wire text.
    const text = JSON.stringify(payload);
    if (text.length > MAX_INPUT_BYTES) return { ok: false, error: `message is ${text.length} characters, more than ${MAX_INPUT_BYTES}` };
    const r = parseEventJson(kindOf(topic), text);
    return r.ok ? { ...r, format: 'chirpstack-json' } : r;
  }
  if ('devEui' in payload || 'dev_eui' in payload || 'deveui' in payload) return plainUplink(payload);
  return { ok: false, error: 'msg.payload is not a ChirpStack v4 event, a TTS v3 uplink_message, or {devEui, fPort, bytes|payload}' };
}
