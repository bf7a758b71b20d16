/**
 * Server side of the Semtech UDP protocol (the gateway daemon's UDP source): the ack due for
 * each upstream datagram, a PULL_RESP for a downlink with Class-A/B/C timing (`tmst` wraps at
 * 2^32), and the outcome of a TX_ACK.
 */
import { encodeUdpPacket } from './codec.ts';
import { hzToMhz, randomToken } from './radio.ts';
import { UDP_PROTOCOL_VERSION, type Txpk, type TxAck, type UdpPacket } from './types.ts';

/** The ack a server sends for an upstream datagram (PUSH_ACK / PULL_ACK), or null when none is due. */
export function ackFor(p: UdpPacket): Buffer | null {
  if (p.type === 'PUSH_DATA') return encodeUdpPacket({ type: 'PUSH_ACK', version: p.version, token: p.token });
  if (p.type === 'PULL_DATA') return encodeUdpPacket({ type: 'PULL_ACK', version: p.version, token: p.token });
  return null;
}

export type TxTiming =
  /** Class C: send now. */
  | { type: 'immediate' }
  /** Class A: `uplinkTmst + delayUs` (mod 2^32), e.g. 1 000 000 for RX1, 5 000 000 for a join-accept. */
  | { type: 'after-uplink'; uplinkTmst: number; delayUs: number }
  /** An absolute concentrator counter value. */
  | { type: 'tmst'; tmst: number }
  /** Class B: GPS time in ms. */
  | { type: 'tmms'; tmms: number };

export interface DownlinkOptions {
  phyPayload: Uint8Array;
  timing: TxTiming;
  frequencyHz: number;
  /** "SF12BW125" or an FSK bit rate. */
  datr: string | number;
  /** dBm — always sent. */
  powerDbm: number;
  codr?: string;
  rfch?: number;
  /** Default true (LoRaWAN downlinks to devices). */
  ipol?: boolean;
  /** FSK only, Hz (default 25 kHz, the LoRaWAN FSK deviation). */
  fdev?: number;
}

/** A txpk for a LoRaWAN downlink with the fields the forwarder requires. */
export function downlinkTxpk(o: DownlinkOptions): Txpk {
  const lora = typeof o.datr === 'string';
  const t: Txpk = {
    freq: hzToMhz(o.frequencyHz),
    rfch: o.rfch ?? 0,
    powe: o.powerDbm,
    modu: lora ? 'LORA' : 'FSK',
    datr: o.datr,
    size: o.phyPayload.length,
    data: o.phyPayload,
  };
  switch (o.timing.type) {
    case 'immediate':
      t.imme = true;
      break;
    case 'after-uplink':
      t.imme = false;
      t.tmst = (o.timing.uplinkTmst + o.timing.delayUs) % 0x100000000;
      break;
    case 'tmst':
      t.imme = false;
      t.tmst = o.timing.tmst;
      break;
    case 'tmms':
      t.imme = false;
      t.tmms = o.timing.tmms;
      break;
  }
  if (lora) {
    t.codr = o.codr ?? '4/5';
    t.ipol = o.ipol ?? true;
  } else {
    t.fdev = o.fdev ?? 25_000;
  }
  return t;
}

/** A PULL_RESP datagram; keep `token` to match the TX_ACK. */
export function buildPullResp(txpk: Txpk, opts: { token?: number; version?: number } = {}): { token: number; bytes: Buffer } {
  const token = opts.token ?? randomToken();
  return { token, bytes: encodeUdpPacket({ type: 'PULL_RESP', version: opts.version ?? UDP_PROTOCOL_VERSION, token, txpk }) };
}

/** Outcome of a TX_ACK: accepted (possibly with a warning) or the forwarder's error code. */
export function txAckOutcome(ack: TxAck): { ok: true; warning?: { code: string; value?: number } } | { ok: false; error: string } {
  const a = ack.txpkAck;
  if (a === null) return { ok: true };
  const error = a.error ?? 'NONE';
  if (error !== 'NONE' && error !== '') return { ok: false, error };
  if (a.warn !== undefined) return { ok: true, warning: a.value === undefined ? { code: a.warn } : { code: a.warn, value: a.value } };
  return { ok: true };
}
