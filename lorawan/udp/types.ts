/**
 * Semtech UDP packet-forwarder protocol (v2) — datagram and JSON types.
 *
 * ```text
 * PUSH_DATA  gw→srv  02 | token(2) | 00 | gateway EUI(8) | JSON {"rxpk":[…],"stat":{…}}
 * PUSH_ACK   srv→gw  02 | token(2) | 01
 * PULL_DATA  gw→srv  02 | token(2) | 02 | gateway EUI(8)
 * PULL_RESP  srv→gw  02 | token(2) | 03 | JSON {"txpk":{…}}             (no EUI)
 * PULL_ACK   srv→gw  02 | token(2) | 04
 * TX_ACK     gw→srv  02 | token(2) | 05 | gateway EUI(8) | [JSON {"txpk_ack":{…}}]
 * ```
 *
 * JSON field names are kept as the forwarder spells them (`tmst`, `lsnr`, `datr`…) so the
 * protocol documents apply directly; the one change is `data`, which is decoded from base64
 * into bytes (and `size` is checked against it).
 */

export const UDP_PROTOCOL_VERSION = 2;

export const PACKET_TYPE_ID = {
  PUSH_DATA: 0x00,
  PUSH_ACK: 0x01,
  PULL_DATA: 0x02,
  PULL_RESP: 0x03,
  PULL_ACK: 0x04,
  TX_ACK: 0x05,
} as const;

export type UdpPacketType = keyof typeof PACKET_TYPE_ID;

export type Modulation = 'LORA' | 'FSK';

/** Per-antenna/per-demodulator metadata of multi-antenna forwarders (e.g. Kerlink `rsig`). */
export interface RxpkRsig {
  ant: number;
  chan: number;
  /** Channel RSSI (dBm). */
  rssic?: number;
  /** Signal RSSI (dBm). */
  rssis?: number;
  rssisd?: number;
  lsnr?: number;
  /** Encrypted fine timestamp (base64). */
  etime?: string;
  foff?: number;
  ftime?: number;
}

/** One received packet in PUSH_DATA `rxpk`. */
export interface Rxpk {
  /** rxpk format version (sx1302). */
  jver?: number;
  /** UTC time of RX (ISO 8601 compact, µs); only with a GPS time reference. */
  time?: string;
  /** GPS time of RX in ms since 1980-01-06. */
  tmms?: number;
  /** Concentrator µs counter latched at the end of RX (32-bit, wraps). */
  tmst: number;
  /** Fine timestamp, ns since the last PPS. */
  ftime?: number;
  chan?: number;
  rfch?: number;
  /** MHz; Hz = Math.round(freq * 1e6). */
  freq: number;
  /** Modem id (sx1302). */
  mid?: number;
  /** CRC status: 1 OK, -1 bad, 0 no CRC. Only 1 should be processed. */
  stat: number;
  modu: Modulation;
  /** "SF7BW125" for LoRa, bit rate for FSK. */
  datr: string | number;
  /** "4/5" … (LoRa only). */
  codr?: string;
  rssi?: number;
  rssis?: number;
  lsnr?: number;
  foff?: number;
  brd?: number;
  ant?: number;
  aesk?: number;
  rsig?: RxpkRsig[];
  /** Payload size in bytes (must equal `data.length`). */
  size: number;
  /** PHYPayload (base64 in JSON). */
  data: Uint8Array;
}

/** PUSH_DATA `stat`: gateway status, typically every 30 s. */
export interface Stat {
  /** Gateway system time, "2014-01-12 08:59:28 GMT". */
  time?: string;
  lati?: number;
  long?: number;
  alti?: number;
  rxnb?: number;
  rxok?: number;
  rxfw?: number;
  /** % of upstream datagrams acknowledged. */
  ackr?: number;
  dwnb?: number;
  txnb?: number;
  /** Board temperature °C (sx1302). */
  temp?: number;
}

/** PULL_RESP `txpk`: a packet for the gateway to transmit. */
export interface Txpk {
  /** Send immediately (Class C); otherwise `tmst` (Class A) or `tmms` (Class B) is required. */
  imme?: boolean;
  tmst?: number;
  tmms?: number;
  /** MHz. */
  freq: number;
  rfch: number;
  /** dBm; always send it (absent means 0 dBm minus antenna gain). */
  powe?: number;
  modu: Modulation;
  datr: string | number;
  codr?: string;
  /** FSK frequency deviation, Hz. */
  fdev?: number;
  /** Polarity inversion: true for LoRaWAN downlinks to devices. */
  ipol?: boolean;
  prea?: number;
  ncrc?: boolean;
  nhdr?: boolean;
  brd?: number;
  ant?: number;
  size: number;
  data: Uint8Array;
}

/** Known `txpk_ack.error` values. Unknown strings are kept as they come. */
export const TX_ACK_ERRORS = [
  'NONE',
  'TOO_LATE',
  'TOO_EARLY',
  'COLLISION_PACKET',
  'COLLISION_BEACON',
  'TX_FREQ',
  'TX_POWER',
  'GPS_UNLOCKED',
  'UNKNOWN',
] as const;
export type TxAckErrorCode = (typeof TX_ACK_ERRORS)[number];

/** TX_ACK body `txpk_ack`; absent JSON means success. */
export interface TxpkAck {
  /** "NONE" on success. */
  error?: string;
  /** sx1302 v1.5+: a warning instead of an error, e.g. "TX_POWER" with `value` = power used. */
  warn?: string;
  value?: number;
}

interface Header {
  /** Protocol version byte: 2 (1 is accepted when decoding). */
  version: number;
  /** Two opaque bytes echoed by the ack, read big-endian (bytes 7a 3c → 0x7a3c). */
  token: number;
}

export interface PushData extends Header {
  type: 'PUSH_DATA';
  /** Lowercase hex, display order. */
  gatewayEui: string;
  rxpk: Rxpk[];
  stat: Stat | null;
  /** Entries that failed validation (the rest of the datagram is still used). */
  rejected: { field: string; error: UdpError }[];
}

export interface PushAck extends Header {
  type: 'PUSH_ACK';
}

export interface PullData extends Header {
  type: 'PULL_DATA';
  gatewayEui: string;
}

export interface PullAck extends Header {
  type: 'PULL_ACK';
}

export interface PullResp extends Header {
  type: 'PULL_RESP';
  txpk: Txpk;
}

export interface TxAck extends Header {
  type: 'TX_ACK';
  gatewayEui: string;
  /** null when the datagram carries no JSON (Semtech/sx1302 success form). */
  txpkAck: TxpkAck | null;
}

export type UdpPacket = PushData | PushAck | PullData | PullAck | PullResp | TxAck;

export type UdpErrorCode =
  | 'too-short'
  | 'bad-version'
  | 'unknown-identifier'
  | 'bad-json'
  | 'missing-field'
  | 'bad-field'
  | 'size-mismatch';

export interface UdpError {
  code: UdpErrorCode;
  message: string;
  /** JSON path of the field at fault, e.g. "rxpk[0].freq". */
  field?: string;
}

export type UdpDecodeResult = { ok: true; packet: UdpPacket } | { ok: false; error: UdpError };
