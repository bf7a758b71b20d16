/**
 * A minimal Semtech UDP packet forwarder for the edge network server's tests: a socket that
 * sends PULL_DATA (the downlink route) and PUSH_DATA with one rxpk, collects PULL_RESPs and
 * answers them with TX_ACK (optionally an error, once).
 */
import { createSocket, type Socket } from 'node:dgram';
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
  readonly resp: { token: number; txpk: Txpk }[] = [];
  readonly acks: Buffer[] = [];
  txAckError: string | undefined;
  /** answer every PULL_RESP with this TX_ACK error while set (txAckError: once) */
  txAckErrorAlways: string | undefined;
  private tmst = 1_000_000;

  constructor(
    readonly eui: string,
    private readonly port: () => number,
  ) {
    this.socket.on('message', (msg) => {
      const d = decodeUdpPacket(msg);
      if (!d.ok) return;
      if (d.packet.type === 'PULL_RESP') {
        this.resp.push({ token: d.packet.token, txpk: d.packet.txpk });
        const err = this.txAckError ?? this.txAckErrorAlways;
        this.txAckError = undefined;
        this.send(buildTxAck({ gatewayEui: this.eui, token: d.packet.token, ...(err ? { error: err, form: 'json' as const } : {}) }));
      } else this.acks.push(msg);
    });
  }

  async open(): Promise<void> {
    await new Promise<void>((r) => this.socket.bind(0, '127.0.0.1', () => r()));
    this.send(buildPullData({ gatewayEui: this.eui }).bytes);
    await until(() => this.acks.length > 0, 'PULL_ACK');
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

  async nextResp(n: number): Promise<{ token: number; txpk: Txpk }> {
    await until(() => this.resp.length >= n, `PULL_RESP #${n}`);
    return this.resp[n - 1] as { token: number; txpk: Txpk };
  }

  close(): void {
    this.socket.close();
  }
}
