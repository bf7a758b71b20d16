/**
 * Virtual Semtech UDP packet forwarders (protocol v2), one UDP socket per fleet gateway, all
 * talking to one network server `host:port`:
 *
 * - every reception of a frame becomes a PUSH_DATA with one `rxpk` (tmst, time, chan, rfch, freq,
 *   stat 1, LORA, SFxBW125, 4/5, rssi, lsnr, size, data) from the socket of the gateway that
 *   heard it; PUSH_ACKs are matched by token, and those not back within `ackTimeoutMs` count as
 *   missing — the stock forwarder never retransmits;
 * - optionally (`resendMs`, `simulate --udp-resend <ms>`) a forwarder that keeps each PUSH_DATA
 *   until its PUSH_ACK and sends it again, byte for byte (same token), every `resendMs`, at most
 *   `resendRetries` times, at most `resendQueue` datagrams kept (the oldest is given up when a
 *   new one would exceed it) — what a forwarder with a backlog does through a network server
 *   restart; counted as resent / given up / dropped. While any PUSH_DATA is being sent again
 *   the simulation waits (as for `maxInFlight`): at `--speed max` a device sends again within
 *   a second, so a new frame would otherwise overtake its own backlog and the network server
 *   would rightly refuse the older counters as replays — a real device sends every few minutes;
 * - PULL_DATA at start and every `keepaliveMs` (real time) keeps the downlink route open; the
 *   start waits (bounded) for the first PULL_ACKs so the server knows every gateway before the
 *   first join-request;
 * - a PULL_RESP is answered with TX_ACK (`error: NONE`) and its txpk handed to the simulator
 *   (join-accepts, ACKs, MAC commands);
 * - a `stat` PUSH_DATA every `statIntervalMs` with rx/tx counters and the gateway position;
 * - back-pressure: at most `maxInFlight` PUSH_DATA without ack at once; the simulation waits
 *   for room, so `--speed max` cannot overrun a local server's socket buffer.
 *
 * Sockets are `connect()`ed to the server, so only its datagrams are read.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import type { Rxpk, Stat } from '../../lorawan/udp/types.ts';
import type { FleetGateway } from '../fleet.ts';
import { rxpkTime, type GatewayReception, type SimJoinRequest, type SimUplink } from '../frames.ts';
import { Waiters, type OutputCounters, type OutputHost, type SimOutput } from './output.ts';

export interface UdpOutputOptions {
  host: string;
  port: number;
  /** PULL_DATA period, real ms. Default 10,000. */
  keepaliveMs?: number;
  /** How long to wait for PUSH_ACK / PULL_ACK, real ms. Default 2,000. */
  ackTimeoutMs?: number;
  /** Gateway status period, real ms; 0 = never. Default 30,000. */
  statIntervalMs?: number;
  /** PUSH_DATA awaiting their ack at once. Default 512. */
  maxInFlight?: number;
  /** Keep each PUSH_DATA until its PUSH_ACK and send it again after this many real ms; 0/absent = never (the stock forwarder). */
  resendMs?: number;
  /** Resends of one PUSH_DATA before it is given up. Default 120. */
  resendRetries?: number;
  /** PUSH_DATA kept for resending at once (all gateways); past it the oldest is given up. Default 10,000. */
  resendQueue?: number;
}

/** A PUSH_DATA awaiting its ack: when it was last sent and, with resend on, its bytes. */
interface Pending {
  at: number;
  datagram?: Buffer;
  sends: number;
}

/** The rxpk of one reception of a frame. */
export function rxpkOf(frame: SimUplink | SimJoinRequest, r: GatewayReception): Rxpk {
  return {
    tmst: r.tmst,
    time: rxpkTime(frame.timeMs),
    chan: frame.channel,
    rfch: frame.rfChain,
    freq: frame.frequencyHz / 1e6,
    stat: 1,
    modu: 'LORA',
    datr: `SF${frame.spreadingFactor}BW125`,
    codr: '4/5',
    rssi: r.rssi,
    lsnr: r.snr,
    size: frame.phyPayload.length,
    data: frame.phyPayload,
  };
}

