/**
 * The simulation engine: a fleet's devices in simulated time, sending real LoRaWAN frames that
 * virtual gateways hear, through an output, with a ground-truth ledger.
 *
 * How time works: every device has its own schedule (first report at a random point of its
 * first interval, then every interval ±1 %); one event queue, ordered by (time, device, per-
 * device sequence), drives everything, so the order of events never depends on the wall clock.
 * `speed` maps simulated to real time (`max` = no waiting); `rate` caps uplinks per real second.
 *
 * Determinism: each device draws from its own generators (radio, faults, schedule, ids, join),
 * forked from the seed in fleet order, always in the same order per event whether a fault is
 * enabled or not. The same seed, fleet and count therefore give the same ledger, byte for byte.
 * The one input from outside is a network server's join-accept (UDP mode): the DevAddr and
 * nonces it picks. To keep even that deterministic, events later than a join-request's RX2
 * window (request + 6 s) wait until the accept arrived or the join timed out (real time).
 *
 * OTAA devices join before reporting: over UDP a real network server answers through PULL_RESP
 * (the accept is decrypted with the AppKey and the session keys derived); with the MQTT and
 * `none` outputs the simulator plays the network server (DevAddr from NetID 0x13's range,
 * random JoinNonce) and ChirpStack's `join` event is published.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Reading } from '../codecs/api.ts';
import type { AesKey } from '../lorawan/aes.ts';
import { aesKey } from '../lorawan/aes.ts';
import { hex32 } from '../lorawan/bytes.ts';
import { buildDataFrame, openDataFrame } from '../lorawan/data-frame.ts';
import { reconstructFCnt } from '../lorawan/fcnt.ts';
import { buildJoinRequest, openJoinAccept, type JoinAccept } from '../lorawan/join.ts';
import { parsePhyPayload } from '../lorawan/phy-payload.ts';
import { deriveSessionKeys } from '../lorawan/session-keys.ts';
import type { Txpk } from '../lorawan/udp/types.ts';
import { ChirpstackEvents, chirpstackIdentity, type ChirpstackIdentity } from './chirpstack.ts';
import { UplinkEncoder } from './encode.ts';
import { FAULT_NAMES, mergeFaults, resolveOutages, type FaultName, type FaultOptions, type ResolvedOutage } from './faults.ts';
import { loadFleet, type Fleet, type FleetGateway } from './fleet.ts';
import { EU868_JOIN_CHANNELS, EU868_UPLINK_CHANNELS, eu868DataRate, type GatewayReception, type SimJoinRequest, type SimUplink } from './frames.ts';
import { MinHeap } from './heap.ts';
import { keysFileOf, writeKeysFile, type KeysFile } from './keys-file.ts';
import { LedgerWriter, type LedgerEntry, type LedgerGateway } from './ledger.ts';
import { lookupForFleet, type DeviceLookup } from './lookup.ts';
import { MqttChirpstackOutput, type MqttOutputOptions } from './outputs/mqtt-chirpstack.ts';
import { NullOutput, type NullOutputOptions } from './outputs/none.ts';
import type { OutputCounters, OutputHost, SimOutput } from './outputs/output.ts';
import { UdpForwarderOutput, type UdpOutputOptions } from './outputs/udp-forwarder.ts';
import { expandFleet, type Population, type SimDevice } from './population.ts';
import { receive } from './radio.ts';
import type { Rng } from './rng.ts';
import { uuidFromRng } from './uuid.ts';

export type OutputSpec =
  | ({ type: 'udp' } & UdpOutputOptions)
  | ({ type: 'mqtt' } & MqttOutputOptions)
  | ({ type: 'none' } & NullOutputOptions);

export interface SimulationOptions {
  /** A parsed fleet or the path of a fleet file. */
  fleet: Fleet | string;
  /** Default: the fleet's `seed`, else 1. */
  seed?: number;
  /** An output object or its spec. Default `{type: 'none'}`. */
  output?: SimOutput | OutputSpec;
  /** Simulated seconds per real second, or `max`. Default 1 (real time). */
  speed?: number | 'max';
  /** At most this many uplinks per real second (on top of `speed`). */
  rate?: number;
  /** Simulated start (ISO time, ms since epoch or `now`); default the fleet's `start`. */
  start?: string | number;
  /** Fault injection; each key overrides the fleet's `faults`, outages add up. */
  faults?: FaultOptions;
  /** Write the ground-truth ledger (JSON lines) here. */
  ledger?: string;
  /** Write the fleet's keys here (mode 0600). */
  keys?: string;
  /** Called with every ledger entry, in order (in-process ground truth). */
  onUplink?: (entry: LedgerEntry) => void;
  /** Tenant and application of the ChirpStack events (default: name-based ids from the fleet name). */
  chirpstack?: Partial<ChirpstackIdentity>;
  /** How long a join-request waits for a network server's join-accept, real ms. Default 5,000 (or longer at slow speeds). */
  joinTimeoutMs?: number;
  /**
   * Mixed into every device's first DevNonce. A network server that remembers DevNonces rejects
   * a second run with the same seed (as it should); change the salt to re-run against it.
   */
  devNonceSalt?: number;
  /** Device catalogue folder (default: the repository's devices/). */
  catalogueDir?: string;
  /** Device lookup instead of the catalogue (tests). */
  lookup?: DeviceLookup;
  /** Warnings (unknown catalogue files, socket errors…). Default: collected in `warnings` only. */
  onWarning?: (message: string) => void;
}

