/**
 * Fault injection settings: what can go wrong between a device and the application, each as a
 * probability per uplink (0..1) plus gateway outage windows. The same settings come from the
 * fleet file (`faults:`) and the command line (flags win).
 *
 * | fault         | what the receiving side sees                                                   |
 * |---------------|---------------------------------------------------------------------------------|
 * | `loss`        | nothing: no gateway hears the frame                                             |
 * | `corrupt-mic` | UDP: the frame with one MIC bit flipped (must fail verification); MQTT: nothing  |
 * |               | (ChirpStack drops frames with a bad MIC)                                        |
 * | `duplicate`   | UDP: the same rxpk twice from one gateway; MQTT: the same event twice           |
 * | `replay`      | UDP: an earlier frame of the device re-sent later (its FCnt repeats); MQTT: the  |
 * |               | earlier event published again (same deduplicationId, as a broker redelivers)    |
 * | `fcnt-reset`  | the device restarts: ABP counts from 0 again, OTAA rejoins (new session, FCnt 0) |
 * | `gateway-outage` | the gateway hears nothing between start and start + duration               |
 */
import { parseDuration, parseInstant } from './duration.ts';
import type { FleetGateway } from './fleet.ts';

export const FAULT_NAMES = ['loss', 'corrupt-mic', 'duplicate', 'replay', 'fcnt-reset', 'gateway-outage'] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** `gateway` is a gateway id or name; `start` an ISO time or a duration after the simulated start. */
export interface GatewayOutageSpec {
  gateway: string;
  start: string | number;
  duration: string | number;
}

export interface FaultOptions {
  loss?: number;
  corruptMic?: number;
  duplicate?: number;
  replay?: number;
  fcntReset?: number;
  gatewayOutages?: GatewayOutageSpec[];
}

export interface ResolvedOutage {
  gatewayIndex: number;
  gatewayId: string;
  startMs: number;
  endMs: number;
}

export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

/** `5%`, `0.05` → 0.05. Throws FaultSpecError for anything outside 0..1 (or 0..100 %). */
export function parseProbability(text: string, what = 'probability'): number {
  const s = text.trim();
  const pct = s.endsWith('%');
  const n = Number(pct ? s.slice(0, -1) : s);
  if (s === '' || s === '%' || !Number.isFinite(n) || n < 0) throw new FaultSpecError(`${what} must be a fraction 0..1 or a percentage like 5%, not "${text}"`);
  const p = pct ? n / 100 : n;
  if (p > 1) throw new FaultSpecError(`${what} must be at most 1 (or 100%), not "${text}"${pct ? '' : ` (for percent write ${text}%)`}`);
  return p;
}

/** `<gateway>@<start>+<duration>`, e.g. `0016c001f1530001@2h+30m` or `gw-station@2026-11-23T02:00:00Z+1h`. */
export function parseOutageSpec(text: string): GatewayOutageSpec {
  const at = text.indexOf('@');
  const plus = text.lastIndexOf('+');
  if (at <= 0 || plus <= at + 1 || plus === text.length - 1) {
    throw new FaultSpecError(`gateway outage must look like <gateway>@<start>+<duration> (e.g. 0016c001f1530001@2h+30m), not "${text}"`);
  }
  const duration = text.slice(plus + 1);
  if (parseDuration(duration) === undefined) throw new FaultSpecError(`gateway outage "${text}": "${duration}" is not a duration (e.g. 30m, 2h)`);
  return { gateway: text.slice(0, at), start: text.slice(at + 1, plus), duration };
}

function asDuration(v: string | number): number | undefined {
  return typeof v === 'number' ? (Number.isFinite(v) && v >= 0 ? v * 1000 : undefined) : parseDuration(v);
}

/** Resolves outage specs against the fleet's gateways; throws FaultSpecError naming the bad one. */
export function resolveOutages(specs: readonly GatewayOutageSpec[], gateways: readonly FleetGateway[], startMs: number): ResolvedOutage[] {
  return specs.map((spec, i) => {
    const label = `gateway outage ${i + 1} (${spec.gateway})`;
    const key = spec.gateway.toLowerCase();
    const gatewayIndex = gateways.findIndex((g) => g.id.toLowerCase() === key || g.name?.toLowerCase() === key);
    if (gatewayIndex < 0) {
      throw new FaultSpecError(`${label}: no gateway with id or name "${spec.gateway}" (fleet has ${gateways.map((g) => g.name ?? g.id).join(', ')})`);
    }
    const start = typeof spec.start === 'number' ? startMs + spec.start * 1000 : parseInstant(spec.start, startMs);
    if (start === undefined) throw new FaultSpecError(`${label}: start "${spec.start}" is neither an ISO time nor a duration after the start`);
    const duration = asDuration(spec.duration);
    if (duration === undefined) throw new FaultSpecError(`${label}: duration "${spec.duration}" is not a duration`);
    return { gatewayIndex, gatewayId: (gateways[gatewayIndex] as FleetGateway).id.toLowerCase(), startMs: start, endMs: start + duration };
  });
}

/** Fleet settings overridden by explicit ones (undefined keeps the fleet's); outages add up. */
export function mergeFaults(fleet: FaultOptions | undefined, explicit: FaultOptions | undefined): Required<FaultOptions> {
  const pick = (k: 'loss' | 'corruptMic' | 'duplicate' | 'replay' | 'fcntReset'): number => explicit?.[k] ?? fleet?.[k] ?? 0;
  return {
    loss: pick('loss'),
    corruptMic: pick('corruptMic'),
    duplicate: pick('duplicate'),
    replay: pick('replay'),
    fcntReset: pick('fcntReset'),
    gatewayOutages: [...(fleet?.gatewayOutages ?? []), ...(explicit?.gatewayOutages ?? [])],
  };
}
