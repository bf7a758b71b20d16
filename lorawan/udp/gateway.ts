/**
 * Gateway side of the Semtech UDP protocol (the simulator's virtual packet forwarders):
 * PUSH_DATA with the rxpk a forwarder would report, PULL_DATA keepalives, TX_ACK in all its
 * forms, and matching of PUSH_ACK / PULL_ACK by token.
 */
import { encodeUdpPacket } from './codec.ts';
import { hzToMhz, randomToken } from './radio.ts';
import { UDP_PROTOCOL_VERSION, type Rxpk, type Stat, type UdpPacket } from './types.ts';

export interface HeardFrame {
  phyPayload: Uint8Array;
  /** Concentrator µs counter at the end of the frame (wrapped to 32 bits here). */
  tmst: number;
  frequencyHz: number;
  /** "SF7BW125" (LoRa) or an FSK bit rate. */
  datr: string | number;
  codr?: string;
  rssi: number;
  lsnr?: number;
  chan?: number;
  rfch?: number;
  /** Only with a GPS time reference. */
  time?: Date;
  tmms?: number;
  /** CRC status, default 1 (OK). */
  stat?: number;
}

/** The rxpk a forwarder would report for a frame it heard. */
export function rxpkFor(f: HeardFrame): Rxpk {
  const lora = typeof f.datr === 'string';
  const r: Rxpk = {
    tmst: ((f.tmst % 0x100000000) + 0x100000000) % 0x100000000,
    chan: f.chan ?? 0,
    rfch: f.rfch ?? 0,
    freq: hzToMhz(f.frequencyHz),
    stat: f.stat ?? 1,
    modu: lora ? 'LORA' : 'FSK',
    datr: f.datr,
    rssi: f.rssi,
    size: f.phyPayload.length,
    data: f.phyPayload,
  };
  if (f.time) r.time = formatRxTime(f.time);
  if (f.tmms !== undefined) r.tmms = f.tmms;
  if (lora) {
    r.codr = f.codr ?? '4/5';
    if (f.lsnr !== undefined) r.lsnr = f.lsnr;
  }
  return r;
}

/** rxpk `time`: ISO 8601 compact with µs ("2013-03-31T16:21:17.528002Z"; JS dates give ms). */
export function formatRxTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** stat `time`: the forwarder's "expanded" form "2014-01-12 08:59:28 GMT". */
export function formatStatTime(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} GMT`;
}

export function buildPushData(opts: { gatewayEui: string; rxpk?: Rxpk[]; stat?: Stat | null; token?: number; version?: number }): {
  token: number;
  bytes: Buffer;
} {
  const token = opts.token ?? randomToken();
  const bytes = encodeUdpPacket({
    type: 'PUSH_DATA',
    version: opts.version ?? UDP_PROTOCOL_VERSION,
    token,
    gatewayEui: opts.gatewayEui,
    rxpk: opts.rxpk ?? [],
    stat: opts.stat ?? null,
    rejected: [],
  });
  return { token, bytes };
}

export function buildPullData(opts: { gatewayEui: string; token?: number; version?: number }): { token: number; bytes: Buffer } {
  const token = opts.token ?? randomToken();
  return { token, bytes: encodeUdpPacket({ type: 'PULL_DATA', version: opts.version ?? UDP_PROTOCOL_VERSION, token, gatewayEui: opts.gatewayEui }) };
}

/**
 * TX_ACK for a PULL_RESP's token. `error` "NONE" (or omitted) with `form: 'empty'` gives the
 * 12-byte Semtech form; otherwise a `txpk_ack` JSON.
 */
export function buildTxAck(opts: {
  gatewayEui: string;
  token: number;
  error?: string;
  warn?: string;
  value?: number;
  form?: 'empty' | 'json';
  version?: number;
}): Buffer {
  const error = opts.error ?? 'NONE';
  const empty = (opts.form ?? 'empty') === 'empty' && error === 'NONE' && opts.warn === undefined;
  const txpkAck = empty ? null : { error, ...(opts.warn !== undefined ? { warn: opts.warn } : {}), ...(opts.value !== undefined ? { value: opts.value } : {}) };
  return encodeUdpPacket({ type: 'TX_ACK', version: opts.version ?? UDP_PROTOCOL_VERSION, token: opts.token, gatewayEui: opts.gatewayEui, txpkAck });
}

/** Is `reply` the ack (PUSH_ACK / PULL_ACK) for the datagram sent with `sentType` and `token`? */
export function isAckFor(sentType: 'PUSH_DATA' | 'PULL_DATA', token: number, reply: UdpPacket): boolean {
  const want = sentType === 'PUSH_DATA' ? 'PUSH_ACK' : 'PULL_ACK';
  return reply.type === want && reply.token === token;
}