export interface RunLimit {
  /** Stop after this many more ledger lines (uplinks sent, replays included). */
  count?: number;
  /** Stop after this much more simulated time, ms. */
  durationMs?: number;
  /** Stop after this much real time, ms (a safety bound). */
  realTimeMs?: number;
}

export interface SimulationStats {
  simStart: string;
  simNow: string;
  simElapsedMs: number;
  realElapsedMs: number;
  /** Ledger lines: uplinks sent, heard or not, replays included. */
  uplinks: number;
  /** Of those, heard by at least one gateway (after faults). */
  heard: number;
  byCategory: Record<string, number>;
  joins: { requests: number; accepted: number; notHeard: number; timedOut: number; pending: number };
  faults: Record<FaultName, number>;
  encodeErrors: number;
  downlinks: { joinAccepts: number; data: number; acks: number; unmatched: number; badMic: number };
  output: { name: string; counters: OutputCounters; summary: string };
}

export interface Simulation {
  readonly fleet: Fleet;
  readonly seed: number;
  readonly population: Population;
  readonly devices: readonly SimDevice[];
  readonly gateways: readonly FleetGateway[];
  readonly output: SimOutput;
  readonly identity: ChirpstackIdentity;
  readonly warnings: readonly string[];
  /** The fleet's keys document (what `keys` writes). */
  keys(): KeysFile;
  /** Simulated now, ms since epoch. */
  now(): number;
  /** A device's current session (hex), once joined: what a network server derived too. */
  session(devEui: string): { devAddr: string; nwkSKey: string; appSKey: string; fCntUp: number } | undefined;
  /** Runs until a limit is reached (or `stop()`); may be called again to continue. Resolves after the output drained. */
  run(limit?: RunLimit): Promise<SimulationStats>;
  stats(): SimulationStats;
  /** Stops a running `run()`, drains and closes the output and the ledger. Idempotent. */
  stop(): Promise<SimulationStats>;
}

// ---------------------------------------------------------------------------------------------

const NET_ID = 0x000013;
const JOIN_RX2_MS = 6_000;
const RECENT_FRAMES = 8;
const U32 = 4294967296;

type Kind = 'join' | 'uplink' | 'replay';

interface Session {
  devAddr: number;
  devAddrHex: string;
  nwkSKey: AesKey;
  appSKey: AesKey;
  id: number;
}

interface SentFrame {
  seq: number;
  uplink: SimUplink;
  readings: Reading[] | undefined;
  sessionId: number;
}

interface DeviceState {
  d: SimDevice;
  radio: Rng;
  faults: Rng;
  schedule: Rng;
  ids: Rng;
  join: Rng;
  sub: number;
  session: Session | undefined;
  sessionCount: number;
  fCntUp: number;
  fCntDownNext: number;
  devNonce: number;
  joinAttempts: number;
  resetPending: boolean;
  recent: SentFrame[];
  appKey: AesKey | undefined;
}

interface SimEvent {
  t: number;
  dev: number;
  sub: number;
  kind: Kind;
  replay?: SentFrame;
}

interface PendingJoin {
  st: DeviceState;
  tJoin: number;
  deadline: number;
  devNonce: number;
  receptions: GatewayReception[];
  timer: NodeJS.Timeout | undefined;
  done: Promise<void>;
  resolve: () => void;
}

function makeOutput(spec: SimOutput | OutputSpec | undefined): SimOutput {
  if (!spec) return new NullOutput();
  if ('start' in spec && typeof spec.start === 'function') return spec;
  const s = spec as OutputSpec;
  switch (s.type) {
    case 'udp':
      return new UdpForwarderOutput(s);
    case 'mqtt':
      return new MqttChirpstackOutput(s);
    case 'none':
      return new NullOutput(s);
  }
}

function resolveStart(start: string | number | undefined): string | undefined {
  if (start === undefined) return undefined;
  if (start === 'now') return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const ms = typeof start === 'number' ? start : Date.parse(start);
  if (!Number.isFinite(ms)) throw new RangeError(`start must be an ISO time, ms since epoch or "now", not ${JSON.stringify(start)}`);
  return new Date(ms).toISOString();
}

