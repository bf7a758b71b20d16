/**
 * The encode-downlink node's work without Node-RED: a command for a device, through the
 * catalogue codec's own `encodeDownlink`, into a message for where it goes next:
 *
 * - `chirpstack`: ChirpStack v4's MQTT integration `command/down`:
 *   topic `application/<application id>/device/<dev eui>/command/down`, payload
 *   `{"devEui","confirmed","fPort","data": base64}` — ready for an `mqtt out` node;
 * - `edge`: the edge gateway's downlink queue entry `{devEui, fPort, payloadHex, confirmed}`.
 */
import type { JsonObject } from '../../codecs/api.ts';
import { normalizeEui } from '../../gateway/registry/devices-file.ts';
import type { DeviceCatalogue } from './catalogue.ts';

export type DownlinkTarget = 'chirpstack' | 'edge';

export interface DownlinkOptions {
  catalogue: DeviceCatalogue;
  target: DownlinkTarget;
  /** node setting: catalogue id when the message names none and the registry does not know it */
  model?: string;
  applicationId?: string;
  confirmed?: boolean;
}

export type DownlinkOutcome =
  | { ok: true; topic?: string; payload: Record<string, unknown>; bytes: number[]; fPort: number; model: string; warnings: string[] }
  | { ok: false; reason: string };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const MAX_COMMAND_CHARS = 4096;

export async function encodeDownlinkMessage(input: unknown, o: DownlinkOptions): Promise<DownlinkOutcome> {
  if (!isObj(input)) return { ok: false, reason: 'msg.payload must be {devEui|model, command, args} or {devEui|model, data}' };
  if (JSON.stringify(input).length > MAX_COMMAND_CHARS) return { ok: false, reason: `msg.payload is longer than ${MAX_COMMAND_CHARS} characters as JSON` };
  const devEui = input['devEui'] === undefined ? undefined : normalizeEui(input['devEui']);
  if (input['devEui'] !== undefined && !devEui) return { ok: false, reason: `devEui is not a 16-hex-digit EUI: ${JSON.stringify(input['devEui'])}` };
  const model = (typeof input['model'] === 'string' && input['model']) || (devEui ? o.catalogue.modelOf(devEui, undefined, o.model) : o.model);
  if (!model) return { ok: false, reason: 'no device model: give msg.payload.model, a devEui the registry knows, or set the node\'s model' };
  const entry = o.catalogue.entries.get(model);
  if (!entry) return { ok: false, reason: `unknown catalogue id "${model}"` };
  if (!entry.downlink?.supported) return { ok: false, reason: `${model} takes no downlinks (catalogue: downlink.supported is not true)` };
  let data: JsonObject;
  if (isObj(input['data'])) data = input['data'] as JsonObject;
  else if (typeof input['command'] === 'string' && input['command'] !== '') data = { [input['command']]: (input['args'] ?? true) as JsonObject[string] };
  else return { ok: false, reason: 'msg.payload needs a command (with args) or a data object' };
  const loaded = await o.catalogue.prepare(model);
  if (!loaded) return { ok: false, reason: `codec of ${model} not loaded: ${o.catalogue.loadErrors.get(model) ?? 'unknown reason'}` };
  if (!loaded.codec.encodeDownlink) return { ok: false, reason: `the codec of ${model} has no encodeDownlink` };
  const variables = devEui ? (o.catalogue.registry.byEui.get(devEui)?.variables ?? {}) : {};
  const r = loaded.codec.encodeDownlink({ data, variables });
  if (r.errors?.length || !r.bytes) return { ok: false, reason: `${model} encodeDownlink: ${(r.errors ?? ['no bytes']).join('; ')}` };
  const fPort = r.fPort ?? entry.downlink.fPort;
  if (fPort === undefined) return { ok: false, reason: `${model}: the codec gave no fPort and the catalogue has no downlink.fPort` };
  const bytes = [...r.bytes];
  const warnings = [...(r.warnings ?? [])];
  const confirmed = typeof input['confirmed'] === 'boolean' ? input['confirmed'] : (o.confirmed ?? false);
  if (o.target === 'edge') {
    if (!devEui) return { ok: false, reason: 'the edge gateway queue needs msg.payload.devEui' };
    return { ok: true, payload: { devEui, fPort, payloadHex: Buffer.from(bytes).toString('hex'), confirmed }, bytes, fPort, model, warnings };
  }
  if (!devEui) return { ok: false, reason: 'a ChirpStack downlink needs msg.payload.devEui' };
  const app = (typeof input['applicationId'] === 'string' && input['applicationId']) || o.applicationId;
  if (!app) return { ok: false, reason: 'no ChirpStack application id: set it on the node or in msg.payload.applicationId' };
  return {
    ok: true,
    topic: `application/${app}/device/${devEui}/command/down`,
    payload: { devEui, confirmed, fPort, data: Buffer.from(bytes).toString('base64') },
    bytes,
    fPort,
    model,
    warnings,
  };
}
