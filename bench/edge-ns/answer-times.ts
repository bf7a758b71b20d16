/**
 * Answer times for bench/edge-ns: PUSH_DATA sent → matching PULL_RESP received, per kind (ACK,
 * join-accept) and per receive window, with the uplinks that got no answer at all.
 *
 * The virtual forwarder's `tmst` must run in real time: the network server judges the receive
 * windows from it (gateway/ns/gateway-clock.ts), so a counter that advanced per frame rather
 * than per µs would make queued frames look fresh, or fresh ones late. Frames are pre-built (the
 * crypto stays out of the paced loop) with a placeholder `tmst` of ten digits, stamped in place
 * with the counter's value at the moment of sending; the counter starts at 1.5e9 µs, so it keeps
 * ten digits for 46 minutes (no wrap during a bench run).
 */
import { performance } from 'node:perf_hooks';

export const TMST_PLACEHOLDER = 1_000_000_000;
const PLACEHOLDER_TEXT = `"tmst":${TMST_PLACEHOLDER}`;
const U32_MAX = 0xffff_ffff;

/** A concentrator's free-running µs counter, in real time, always ten decimal digits. */
export class ConcentratorClock {
  constructor(
    private readonly origin = performance.now(),
    private readonly base = 1_500_000_000,
  ) {}

  now(): number {
    return this.at(performance.now());
  }

  /** The counter at `t` (a performance.now() value): when a frame was heard, not when it was sent. */
  at(t: number): number {
    const c = this.base + Math.floor((t - this.origin) * 1000);
    if (c > U32_MAX) throw new Error('the bench ran past the range of its tmst counter (46 min)');
    return c;
  }
}

/** Where the ten digits of the placeholder tmst are in a pre-built PUSH_DATA. */
export function tmstOffset(datagram: Buffer): number {
  const i = datagram.indexOf(PLACEHOLDER_TEXT, 12, 'latin1');
  if (i < 0) throw new Error(`no ${PLACEHOLDER_TEXT} in the datagram`);
  return i + PLACEHOLDER_TEXT.length - 10;
}

/** Writes `tmst` (ten digits) over the placeholder at `offset`. */
export function stampTmst(datagram: Buffer, offset: number, tmst: number): void {
  const s = String(tmst);
  if (s.length !== 10) throw new Error(`tmst ${s} is not ten digits`);
  datagram.write(s, offset, 'latin1');
}

export type AnswerKind = 'ack' | 'join';
export type AnswerWindow = 'rx1' | 'rx2';

/** Downlink tmst − uplink tmst, µs: data RX1 1 s / RX2 2 s, join-accept 5 s / 6 s (EU868 defaults). */
const DELAYS: readonly (readonly [AnswerKind, AnswerWindow, number])[] = [
  ['ack', 'rx1', 1_000_000],
  ['ack', 'rx2', 2_000_000],
  ['join', 'rx1', 5_000_000],
  ['join', 'rx2', 6_000_000],
];

export interface AnswerSummary {
  sent: number;
  answered: number;
  rx1: number;
  rx2: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

/**
 * A frame heard by several gateways (`--heard-by`) is one uplink with one tmst per gateway (each
 * concentrator has its own counter); the network server answers through one of them. Each copy
 * is registered with the uplink's `id` and its gateway; the first copy sent starts the clock, the
 * answer through any copy stops it, and the uplink counts once.
 */
export class AnswerTimes {
  /** `kind:gateway:uplink tmst` → uplink id */
  private readonly sent = new Map<string, number>();
  /** uplink id → when its first copy was sent (performance.now()) and the keys of its copies */
  private readonly uplinks = new Map<number, { at: number; keys: string[] }>();
  private nextId = -1;
  private readonly sentCount: Record<AnswerKind, number> = { ack: 0, join: 0 };
  readonly answers: { kind: AnswerKind; window: AnswerWindow; ms: number }[] = [];

  /** A PUSH_DATA holding the uplink was sent at `at`; `copy` names the uplink and the gateway of this copy (default: an uplink of its own, gateway 0). */
  sentAt(kind: AnswerKind, uplinkTmst: number, at: number, copy?: { id: number; gateway: number }): void {
    const id = copy?.id ?? this.nextId--;
    const key = `${kind}:${copy?.gateway ?? 0}:${uplinkTmst >>> 0}`;
    let u = this.uplinks.get(id);
    if (!u) {
      u = { at, keys: [] };
      this.uplinks.set(id, u);
      this.sentCount[kind]++;
    }
    u.keys.push(key);
    this.sent.set(key, id);
  }

  /** A PULL_RESP with `txTmst` arrived at `gateway`'s forwarder at `at`: matched to its uplink (true) or not. */
  resp(txTmst: number, at: number, gateway = 0): boolean {
    for (const [kind, window, delay] of DELAYS) {
      const id = this.sent.get(`${kind}:${gateway}:${(txTmst - delay) >>> 0}`);
      if (id === undefined) continue;
      const u = this.uplinks.get(id);
      if (!u) continue;
      for (const k of u.keys) this.sent.delete(k);
      this.uplinks.delete(id);
      this.answers.push({ kind, window, ms: at - u.at });
      return true;
    }
    return false;
  }

  summary(kind: AnswerKind): AnswerSummary {
    const mine = this.answers.filter((a) => a.kind === kind);
    const ms = mine.map((a) => a.ms);
    return {
      sent: this.sentCount[kind],
      answered: mine.length,
      rx1: mine.filter((a) => a.window === 'rx1').length,
      rx2: mine.filter((a) => a.window === 'rx2').length,
      p50Ms: quantile(ms, 0.5),
      p99Ms: quantile(ms, 0.99),
      maxMs: ms.length ? Math.max(...ms) : NaN,
    };
  }
}