/** Builds a simulation (catalogue, fleet expansion, keys file). Nothing is sent before `run()`. */
export async function createSimulation(options: SimulationOptions): Promise<Simulation> {
  let fleet = typeof options.fleet === 'string' ? loadFleet(options.fleet) : options.fleet;
  const start = resolveStart(options.start);
  if (start) fleet = { ...fleet, start };
  const warnings: string[] = [];
  let lookup = options.lookup;
  if (!lookup) {
    const found = await lookupForFleet(fleet, options.catalogueDir);
    lookup = found.lookup;
    warnings.push(...found.warnings);
  }
  const seed = options.seed ?? fleet.seed ?? 1;
  const population = expandFleet(fleet, { seed, lookup });
  warnings.push(...population.warnings);
  const faults = mergeFaults(fleet.faults, options.faults);
  for (const [k, v] of Object.entries(faults)) {
    if (typeof v === 'number' && !(v >= 0 && v <= 1)) throw new RangeError(`fault ${k} must be a probability 0..1, got ${v}`);
  }
  const outages = resolveOutages(faults.gatewayOutages, fleet.gateways, population.startMs);
  if (options.speed !== undefined && options.speed !== 'max' && !(options.speed > 0)) throw new RangeError(`speed must be > 0 or "max", got ${String(options.speed)}`);
  if (options.rate !== undefined && !(options.rate > 0)) throw new RangeError(`rate must be > 0, got ${options.rate}`);
  const sim = new Engine(fleet, seed, population, makeOutput(options.output), options, faults, outages, warnings);
  if (options.keys) writeKeysFile(options.keys, sim.keys());
  return sim;
}

class Engine implements Simulation {
  readonly devices: readonly SimDevice[];
  readonly gateways: readonly FleetGateway[];
  readonly identity: ChirpstackIdentity;
  private readonly states: DeviceState[];
  private readonly heap = new MinHeap<SimEvent>((a, b) => a.t < b.t || (a.t === b.t && (a.dev < b.dev || (a.dev === b.dev && a.sub < b.sub))));
  private readonly encoder = new UplinkEncoder();
  private readonly chirpstack: ChirpstackEvents;
  private readonly gatewayIds: string[];
  private readonly gatewayBootUs: number[];
  private readonly speed: number | 'max';
  private readonly joinTimeoutMs: number;
  private readonly ledger: LedgerWriter | undefined;
  private readonly byAddr = new Map<number, DeviceState>();
  private readonly usedAddr = new Set<number>();
  private readonly pending = new Map<number, PendingJoin>();
  private readonly encodeWarned = new Set<string>();
  private simNow: number;
  private seq = 0;
  private started = false;
  private startPromise: Promise<void> | undefined;
  private running: Promise<SimulationStats> | undefined;
  private stopRequested = false;
  private stopPromise: Promise<SimulationStats> | undefined;
  private realStarted = 0;
  private anchorReal = 0;
  private anchorSim = 0;
  private nextRateSlot = 0;
  private wake: (() => void) | undefined;
  private readonly st = {
    uplinks: 0,
    heard: 0,
    byCategory: {} as Record<string, number>,
    joins: { requests: 0, accepted: 0, notHeard: 0, timedOut: 0 },
    faults: Object.fromEntries(FAULT_NAMES.map((f) => [f, 0])) as Record<FaultName, number>,
    encodeErrors: 0,
    downlinks: { joinAccepts: 0, data: 0, acks: 0, unmatched: 0, badMic: 0 },
  };

  constructor(
    readonly fleet: Fleet,
    readonly seed: number,
    readonly population: Population,
    readonly output: SimOutput,
    private readonly options: SimulationOptions,
    private readonly faultRates: Required<FaultOptions>,
    private readonly outages: ResolvedOutage[],
    readonly warnings: string[],
  ) {
    this.devices = population.devices;
    this.gateways = population.gateways;
    this.simNow = population.startMs;
    this.identity = chirpstackIdentity(fleet.name, options.chirpstack);
    this.chirpstack = new ChirpstackEvents(this.identity, this.gateways);
    this.gatewayIds = this.gateways.map((g) => g.id.toLowerCase());
    // Each concentrator's µs counter started at its own moment (fixed per gateway id).
    this.gatewayBootUs = this.gatewayIds.map((id) => Math.imul(Number.parseInt(id.slice(-8), 16) | 0, 0x9e3779b1) >>> 0);
    this.speed = options.speed ?? 1;
    this.joinTimeoutMs = options.joinTimeoutMs ?? (this.speed === 'max' ? 5_000 : Math.max(5_000, (JOIN_RX2_MS / this.speed) * 2 + 1_000));
    for (const w of warnings) options.onWarning?.(w);
    const salt = (options.devNonceSalt ?? 0) & 0xffff;
    this.states = this.devices.map((d) => {
      const st: DeviceState = {
        d,
        radio: d.rng.fork('radio'),
        faults: d.rng.fork('faults'),
        schedule: d.rng.fork('schedule'),
        ids: d.rng.fork('ids'),
        join: d.rng.fork('join'),
        sub: 0,
        session: undefined,
        sessionCount: 0,
        fCntUp: 0,
        fCntDownNext: 0,
        devNonce: 0,
        joinAttempts: 0,
        resetPending: false,
        recent: [],
        appKey: undefined,
      };
      st.devNonce = (st.join.u32() ^ salt) & 0xffff;
      const firstAt = population.startMs + Math.floor(st.schedule.next() * d.intervalS * 1000);
      if (d.keys.activation === 'ABP') {
        const addr = Number.parseInt(d.keys.devAddr, 16) >>> 0;
        this.usedAddr.add(addr);
        this.setSession(st, addr, { nwkSKey: Buffer.from(d.keys.nwkSKey, 'hex'), appSKey: Buffer.from(d.keys.appSKey, 'hex') });
        this.schedule(st, firstAt, 'uplink');
      } else {
        st.appKey = aesKey(Buffer.from(d.keys.appKey, 'hex'));
        this.schedule(st, firstAt, 'join');
      }
      return st;
    });
    this.ledger = options.ledger ? new LedgerWriter(options.ledger) : undefined;
  }