/** The parts of a frame's rxpk JSON that all its receptions share. */
export interface RxpkParts {
  /** `"time":…` up to and including `"rssi":` */
  middle: string;
  /** `,"size":…,"data":"…"}]}` */
  tail: string;
}

export function rxpkParts(frame: SimUplink | SimJoinRequest): RxpkParts {
  const p = frame.phyPayload;
  return {
    middle:
      `,"time":"${rxpkTime(frame.timeMs)}","chan":${frame.channel},"rfch":${frame.rfChain},"freq":${frame.frequencyHz / 1e6},` +
      `"stat":1,"modu":"LORA","datr":"SF${frame.spreadingFactor}BW125","codr":"4/5","rssi":`,
    tail: `,"size":${p.length},"data":"${p.toString('base64')}"}]}`,
  };
}

/**
 * A complete PUSH_DATA datagram for one reception: the bytes `encodeUdpPacket` produces for
 * `{rxpk: [rxpkOf(frame, r)]}` (a unit test holds them equal), assembled from a template because
 * a frame heard by several gateways differs only in tmst, rssi, lsnr and the EUI.
 */
export function pushDataDatagram(frame: SimUplink | SimJoinRequest, r: GatewayReception, token: number, parts: RxpkParts = rxpkParts(frame)): Buffer {
  const json = `{"rxpk":[{"tmst":${r.tmst}${parts.middle}${r.rssi},"lsnr":${r.snr}${parts.tail}`;
  const out = Buffer.allocUnsafe(12 + json.length);
  out[0] = 2;
  out[1] = token >>> 8;
  out[2] = token & 0xff;
  out[3] = 0x00;
  out.write(r.gatewayId, 4, 8, 'hex');
  out.write(json, 12, 'latin1'); // ASCII only
  return out;
}

interface VirtualGateway {
  index: number;
  eui: string;
  gw: FleetGateway;
  socket: Socket;
  nextToken: number;
  /** token → the PUSH_DATA awaiting its ack (insertion order = first send order) */
  pushPending: Map<number, Pending>;
  pullPending: Map<number, number>;
  rxnb: number;
  txnb: number;
  dwnb: number;
  pulledOnce: boolean;
}

export class UdpForwarderOutput implements SimOutput {
  readonly joins = 'network' as const;
  readonly name: string;
  private readonly keepaliveMs: number;
  private readonly ackTimeoutMs: number;
  private readonly statIntervalMs: number;
  private readonly maxInFlight: number;
  private readonly resendMs: number;
  private readonly resendRetries: number;
  private readonly resendQueue: number;
  /** PUSH_DATA held for resending (all gateways) */
  private held = 0;
  /** held PUSH_DATA sent more than once and not yet acknowledged (the server is not answering) */
  private resending = 0;
  private host: OutputHost | undefined;
  private gateways: VirtualGateway[] = [];
  private timers: NodeJS.Timeout[] = [];
  private inFlight = 0;
  private readonly room = new Waiters();
  private readonly settled = new Waiters();
  private stopped = false;
  private readonly c = {
    pushData: 0,
    pushAck: 0,
    pushAckMissing: 0,
    pullData: 0,
    pullAck: 0,
    pullAckMissing: 0,
    pullResp: 0,
    txAck: 0,
    statPushData: 0,
    badDatagrams: 0,
    sendErrors: 0,
    pushResent: 0,
    pushResendGaveUp: 0,
    pushResendDropped: 0,
  };

  constructor(private readonly options: UdpOutputOptions) {
    this.name = `udp ${options.host}:${options.port}`;
    this.keepaliveMs = options.keepaliveMs ?? 10_000;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 2_000;
    this.statIntervalMs = options.statIntervalMs ?? 30_000;
    this.maxInFlight = options.maxInFlight ?? 512;
    this.resendMs = options.resendMs ?? 0;
    this.resendRetries = options.resendRetries ?? 120;
    this.resendQueue = options.resendQueue ?? 10_000;
  }

