/**
 * An MQTT downlink command with `object` instead of `data` (ChirpStack: the device profile's
 * `encodeDownlink`): encoded by the device's catalogue codec — the model from the device
 * registry, the variables from the catalogue's defaults and the registry, as
 * `lorawan-edge downlink --command` does. The codec's `fPort` wins when it gives one (ChirpStack
 * falls back to the command's); its `errors`, a throw, no bytes or too many bytes refuse the
 * command, with a one-line reason.
 */
import type { JsonObject } from '../../codecs/api.ts';
import { perDevice, type DecodeContext } from '../pipeline/decode.ts';
import { MAX_DOWNLINK_PAYLOAD } from './command-down.ts';

export type EncodeOutcome = { ok: true; bytes: Buffer; fPort: number } | { ok: false; reason: 'no_codec' | 'encode_error'; detail: string };

export function encodeCommandObject(devEui: string, object: Record<string, unknown>, fPort: number, ctx: Pick<DecodeContext, 'registry' | 'catalogue'>): EncodeOutcome {
  const reg = ctx.registry().byEui.get(devEui);
  if (!reg) return { ok: false, reason: 'no_codec', detail: `${devEui} is not in the device registry: its model (and codec) is unknown` };
  const found = ctx.catalogue(reg.model);
  if (!found) return { ok: false, reason: 'no_codec', detail: `model ${reg.model} of ${devEui} has no codec loaded` };
  const codec = perDevice(found.codec, devEui);
  if (!codec.encodeDownlink) return { ok: false, reason: 'no_codec', detail: `model ${reg.model} has no downlink encoder` };
  const variables: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(found.entry.variables ?? {})) if (v.default !== undefined) variables[k] = v.default;
  Object.assign(variables, reg.variables);
  let r: ReturnType<NonNullable<typeof codec.encodeDownlink>>;
  try {
    r = codec.encodeDownlink({ data: object as JsonObject, variables });
  } catch (err) {
    return { ok: false, reason: 'encode_error', detail: `encodeDownlink threw: ${(err instanceof Error ? err.message : String(err)).slice(0, 300)}` };
  }
  if (r.errors?.length) return { ok: false, reason: 'encode_error', detail: r.errors.map((e) => String(e).slice(0, 200)).join('; ').slice(0, 500) };
  const bytes = r.bytes;
  if (!Array.isArray(bytes)) return { ok: false, reason: 'encode_error', detail: 'encodeDownlink returned no bytes' };
  if (bytes.length > MAX_DOWNLINK_PAYLOAD) return { ok: false, reason: 'encode_error', detail: `encodeDownlink returned ${bytes.length} bytes > ${MAX_DOWNLINK_PAYLOAD}` };
  if (bytes.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) return { ok: false, reason: 'encode_error', detail: 'encodeDownlink returned something that is not a byte (0..255)' };
  const port = Number.isInteger(r.fPort) && (r.fPort as number) >= 1 && (r.fPort as number) <= 223 ? (r.fPort as number) : fPort;
  return { ok: true, bytes: Buffer.from(bytes), fPort: port };
}
