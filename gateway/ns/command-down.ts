/**
 * ChirpStack v4 downlink commands and outcome events, in ChirpStack's JSON format, for the
 * edge network server's MQTT side (the `mqtt` sink subscribes, `gateway/sinks/mqtt/`):
 *
 * - command: topic `<prefix>/<applicationId>/device/<devEui>/command/down`, payload
 *   `{"devEui": "…", "confirmed": false, "fPort": 10, "data": "<base64>"}` (ChirpStack's
 *   `DownlinkCommand`; an optional `id` is echoed as the outcome's `queueItemId`), or with
 *   `"object": {…}` instead of `data`, encoded by the device's codec (`command-encode.ts`);
 * - outcomes: `…/event/txack` (the gateway took the downlink: `TxAckEvent`), `…/event/ack`
 *   (a confirmed downlink acknowledged by the device, or given up: `AckEvent`, `acknowledged`
 *   true/false), `…/event/log` (the gateway refused it: `LogEvent`, level ERROR, code
 *   DOWNLINK_GATEWAY; the codec could not encode an `object`: code DOWNLINK_CODEC).
 *
 * A command is checked completely before anything is queued: size, JSON, fields, the topic's
 * application and DevEUI against the payload's. Every refusal has a reason (counted as
 * `lorawan_edge_ns_rejected_total{reason="command_<reason>"}` by the caller) and a one-line detail.
 */

export interface DownlinkCommand {
  devEui: string;
  fPort: number;
  /** the payload (`data`), or… */
  data?: Buffer;
  /** …an object for the device's codec to encode (`object`) */
  object?: Record<string, unknown>;
  confirmed: boolean;
  /** the command's own `id`, if it had one */
  id?: string;
}

export type CommandResult = { ok: true; command: DownlinkCommand } | { ok: false; reason: CommandRejectReason; detail: string };

export type CommandRejectReason = 'oversized' | 'bad_json' | 'bad_field' | 'bad_base64' | 'topic_mismatch';

export const MAX_COMMAND_BYTES = 4096;
/** Deepest `object` taken (a 4 KiB payload could nest 2,000 levels). */
export const MAX_OBJECT_DEPTH = 16;

function depthOf(v: unknown, limit: number): number {
  if (typeof v !== 'object' || v === null) return 0;
  if (limit <= 0) return 1;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depthOf(x, limit - 1));
  return d + 1;
}
/**
 * Largest FRMPayload taken: EU868's repeater-compatible maximum at DR5–7. Slower data rates
 * carry less (DR0–2: 51 bytes); such a downlink is queued and the gateway refuses what its
 * radio cannot send — reported as a `log` event.
 */
export const MAX_DOWNLINK_PAYLOAD = 222;

const TOPIC_RE = /^(.+)\/([^/]+)\/device\/([0-9a-fA-F]{16})\/command\/down$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function commandTopic(prefix: string, applicationId: string): string {
  return `${prefix}/${applicationId}/device/+/command/down`;
}

export function parseCommandDown(topic: string, payload: Uint8Array, expect: { prefix: string; applicationId: string }): CommandResult {
  const bad = (reason: CommandRejectReason, detail: string): CommandResult => ({ ok: false, reason, detail });
  const t = TOPIC_RE.exec(topic);
  if (!t || t[1] !== expect.prefix || t[2] !== expect.applicationId) return bad('topic_mismatch', `topic ${JSON.stringify(topic.slice(0, 200))} is not ${commandTopic(expect.prefix, expect.applicationId)}`);
  const topicEui = (t[3] as string).toLowerCase();
  if (payload.length > MAX_COMMAND_BYTES) return bad('oversized', `${payload.length} bytes > ${MAX_COMMAND_BYTES}`);
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(payload).toString('utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    return bad('bad_json', `not JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad('bad_json', 'must be a JSON object');
  const o = v as Record<string, unknown>;
  // ChirpStack's parser takes snake_case names too (`dev_eui`, `f_port`).
  const devEui = o['devEui'] ?? o['dev_eui'];
  if (typeof devEui !== 'string' || !/^[0-9a-fA-F]{16}$/.test(devEui)) return bad('bad_field', 'devEui: must be 16 hex digits');
  if (devEui.toLowerCase() !== topicEui) return bad('topic_mismatch', `devEui ${devEui} differs from the topic's ${topicEui}`);
  const fPort = o['fPort'] ?? o['f_port'];
  if (typeof fPort !== 'number' || !Number.isInteger(fPort) || fPort < 1 || fPort > 223) return bad('bad_field', `fPort: must be an integer 1..223, got ${JSON.stringify(fPort)?.slice(0, 40)}`);
  const confirmed = o['confirmed'] ?? false;
  if (typeof confirmed !== 'boolean') return bad('bad_field', 'confirmed: must be true or false');
  const id = o['id'];
  if (id !== undefined && (typeof id !== 'string' || id.length > 64)) return bad('bad_field', 'id: must be a string of at most 64 characters');
  const base = { devEui: topicEui, fPort, confirmed, ...(typeof id === 'string' ? { id } : {}) };
  const object = o['object'];
  if (object !== undefined && object !== null && o['data'] === undefined) {
    if (typeof object !== 'object' || Array.isArray(object)) return bad('bad_field', 'object: must be a JSON object');
    if (depthOf(object, MAX_OBJECT_DEPTH + 1) > MAX_OBJECT_DEPTH) return bad('bad_field', `object: nested deeper than ${MAX_OBJECT_DEPTH} levels`);
    return { ok: true, command: { ...base, object: object as Record<string, unknown> } };
  }
  const data = o['data'];
  if (typeof data !== 'string') return bad('bad_field', 'data: must be a base64 string');
  if (!BASE64_RE.test(data)) return bad('bad_base64', 'data: not valid base64');
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length > MAX_DOWNLINK_PAYLOAD) return bad('bad_field', `data: ${bytes.length} bytes > ${MAX_DOWNLINK_PAYLOAD}`);
  return { ok: true, command: { ...base, data: bytes } };
}