  keys(): KeysFile {
    return keysFileOf(this.devices);
  }

  now(): number {
    return this.simNow;
  }

  session(devEui: string): { devAddr: string; nwkSKey: string; appSKey: string; fCntUp: number } | undefined {
    const st = this.states.find((x) => x.d.devEui === devEui.toLowerCase());
    const s = st?.session;
    if (!st || !s) return undefined;
    return { devAddr: s.devAddrHex, nwkSKey: s.nwkSKey.bytes.toString('hex'), appSKey: s.appSKey.bytes.toString('hex'), fCntUp: st.fCntUp };
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.options.onWarning?.(message);
  }

  private schedule(st: DeviceState, t: number, kind: Kind, replay?: SentFrame): void {
    const ev: SimEvent = { t, dev: st.d.index, sub: st.sub++, kind };
    if (replay) ev.replay = replay;
    this.heap.push(ev);
  }

  private setSession(st: DeviceState, devAddr: number, keys: { nwkSKey: Uint8Array; appSKey: Uint8Array }): void {
    if (st.session) this.byAddr.delete(st.session.devAddr);
    st.sessionCount++;
    st.session = {
      devAddr,
      devAddrHex: hex32(devAddr),
      nwkSKey: aesKey(Buffer.from(keys.nwkSKey)),
      appSKey: aesKey(Buffer.from(keys.appSKey)),
      id: st.sessionCount,
    };
    this.byAddr.set(devAddr, st);
    st.fCntUp = 0;
    st.fCntDownNext = 0;
    st.recent = [];
  }

  // ── start / run / stop ───────────────────────────────────────────────────────────────────

  private ensureStarted(): Promise<void> {
    this.startPromise ??= (async () => {
      const host: OutputHost = {
        gateways: this.gateways,
        chirpstack: this.chirpstack,
        simNow: () => this.simNow,
        downlink: (gi, txpk) => this.onDownlink(gi, txpk),
        warn: (m) => this.warn(m),
      };
      this.realStarted = performance.now();
      await this.output.start(host);
      this.started = true;
    })();
    return this.startPromise;
  }

  run(limit: RunLimit = {}): Promise<SimulationStats> {
    if (this.running) return Promise.reject(new Error('run() is already running'));
    if (this.stopRequested) return Promise.reject(new Error('the simulation was stopped'));
    this.running = this.loop(limit).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** A real-time wait that `stop()` cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }

  private async loop(limit: RunLimit): Promise<SimulationStats> {
    await this.ensureStarted();
    const countTarget = limit.count !== undefined ? this.st.uplinks + limit.count : Infinity;
    const simEnd = limit.durationMs !== undefined ? this.simNow + limit.durationMs : Infinity;
    const realEnd = limit.realTimeMs !== undefined ? performance.now() + limit.realTimeMs : Infinity;
    this.anchorReal = performance.now();
    this.anchorSim = this.simNow;
    this.nextRateSlot = 0;
    let sinceYield = 0;
    while (!this.stopRequested && this.st.uplinks < countTarget) {
      const ev = this.heap.peek();
      if (!ev) break;
      if (ev.t >= simEnd) {
        this.simNow = simEnd;
        break;
      }
      // The clock is read only when something depends on it (pacing, rate, a real-time bound).
      const now = this.speed !== 'max' || this.options.rate !== undefined || (realEnd !== Infinity && sinceYield === 0) ? performance.now() : 0;
      if (now >= realEnd) break;
      const blocking = this.blockingJoin(ev.t);
      if (blocking) {
        await blocking.done;
        continue;
      }
      if (this.speed !== 'max') {
        const due = this.anchorReal + (ev.t - this.anchorSim) / this.speed;
        if (due - now >= 1) {
          await this.sleep(Math.min(due - now, 1_000, realEnd - now));
          continue; // re-check: stop, limits, joins and new events may have changed meanwhile
        }
      }
      if (this.options.rate !== undefined && ev.kind !== 'join') {
        if (now < this.nextRateSlot - 0.5) {
          await this.sleep(Math.min(this.nextRateSlot - now, realEnd - now));
          continue;
        }
        this.nextRateSlot = Math.max(this.nextRateSlot, now) + 1000 / this.options.rate;
      }
      this.heap.pop();
      this.simNow = Math.max(this.simNow, ev.t);
      const st = this.states[ev.dev] as DeviceState;
      const wait = ev.kind === 'uplink' ? this.uplink(st, ev.t) : ev.kind === 'join' ? this.joinRequest(st, ev.t) : this.replay(st, ev.t, ev.replay as SentFrame);
      if (wait) await wait;
      if (++sinceYield >= 64) {
        sinceYield = 0;
        await yieldToIo(); // let acks, downlinks and timers in
      }
    }
    this.ledger?.flush();
    await this.output.drain();
    return this.stats();
  }

