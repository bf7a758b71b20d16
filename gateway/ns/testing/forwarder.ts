/**
 * A minimal Semtech UDP packet forwarder for the edge network server's tests: a socket that
 * sends PULL_DATA (the downlink route) and PUSH_DATA with one rxpk, collects PULL_RESPs and
 * answers them with TX_ACK (optionally an error, once; or held back until released, as a slow
 * forwarder's TX_ACK or one that sends none).
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { decodeUdpPacket } from '../../../lorawan/udp/codec.ts';
import { buildPullData, buildPushData, buildTxAck, rxpkFor } from '../../../lorawan/udp/gateway.ts';
import type { Txpk } from '../../../lorawan/udp/types.ts';

export async function until(cond: () => boolean, what = 'condition', ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class TestForwarder {
  readonly socket: Socket = createSocket('udp4');
  /** PULL_RESPs received, with when (performance.now()) */
  readonly resp: { token: number; txpk: Txpk; at: number }[] = [];
  readonly acks: Buffer[] = [];
  txAckError: string | undefined;
  /** answer every PULL_RESP with this TX_ACK error while set (txAckError: once) */
  txAckErrorAlways: string | undefined;
  /** while set, TX_ACKs are kept (tokens) instead of sent: `releaseTxAcks()` sends them */
  holdTxAcks = false;
  private readonly heldTxAcks: number[] = [];
  private tmst = 1_000_000;
  private keepalive: NodeJS.Timeout | undefined;

  constructor(
    readonly eui: string,
    private readonly port: () => number,
  ) {
    this.socket.on('message', (msg) => {
      const d = decodeUdpPacket(msg);
      if (!d.ok) return;
      if (d.packet.type === 'PULL_RESP') {
        this.resp.push({ token: d.packet.token, txpk: d.packet.txpk, at: performance.now() });
        if (this.holdTxAcks) {
          this.heldTxAcks.push(d.packet.token);
          return;
        }
        const err = this.txAckError ?? this.txAckErrorAlways;
        this.txAckError = undefined;
        this.send(buildTxAck({ gatewayEui: this.eui, token: d.packet.token, ...(err ? { error: err, form: 'json' as const } : {}) }));
      } else this.acks.push(msg);
    });
  }

  /** Sends the TX_ACKs (success) held back while `holdTxAcks` was set, and stops holding. */
  releaseTxAcks(): void {
    this.holdTxAcks = false;
    for (const token of this.heldTxAcks.splice(0)) this.send(buildTxAck({ gatewayEui: this.eui, token }));
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    this.send(buildPullData({ gatewayEui: this.eui }).bytes);
    await until(() => this.acks.length > 0, 'PULL_ACK');
  }

  /** PULL_DATA every `ms`, as a forwarder's keepalive_interval (the server's view of who is connected). */
  startKeepalive(ms: number): void {
    this.keepalive = setInterval(() => this.send(buildPullData({ gatewayEui: this.eui }).bytes), ms);
  }

  send(b: Buffer): void {
    this.socket.send(b, this.port(), '127.0.0.1');
  }

  /** PUSH_DATA with one rxpk of `phy` (868.3 MHz); returns its tmst (10 s after the previous one). */
  push(phy: Buffer, opts: { datr?: string; time?: Date; snr?: number } = {}): number {
    this.tmst += 10_000_000;
    const rx = rxpkFor({ phyPayload: phy, tmst: this.tmst, frequencyHz: 868_300_000, datr: opts.datr ?? 'SF9BW125', rssi: -80, lsnr: opts.snr ?? 5, time: opts.time ?? new Date() });
    this.send(buildPushData({ gatewayEui: this.eui, rxpk: [rx] }).bytes);
    return this.tmst;
  }

  async nextResp(n: number): Promise<{ token: number; txpk: Txpk; at: number }> {
    await until(() => this.resp.length >= n, `PULL_RESP #${n}`);
    return this.resp[n - 1] as { token: number; txpk: Txpk; at: number };
  }

  close(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.socket.close();
  }
}