/** What happened to a queued downlink, as the network server reports it. */
export type DownlinkOutcome =
  | { kind: 'txack'; queueId: number; devEui: string; fCntDown: number; gatewayId: string }
  /** `deduplicationId`: the uplink that carried the device's answer (as ChirpStack) */
  | { kind: 'ack'; queueId: number; devEui: string; fCntDown: number; acknowledged: boolean; deduplicationId?: string }
  | { kind: 'tx_error'; queueId: number; devEui: string; fCntDown: number; gatewayId: string; error: string; final: boolean }
  /** an `object` command the device's codec could not encode (nothing was queued: queueId 0) */
  | { kind: 'codec_error'; queueId: 0; devEui: string; error: string };

/** Who the event is about, as ChirpStack's `deviceInfo` has it. */
export interface OutcomeDevice {
  applicationId: string;
  applicationName: string;
  devEui: string;
  /** the registry's name (ChirpStack: the device's name), else the DevEUI */
  deviceName: string;
  /** the catalogue model (ChirpStack: the device profile's name), or '' */
  deviceProfileName: string;
  tags: Record<string, string>;
}

/** The ChirpStack v4 event (topic suffix and JSON body) of an outcome that happened at `timeMs`. */
export function outcomeEvent(o: DownlinkOutcome, dev: OutcomeDevice, queueItemId: string, timeMs: number): { kind: 'txack' | 'ack' | 'log'; json: string } {
  const deviceInfo = {
    tenantId: '',
    tenantName: '',
    applicationId: dev.applicationId,
    applicationName: dev.applicationName,
    deviceProfileId: '',
    deviceProfileName: dev.deviceProfileName,
    deviceName: dev.deviceName,
    devEui: dev.devEui,
    deviceClassEnabled: 'CLASS_A',
    tags: dev.tags,
  };
  const time = new Date(timeMs).toISOString();
  switch (o.kind) {
    case 'txack':
      return { kind: 'txack', json: JSON.stringify({ downlinkId: o.queueId, time, deviceInfo, queueItemId, fCntDown: o.fCntDown, gatewayId: o.gatewayId }) };
    case 'ack':
      return { kind: 'ack', json: JSON.stringify({ deduplicationId: o.deduplicationId ?? '', time, deviceInfo, queueItemId, acknowledged: o.acknowledged, fCntDown: o.fCntDown }) };
    case 'codec_error':
      return { kind: 'log', json: JSON.stringify({ time, deviceInfo, level: 'ERROR', code: 'DOWNLINK_CODEC', description: `the device's codec could not encode the command's object: ${o.error}`, context: { queueItemId, error: o.error } }) };
    case 'tx_error':
      return {
        kind: 'log',
        json: JSON.stringify({ time, deviceInfo, level: 'ERROR', code: 'DOWNLINK_GATEWAY', description: `gateway ${o.gatewayId} refused the downlink: ${o.error}${o.final ? ' (given up)' : ' (will be sent again)'}`, context: { queueItemId, gatewayId: o.gatewayId, error: o.error } }),
      };
  }
}