  stop(): Promise<SimulationStats> {
    this.stopPromise ??= (async () => {
      this.stopRequested = true;
      this.wake?.();
      for (const p of this.pending.values()) {
        if (p.timer) clearTimeout(p.timer);
        p.resolve();
      }
      this.pending.clear();
      if (this.running) await this.running.catch(() => undefined);
      if (this.startPromise) await this.startPromise.catch(() => undefined);
      if (this.started) await this.output.stop();
      this.ledger?.close();
      return this.stats();
    })();
    return this.stopPromise;
  }

  stats(): SimulationStats {
    const s = this.st;
    return {
      simStart: new Date(this.population.startMs).toISOString(),
      simNow: new Date(this.simNow).toISOString(),
      simElapsedMs: this.simNow - this.population.startMs,
      realElapsedMs: this.started ? performance.now() - this.realStarted : 0,
      uplinks: s.uplinks,
      heard: s.heard,
      byCategory: { ...s.byCategory },
      joins: { ...s.joins, pending: this.pending.size },
      faults: { ...s.faults },
      encodeErrors: s.encodeErrors,
      downlinks: { ...s.downlinks },
      output: { name: this.output.name, counters: this.output.counters(), summary: this.output.summary() },
    };
  }

  // ── radio ────────────────────────────────────────────────────────────────────────────────

  private tmst(gatewayIndex: number, t: number): number {
    return Math.floor(((this.gatewayBootUs[gatewayIndex] as number) + (t - this.population.startMs) * 1000) % U32);
  }

  private inOutage(gatewayIndex: number, t: number): boolean {
    for (const o of this.outages) if (o.gatewayIndex === gatewayIndex && t >= o.startMs && t < o.endMs) return true;
    return false;
  }

  /** Who hears a frame the device sends at `t` (draws radio and id randomness even for faulted frames). */
  private hear(st: DeviceState, t: number): { receptions: GatewayReception[]; outaged: string[] | undefined } {
    const heard = receive(st.radio, st.d.gatewayDistances, st.d.spreadingFactor);
    const receptions: GatewayReception[] = [];
    let outaged: string[] | undefined;
    for (const r of heard) {
      const uplinkId = st.ids.u32();
      const gi = r.gatewayIndex;
      if (this.outages.length && this.inOutage(gi, t)) {
        (outaged ??= []).push(this.gatewayIds[gi] as string);
        continue;
      }
      receptions.push({
        gatewayIndex: gi,
        gatewayId: this.gatewayIds[gi] as string,
        rssi: r.rssi,
        snr: r.snr + 0, // no -0 (rounding a small negative SNR): it prints as 0 and compares unequal in tests
        tmst: this.tmst(gi, t),
        uplinkId,
        nsTimeMs: t + 20 + (uplinkId % 60),
      });
    }
    return { receptions, outaged };
  }

  // ── joins ────────────────────────────────────────────────────────────────────────────────

  private retryJoin(st: DeviceState, t: number): void {
    const backoffS = Math.min(3_600, 15 * 2 ** Math.min(st.joinAttempts - 1, 8));
    this.schedule(st, t + Math.floor(backoffS * 1000 * (1 + st.schedule.next())), 'join');
  }

  private firstUplinkAfterJoin(st: DeviceState, tJoin: number, rxDelayMs: number): void {
    this.schedule(st, tJoin + rxDelayMs + 2_000 + Math.floor(st.schedule.next() * 8_000), 'uplink');
  }

