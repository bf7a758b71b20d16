/**
 * The decode node's work without Node-RED: input → ChirpStack event model → the gateway's
 * `eventToRecord` (the same device lookup, codec choice, decode and normalize as the daemon)
 * → what the node outputs. The pipeline record rides along in the message, so the durable
 * InfluxDB node stores exactly what the gateway would store.
 */
import type { JsonObject, Reading } from '../../codecs/api.ts';
import { eventToRecord, type DecodeContext, type UndecodedReason } from '../../gateway/pipeline/decode.ts';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../../gateway/pipeline/record.ts';
import type { DeviceCatalogue } from './catalogue.ts';
import { parseUplinkInput, type InputFormat } from './uplink-input.ts';

export interface DecodedPayload {
  devEui: string;
  fPort: number;
  fCnt: number;
  time: string;
  data?: JsonObject;
  readings: Reading[];
  warnings: string[];
  errors: string[];
  device: DeviceSnapshot;
}

export type DecodeOutcome =
  | { ok: true; payload: DecodedPayload; record: UplinkRecord; format: InputFormat }
  | { ok: false; reason: string; code: 'bad_input' | 'not_uplink' | UndecodedReason; record?: PipelineRecord };

export interface DecodeOptions {
  catalogue: DeviceCatalogue;
  context: DecodeContext;
  /** the node's own codec setting (used when neither registry nor device profile name it) */
  fallbackModel?: string;
  /** name of the Node-RED node, stored as the record's source */
  source: string;
}

/** Synchronous when the codec is loaded; a script codec met for the first time is loaded first. */
export async function decodeMessage(payload: unknown, topic: unknown, o: DecodeOptions): Promise<DecodeOutcome> {
  const input = parseUplinkInput(payload, topic);
  if (!input.ok) return { ok: false, reason: input.error, code: 'bad_input' };
  const ev = input.event;
  if (ev.kind !== 'up') return { ok: false, reason: `a ChirpStack "${ev.kind}" event has no payload to decode`, code: 'not_uplink', record: eventToRecord(ev, o.source, o.context).record };
  const model = o.catalogue.modelOf(ev.deviceInfo.devEui, ev.deviceInfo.deviceProfileName, o.fallbackModel);
  if (model && !o.catalogue.loaded(model)) await o.catalogue.prepare(model);
  const out = eventToRecord(ev, o.source, o.context);
  const r = out.record as UplinkRecord;
  if (out.undecoded) {
    const why =
      out.undecoded === 'unknown_device'
        ? `unknown device ${r.devEui}: not in the registry, device profile "${ev.deviceInfo.deviceProfileName}" not mapped, and no codec set on the node`
        : out.undecoded === 'codec_error'
          ? `codec ${out.model ?? '?'} gave no readings: ${(r.decoded?.errors ?? []).join('; ') || o.catalogue.loadErrors.get(model ?? '') || 'no data'}`
          : out.undecoded === 'no_payload'
            ? 'no application payload (fPort 0 or empty frame)'
            : `no catalogue codec for ${r.devEui}; ChirpStack's own object kept`;
    if (model && !o.catalogue.entries.has(model)) return { ok: false, reason: `unknown catalogue id "${model}"`, code: 'unknown_device', record: r };
    return { ok: false, reason: why, code: out.undecoded, record: r };
  }
  return { ok: true, format: input.format, record: r, payload: decodedPayload(r) };
}

/** What the decode node (and `lorawan mqtt in`, for what it stored) puts in `msg.payload`. */
export function decodedPayload(r: UplinkRecord): DecodedPayload {
  const d = r.decoded;
  return {
    devEui: r.devEui,
    fPort: r.fPort,
    fCnt: r.fCnt,
    time: new Date(r.time).toISOString(),
    ...(d?.data ? { data: d.data } : {}),
    readings: d?.readings ?? [],
    warnings: d?.warnings ?? [],
    errors: d?.errors ?? [],
    device: r.device,
  };
}