  async start(host: OutputHost): Promise<void> {
    this.host = host;
    // Resolve once, up front: a name that does not resolve is one clear error, not one per socket.
    let address: string;
    try {
      address = (await lookup(this.options.host, { family: 4 })).address;
    } catch (err) {
      throw new Error(`${this.name}: cannot resolve ${this.options.host}: ${(err as Error).message}`);
    }
    const sockets: Socket[] = [];
    const connecting = Promise.all(
      host.gateways.map(async (gw, index): Promise<VirtualGateway> => {
        const socket = createSocket('udp4');
        sockets.push(socket);
        const v: VirtualGateway = {
          index,
          eui: gw.id.toLowerCase(),
          gw,
          socket,
          // Tokens start apart per gateway (not random: runs stay reproducible on the wire).
          nextToken: (index * 7919) & 0xffff,
          pushPending: new Map(),
          pullPending: new Map(),
          rxnb: 0,
          txnb: 0,
          dwnb: 0,
          pulledOnce: false,
        };
        socket.on('message', (msg) => this.onMessage(v, msg));
        socket.on('error', (err) => {
          this.c.sendErrors++;
          if (this.c.sendErrors <= 3) host.warn(`gateway ${v.eui}: UDP socket error: ${err.message}`);
        });
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.connect(this.options.port, address, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        return v;
      }),
    );
    try {
      this.gateways = await connecting;
    } catch (err) {
      for (const sk of sockets) {
        try {
          sk.close();
        } catch {
          // already closed by the failure
        }
      }
      throw new Error(`${this.name}: ${(err as Error).message}`);
    }
    for (const g of this.gateways) this.pull(g);
    const sweepEvery = Math.max(this.resendMs > 0 ? 5 : 20, Math.min(250, this.ackTimeoutMs / 4, this.resendMs > 0 ? this.resendMs / 2 : Infinity));
    this.timers.push(setInterval(() => this.sweep(), sweepEvery));
    this.timers.push(setInterval(() => this.gateways.forEach((g) => this.pull(g)), this.keepaliveMs));
    if (this.statIntervalMs > 0) this.timers.push(setInterval(() => this.gateways.forEach((g) => this.stat(g)), this.statIntervalMs));
    // Let the server learn every gateway's downlink route before the first join-request.
    const deadline = performance.now() + this.ackTimeoutMs;
    while (!this.gateways.every((g) => g.pulledOnce) && performance.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, 5));
    }
    if (!this.gateways.every((g) => g.pulledOnce)) {
      host.warn(`no PULL_ACK from ${this.name} within ${this.ackTimeoutMs} ms: is the network server listening? (sending anyway)`);
    }
  }

  private send(g: VirtualGateway, datagram: Buffer): void {
    g.socket.send(datagram, (err) => {
      if (err) {
        this.c.sendErrors++;
        if (this.c.sendErrors <= 3) this.host?.warn(`gateway ${g.eui}: send failed: ${err.message}`);
      }
    });
  }

  private token(g: VirtualGateway): number {
    const t = g.nextToken;
    g.nextToken = (t + 1) & 0xffff;
    return t;
  }

  private pull(g: VirtualGateway): void {
    if (this.stopped) return;
    const token = this.token(g);
    if (g.pullPending.delete(token)) this.c.pullAckMissing++;
    g.pullPending.set(token, performance.now());
    this.c.pullData++;
    this.send(g, encodeUdpPacket({ type: 'PULL_DATA', version: 2, token, gatewayEui: g.eui }));
  }

  private stat(g: VirtualGateway): void {
    if (this.stopped || !this.host) return;
    const d = new Date(this.host.simNow());
    const stat: Stat = {
      time: `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)} GMT`,
      lati: g.gw.lat,
      long: g.gw.lon,
      alti: g.gw.alt ?? 0,
      rxnb: g.rxnb,
      rxok: g.rxnb,
      rxfw: g.rxnb,
      ackr: this.c.pushData === 0 ? 100 : Math.round((1000 * this.c.pushAck) / this.c.pushData) / 10,
      dwnb: g.dwnb,
      txnb: g.txnb,
    };
    const token = this.token(g);
    this.inFlight++;
    this.c.statPushData++;
    this.sendPush(g, token, encodeUdpPacket({ type: 'PUSH_DATA', version: 2, token, gatewayEui: g.eui, rxpk: [], stat, rejected: [] }));
  }

  /** Sends a PUSH_DATA and keeps it until its ack (with its bytes when resend is on). */
  private sendPush(g: VirtualGateway, token: number, datagram: Buffer): void {
    if (this.resendMs > 0) {
      if (this.held >= this.resendQueue) this.dropOldestHeld();
      this.held++;
      g.pushPending.set(token, { at: performance.now(), datagram, sends: 1 });
    } else g.pushPending.set(token, { at: performance.now(), sends: 1 });
    this.send(g, datagram);
  }

  /** The resend queue is full: the oldest held PUSH_DATA (of any gateway) is given up. */
  private dropOldestHeld(): void {
    let oldest: { g: VirtualGateway; token: number; at: number } | undefined;
    for (const g of this.gateways) {
      for (const [token, p] of g.pushPending) {
        if (!p.datagram) continue;
        if (!oldest || p.at < oldest.at) oldest = { g, token, at: p.at };
        break;
      }
    }
    if (!oldest) return;
    oldest.g.pushPending.delete(oldest.token);
    this.held--;
    this.c.pushResendDropped++;
    this.c.pushAckMissing++;
    this.acked();
  }

  private forget(p: Pending): void {
    if (p.datagram) this.held--;
    if (p.sends > 1) this.resending--;
  }

  /** Whether new frames must wait: too many in flight, or a backlog being resent (kept in order). */
  private mustWait(): boolean {
    return this.inFlight >= this.maxInFlight || this.resending > 0;
  }

  private push(frame: SimUplink | SimJoinRequest, r: GatewayReception, parts: RxpkParts): void {
    const g = this.gateways[r.gatewayIndex];
    if (!g) return;
    const token = this.token(g);
    const stale = g.pushPending.get(token);
    if (stale) {
      // 65,536 datagrams later the token is back while still unacknowledged: that one is lost.
      this.c.pushAckMissing++;
      this.inFlight--;
      this.forget(stale);
      g.pushPending.delete(token);
    }
    g.rxnb++;
    this.inFlight++;
    this.c.pushData++;
    this.sendPush(g, token, pushDataDatagram(frame, r, token, parts));
  }

  private sendFrame(frame: SimUplink | SimJoinRequest, receptions: readonly GatewayReception[]): void | Promise<void> {
    if (this.stopped) return;
    const parts = rxpkParts(frame);
    for (const r of receptions) this.push(frame, r, parts);
    if (this.mustWait()) return this.waitForRoom();
  }

  private async waitForRoom(): Promise<void> {
    while (this.mustWait() && !this.stopped) await this.room.wait();
  }

  uplink(u: SimUplink): void | Promise<void> {
    // A forced duplicate is the same reception delivered again by the first gateway.
    return this.sendFrame(u, u.forcedDuplicate ? u.receptions.slice(0, 1) : u.receptions);
  }

  joinRequest(j: SimJoinRequest): void | Promise<void> {
    return this.sendFrame(j, j.receptions);
  }

  private acked(): void {
    this.inFlight--;
    if (!this.mustWait()) this.room.wakeAll();
    if (this.inFlight === 0) this.settled.wakeAll();
  }

  private onMessage(g: VirtualGateway, msg: Buffer): void {
    const decoded = decodeUdpPacket(msg);
    if (!decoded.ok) {
      this.c.badDatagrams++;
      return;
    }
    const p = decoded.packet;
    switch (p.type) {
      case 'PUSH_ACK': {
        const pending = g.pushPending.get(p.token);
        if (pending) {
          g.pushPending.delete(p.token);
          this.forget(pending);
          this.c.pushAck++;
          this.acked();
        }
        return;
      }
      case 'PULL_ACK':
        if (g.pullPending.delete(p.token)) this.c.pullAck++;
        g.pulledOnce = true;
        if (this.inFlight === 0) this.settled.wakeAll();
        return;
      case 'PULL_RESP': {
        this.c.pullResp++;
        g.dwnb++;
        g.txnb++;
        this.c.txAck++;
        this.send(g, encodeUdpPacket({ type: 'TX_ACK', version: 2, token: p.token, gatewayEui: g.eui, txpkAck: { error: 'NONE' } }));
        this.host?.downlink(g.index, p.txpk);
        return;
      }
      default:
        this.c.badDatagrams++;
    }
  }

  private sweep(): void {
    const now = performance.now();
    const cutoff = now - this.ackTimeoutMs;
    for (const g of this.gateways) {
      if (this.resendMs > 0) this.resend(g, now);
      else {
        for (const [token, p] of g.pushPending) {
          if (p.at > cutoff) break; // insertion order = send order
          g.pushPending.delete(token);
          this.c.pushAckMissing++;
          this.acked();
        }
      }
      for (const [token, at] of g.pullPending) {
        if (at > cutoff) break;
        g.pullPending.delete(token);
        this.c.pullAckMissing++;
      }
    }
  }

  /** Resend on: every PUSH_DATA unacknowledged for resendMs is sent again, or given up after resendRetries. */
  private resend(g: VirtualGateway, now: number): void {
    for (const [token, p] of g.pushPending) {
      if (now - p.at < this.resendMs || !p.datagram) continue;
      if (p.sends > this.resendRetries) {
        g.pushPending.delete(token);
        this.forget(p);
        this.c.pushResendGaveUp++;
        this.c.pushAckMissing++;
        this.acked();
        continue;
      }
      if (p.sends === 1) this.resending++;
      p.sends++;
      p.at = now;
      this.c.pushResent++;
      this.send(g, p.datagram);
    }
  }

  /** How long stop() waits for the last acks: with resend on, long enough for the retries (≤ 60 s). */
  private drainMs(): number {
    return this.resendMs > 0 ? Math.min(60_000, Math.max(this.ackTimeoutMs, this.resendMs * (this.resendRetries + 1))) + 500 : this.ackTimeoutMs + 500;
  }

  async drain(timeoutMs = this.drainMs()): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while ((this.inFlight > 0 || this.gateways.some((g) => g.pullPending.size > 0)) && performance.now() < deadline) {
      await Promise.race([this.settled.wait(), new Promise((r) => setTimeout(r, 50))]);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.drain();
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const g of this.gateways) {
      this.c.pushAckMissing += g.pushPending.size;
      this.c.pullAckMissing += g.pullPending.size;
      for (const p of g.pushPending.values()) this.forget(p);
      g.pushPending.clear();
      g.pullPending.clear();
    }
    this.inFlight = 0;
    this.room.wakeAll();
    this.settled.wakeAll();
    await Promise.all(this.gateways.map((g) => new Promise<void>((resolve) => g.socket.close(() => resolve()))));
  }

  counters(): OutputCounters {
    return { ...this.c };
  }

  summary(): string {
    const c = this.c;
    return (
      `${this.name}: ${c.pushData + c.statPushData} PUSH_DATA (${c.statPushData} stat), ${c.pushAck} PUSH_ACK, ${c.pushAckMissing} missing; ` +
      `${c.pullData} PULL_DATA, ${c.pullAck} PULL_ACK, ${c.pullAckMissing} missing; ${c.pullResp} PULL_RESP, ${c.txAck} TX_ACK` +
      (this.resendMs > 0 ? `; resend every ${this.resendMs} ms: ${c.pushResent} resent, ${c.pushResendGaveUp} given up, ${c.pushResendDropped} dropped (queue full)` : '') +
      (c.badDatagrams ? `; ${c.badDatagrams} unexpected datagrams` : '') +
      (c.sendErrors ? `; ${c.sendErrors} send errors` : '')
    );
  }
}