  private joinRequest(st: DeviceState, t: number): void | Promise<void> {
    if (st.session || this.pending.has(st.d.index)) return; // stale event
    const keys = st.d.keys;
    if (keys.activation !== 'OTAA' || !st.appKey) return;
    st.joinAttempts++;
    this.st.joins.requests++;
    const devNonce = st.devNonce;
    st.devNonce = (devNonce + 1) & 0xffff;
    const ch = EU868_UPLINK_CHANNELS[st.radio.int(0, EU868_JOIN_CHANNELS - 1)] as (typeof EU868_UPLINK_CHANNELS)[number];
    const { receptions } = this.hear(st, t);
    if (receptions.length === 0) {
      this.st.joins.notHeard++;
      this.retryJoin(st, t);
      return;
    }
    if (this.output.joins === 'local') return this.acceptLocally(st, t, devNonce);
    const phyPayload = buildJoinRequest({ joinEui: keys.joinEui, devEui: st.d.devEui, devNonce }, st.appKey);
    const request: SimJoinRequest = {
      kind: 'join-request',
      device: st.d,
      timeMs: t,
      phyPayload,
      spreadingFactor: st.d.spreadingFactor,
      dr: eu868DataRate(st.d.spreadingFactor),
      frequencyHz: ch.frequencyHz,
      channel: ch.channel,
      rfChain: ch.rfChain,
      receptions,
      devNonce,
    };
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const p: PendingJoin = { st, tJoin: t, deadline: t + JOIN_RX2_MS, devNonce, receptions, timer: undefined, done, resolve };
    p.timer = setTimeout(() => this.joinTimedOut(p), this.currentJoinTimeoutMs());
    this.pending.set(st.d.index, p);
    return this.output.joinRequest?.(request);
  }

  private acceptLocally(st: DeviceState, t: number, devNonce: number): void | Promise<void> {
    const joinNonce = st.join.u32() & 0xffffff;
    let devAddr: number;
    do devAddr = (0x26000000 | (st.join.u32() & 0x01ffffff)) >>> 0; // NwkID 0x13 of NetID 0x000013
    while (this.usedAddr.has(devAddr));
    this.usedAddr.add(devAddr);
    const keys = deriveSessionKeys(st.appKey as AesKey, { joinNonce, netId: NET_ID, devNonce });
    this.setSession(st, devAddr, keys);
    this.st.joins.accepted++;
    this.firstUplinkAfterJoin(st, t, 5_000);
    return this.output.joined?.({ device: st.d, timeMs: t, devAddr: hex32(devAddr), deduplicationId: uuidFromRng(st.join) });
  }

  private blockingJoin(t: number): PendingJoin | undefined {
    if (this.pending.size === 0) return undefined;
    for (const p of this.pending.values()) if (p.deadline < t) return p;
    return undefined;
  }

  /**
   * While the network server has never answered a join, after the first few timeouts it
   * probably does not know these devices: later joins wait a tenth as long (simulated time
   * cannot move on while a join is open), and a warning says what to check.
   */
  private currentJoinTimeoutMs(): number {
    if (this.st.downlinks.joinAccepts > 0 || this.st.joins.timedOut < 3) return this.joinTimeoutMs;
    return Math.max(100, this.joinTimeoutMs / 10);
  }

  private joinTimedOut(p: PendingJoin): void {
    if (this.pending.get(p.st.d.index) !== p) return;
    this.pending.delete(p.st.d.index);
    this.st.joins.timedOut++;
    if (this.st.joins.timedOut === 3 && this.st.downlinks.joinAccepts === 0) {
      this.warn(
        `no join-accept from ${this.output.name} for 3 join-requests: does the network server know these devices (import the --keys file)? ` +
          `Joins now time out after ${this.currentJoinTimeoutMs()} ms until one is accepted.`,
      );
    }
    this.retryJoin(p.st, p.tJoin);
    p.resolve();
  }

  private onJoinAccept(p: PendingJoin, ja: JoinAccept, rxDelayMs: number): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(p.st.d.index);
    const keys = deriveSessionKeys(p.st.appKey as AesKey, { joinNonce: ja.joinNonce, netId: ja.netId, devNonce: p.devNonce });
    this.setSession(p.st, ja.devAddr >>> 0, keys);
    this.st.joins.accepted++;
    this.st.downlinks.joinAccepts++;
    this.firstUplinkAfterJoin(p.st, p.tJoin, rxDelayMs);
    p.resolve();
  }

  /** A PULL_RESP from the network server: a join-accept for a pending join, or a data downlink. */
  private onDownlink(gatewayIndex: number, txpk: Txpk): void {
    const data = txpk.data;
    const mType = (data[0] ?? 0) >>> 5;
    if (mType === 1) {
      // Join-accept: the pending join heard by this gateway with the matching RX1/RX2 tmst first.
      const candidates = [...this.pending.values()];
      const delayOf = (p: PendingJoin): number | undefined => {
        if (txpk.tmst === undefined) return undefined;
        const r = p.receptions.find((x) => x.gatewayIndex === gatewayIndex);
        if (!r) return undefined;
        const d = (txpk.tmst - r.tmst + U32) % U32;
        return d === 5_000_000 || d === 6_000_000 ? d / 1000 : undefined;
      };
      candidates.sort((a, b) => Number(delayOf(b) !== undefined) - Number(delayOf(a) !== undefined));
      for (const p of candidates) {
        const opened = openJoinAccept(data, p.st.appKey as AesKey);
        if (opened.ok && opened.joinAccept.micValid) {
          this.onJoinAccept(p, opened.joinAccept, delayOf(p) ?? 5_000);
          return;
        }
      }
      this.st.downlinks.unmatched++;
      return;
    }
    const parsed = parsePhyPayload(data);
    if (!parsed.ok || parsed.frame.kind !== 'data' || parsed.frame.direction !== 'down') {
      this.st.downlinks.unmatched++;
      return;
    }
    const frame = parsed.frame;
    const st = this.byAddr.get(frame.devAddr >>> 0);
    if (!st?.session) {
      this.st.downlinks.unmatched++;
      return;
    }
    const fc = reconstructFCnt(frame.fCnt16, st.fCntDownNext);
    const fCnt32 = fc.ok ? fc.fCnt32 : frame.fCnt16;
    const opened = openDataFrame(frame, { nwkSKey: st.session.nwkSKey, appSKey: st.session.appSKey }, fCnt32);
    if (!opened.micValid) {
      this.st.downlinks.badMic++;
      return;
    }
    st.fCntDownNext = fCnt32 + 1;
    this.st.downlinks.data++;
    if (frame.fCtrl.ack) this.st.downlinks.acks++;
  }

  // ── uplinks ──────────────────────────────────────────────────────────────────────────────

  private nextUplink(st: DeviceState, t: number): void {
    const jitter = 1 + (st.schedule.next() - 0.5) * 0.02;
    this.schedule(st, t + Math.max(1_000, Math.round(st.d.intervalS * 1000 * jitter)), 'uplink');
  }

  private uplink(st: DeviceState, t: number): void | Promise<void> {
    const session = st.session;
    if (!session) return; // joining again; this event is stale
    const d = st.d;
    const f = st.faults;
    const rates = this.faultRates;
    // Every uplink draws every fault in the same order, so toggling one leaves the others alone.
    const lost = f.next() < rates.loss;
    const corrupt = f.next() < rates.corruptMic;
    const duplicate = f.next() < rates.duplicate;
    const replay = f.next() < rates.replay;
    const reset = f.next() < rates.fcntReset;
    const corruptBits = f.u32();
    const replayPick = f.next();
    const replayDelay = f.next();

    if (reset && st.fCntUp > 0) {
      st.resetPending = true;
      if (d.keys.activation === 'OTAA') {
        // The device restarts and joins again; it reports once the new session exists.
        this.byAddr.delete(session.devAddr);
        st.session = undefined;
        st.recent = [];
        this.schedule(st, t, 'join');
        return;
      }
      st.fCntUp = 0;
      st.recent = [];
      session.id = ++st.sessionCount; // replays already scheduled belong to the old count
    }

    const readings = d.model.sample(t);
    const events = d.model.drainEvents();
    const truth = d.model.truth?.();
    const encoded = this.encoder.encode(d.codec, readings, d.variables, t, d.fPort);
    if (!encoded.ok) {
      this.st.encodeErrors++;
      if (!this.encodeWarned.has(d.catalogueId)) {
        this.encodeWarned.add(d.catalogueId);
        this.warn(`${d.catalogueId}: encodeUplink failed (${encoded.errors.join('; ')}); such uplinks are skipped`);
      }
      this.nextUplink(st, t);
      return;
    }
    const { bytes: payload, fPort } = encoded.uplink;
    const fCnt = st.fCntUp;
    st.fCntUp = fCnt + 1;
    const ch = EU868_UPLINK_CHANNELS[st.radio.int(0, EU868_UPLINK_CHANNELS.length - 1)] as (typeof EU868_UPLINK_CHANNELS)[number];
    const deduplicationId = uuidFromRng(st.ids);
    const heard = this.hear(st, t);
    let phyPayload = buildDataFrame(
      { mType: 'UnconfirmedDataUp', devAddr: session.devAddr, fCnt, fCtrl: { adr: true }, fPort, payload },
      { nwkSKey: session.nwkSKey, appSKey: session.appSKey },
    );
    const faults: FaultName[] = [];
    if (st.resetPending) {
      faults.push('fcnt-reset');
      st.resetPending = false;
    }
    if (heard.outaged) faults.push('gateway-outage');
    let receptions = heard.receptions;
    if (lost) {
      faults.push('loss');
      receptions = [];
    }
    if (corrupt) {
      faults.push('corrupt-mic');
      phyPayload = Buffer.from(phyPayload);
      const at = phyPayload.length - 4 + (corruptBits & 3);
      phyPayload[at] = (phyPayload[at] as number) ^ (1 << ((corruptBits >>> 2) & 7));
    }
    if (duplicate) faults.push('duplicate');
    const u: SimUplink = {
      kind: 'data',
      device: d,
      timeMs: t,
      phyPayload,
      spreadingFactor: d.spreadingFactor,
      dr: eu868DataRate(d.spreadingFactor),
      frequencyHz: ch.frequencyHz,
      channel: ch.channel,
      rfChain: ch.rfChain,
      receptions,
      devAddr: session.devAddrHex,
      fCnt,
      fPort,
      payload,
      deduplicationId,
      micCorrupted: corrupt,
      forcedDuplicate: false,
    };
    this.st.byCategory[d.category] = (this.st.byCategory[d.category] ?? 0) + 1;
    const seq = this.record(u, faults, heard.outaged, undefined, events, truth);
    if (replay && st.recent.length > 0) {
      const earlier = st.recent[Math.floor(replayPick * st.recent.length)] as SentFrame;
      this.schedule(st, t + 2_000 + Math.floor(replayDelay * 28_000), 'replay', earlier);
    }
    if (!corrupt && rates.replay > 0) {
      st.recent.push({ seq, uplink: u, readings: this.lastReadings, sessionId: session.id });
      if (st.recent.length > RECENT_FRAMES) st.recent.shift();
    }
    this.nextUplink(st, t);
    if (receptions.length === 0) return;
    const first = this.output.uplink(u);
    if (!duplicate) return first;
    return (async () => {
      if (first) await first;
      await this.output.uplink({ ...u, forcedDuplicate: true });
    })();
  }

  private replay(st: DeviceState, t: number, earlier: SentFrame): void | Promise<void> {
    if (!st.session || st.session.id !== earlier.sessionId) return; // the device rejoined since
    const heard = this.hear(st, t);
    const orig = earlier.uplink;
    const u: SimUplink = {
      ...orig,
      timeMs: t,
      receptions: heard.receptions,
      forcedDuplicate: false,
      micCorrupted: false,
      replayOf: orig,
    };
    const faults: FaultName[] = ['replay'];
    if (heard.outaged) faults.push('gateway-outage');
    this.record(u, faults, heard.outaged, earlier, undefined);
    if (u.receptions.length === 0) return;
    return this.output.uplink(u);
  }

  /** Readings of the last recorded uplink (kept for replays when a ledger is written). */
  private lastReadings: Reading[] | undefined;

  /** Counts the uplink and writes its ledger line; returns its sequence number. */
  private record(
    u: SimUplink,
    faults: FaultName[],
    outaged: string[] | undefined,
    replayOf: SentFrame | undefined,
    events: string[] | undefined,
    truth?: Record<string, number>,
  ): number {
    const seq = ++this.seq;
    this.st.uplinks++;
    if (u.receptions.length > 0) this.st.heard++;
    for (const f of faults) this.st.faults[f]++;
    this.lastReadings = undefined;
    if (!this.ledger && !this.options.onUplink) return seq;
    const d = u.device;
    let readings: Reading[];
    let codecErrors: string[] | undefined;
    if (replayOf?.readings) {
      readings = replayOf.readings;
    } else {
      const recvTime = new Date(u.timeMs);
      const decoded = d.codec.decodeUplink({ bytes: u.payload, fPort: u.fPort, variables: d.variables, recvTime });
      const problems = [...(decoded.errors ?? [])];
      readings = [];
      if (decoded.data) {
        const n = d.codec.normalizeUplink(decoded.data, { variables: d.variables, recvTime });
        readings = n.readings;
        problems.push(...(n.errors ?? []));
      }
      if (problems.length) codecErrors = [...(codecErrors ?? []), ...problems];
    }
    this.lastReadings = readings;
    const gateways: LedgerGateway[] = u.receptions.map((r) => ({ id: r.gatewayId, rssi: r.rssi, snr: r.snr }));
    const entry: LedgerEntry = {
      seq,
      time: new Date(u.timeMs).toISOString(),
      devEui: d.devEui,
      device: d.name,
      catalogueId: d.catalogueId,
      category: d.category,
      devAddr: u.devAddr,
      fCnt: u.fCnt,
      fPort: u.fPort,
      dr: u.dr,
      frequency: u.frequencyHz,
      payloadHex: Buffer.from(u.payload).toString('hex'),
      readings,
      tags: d.tags,
      variables: d.variables,
      faults,
      gateways,
      deduplicationId: u.deduplicationId,
    };
    if (outaged) entry.outageGateways = outaged;
    if (replayOf) entry.replayOf = replayOf.seq;
    if (codecErrors) entry.codecErrors = codecErrors;
    if (events?.length) entry.events = events;
    if (truth) entry.truth = truth;
    this.ledger?.write(entry);
    this.options.onUplink?.(entry);
    return seq;
  }
}
