/**
 * Encode and decode Semtech UDP packet-forwarder datagrams (protocol v2; v1 accepted on decode).
 *
 * Invariants:
 * - `decodeUdpPacket` never throws on any bytes: structural problems (too short, bad version,
 *   unknown identifier, bad JSON, a PULL_RESP without a usable `txpk`) give `{ok: false}` with a
 *   code and the JSON path at fault.
 * - PUSH_DATA is decoded tolerantly, as the forwarder checklist asks: each `rxpk` entry (and
 *   `stat`) is validated on its own; bad ones land in `rejected` and the good ones are kept.
 * - Unknown JSON fields are ignored. Trailing NUL bytes after the JSON (Kerlink) are accepted.
 * - `decodeUdpPacket(encodeUdpPacket(p))` gives back `p` for every valid packet.
 */
import { isEui, readEuiBE, writeEuiBE } from '../bytes.ts';
import {
  PACKET_TYPE_ID,
  UDP_PROTOCOL_VERSION,
  type Modulation,
  type PushData,
  type Rxpk,
  type RxpkRsig,
  type Stat,
  type Txpk,
  type TxpkAck,
  type UdpDecodeResult,
  type UdpError,
  type UdpErrorCode,
  type UdpPacket,
  type UdpPacketType,
} from './types.ts';

const TYPE_BY_ID: readonly UdpPacketType[] = ['PUSH_DATA', 'PUSH_ACK', 'PULL_DATA', 'PULL_RESP', 'PULL_ACK', 'TX_ACK'];

/** Thrown inside the JSON validators only; always caught in this module. */
class FieldError extends Error {
  constructor(
    readonly code: UdpErrorCode,
    message: string,
    readonly field: string,
  ) {
    super(message);
  }

  toUdpError(): UdpError {
    return { code: this.code, message: this.message, field: this.field };
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ── field readers ────────────────────────────────────────────────────────────────────────────

function missing(path: string, key: string): never {
  throw new FieldError('missing-field', `${path}.${key} is missing`, `${path}.${key}`);
}

function bad(path: string, key: string, want: string, got: unknown): never {
  throw new FieldError('bad-field', `${path}.${key} must be ${want}, got ${JSON.stringify(got) ?? typeof got}`, `${path}.${key}`);
}

function optNumber(o: Json, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(path, key, 'a number', v);
  return v;
}

function reqNumber(o: Json, key: string, path: string): number {
  return optNumber(o, key, path) ?? missing(path, key);
}

function optInt(o: Json, key: string, path: string, min: number, max: number): number | undefined {
  const v = optNumber(o, key, path);
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) bad(path, key, `an integer ${min}..${max}`, v);
  return v;
}

function reqInt(o: Json, key: string, path: string, min: number, max: number): number {
  return optInt(o, key, path, min, max) ?? missing(path, key);
}

function optString(o: Json, key: string, path: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') bad(path, key, 'a string', v);
  return v;
}

function optBool(o: Json, key: string, path: string): boolean | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') bad(path, key, 'a boolean', v);
  return v;
}

function reqModu(o: Json, path: string): Modulation {
  const v = o['modu'];
  if (v === undefined) missing(path, 'modu');
  if (v !== 'LORA' && v !== 'FSK') bad(path, 'modu', '"LORA" or "FSK"', v);
  return v;
}

const LORA_DATR_RE = /^SF(\d{1,2})BW(\d{1,4})$/;

function reqDatr(o: Json, path: string, modu: Modulation): string | number {
  const v = o['datr'];
  if (v === undefined) missing(path, 'datr');
  if (modu === 'LORA') {
    if (typeof v !== 'string' || !LORA_DATR_RE.test(v)) bad(path, 'datr', 'a LoRa data rate like "SF7BW125"', v);
    return v;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(path, 'datr', 'an FSK bit rate (number)', v);
  return v;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Length of `v` without its trailing `=` padding (no trimmed copy per rxpk). */
function unpaddedLength(v: string): number {
  let n = v.length;
  while (n > 0 && v.charCodeAt(n - 1) === 61) n--;
  return n;
}

function reqData(o: Json, path: string): { size: number; data: Buffer } {
  const v = o['data'];
  if (v === undefined) missing(path, 'data');
  if (typeof v !== 'string' || !BASE64_RE.test(v) || unpaddedLength(v) % 4 === 1) bad(path, 'data', 'base64', v);
  const data = Buffer.from(v, 'base64');
  const size = reqInt(o, 'size', path, 0, 0xffff);
  if (size !== data.length) {
    throw new FieldError('size-mismatch', `${path}.size is ${size} but data decodes to ${data.length} bytes`, `${path}.size`);
  }
  return { size, data };
}

/** Set `key` on `target` only when the value is defined (keeps the optional fields optional). */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

// ── JSON objects ─────────────────────────────────────────────────────────────────────────────

const U32 = 0xffffffff;

function readRsig(v: unknown, path: string): RxpkRsig {
  if (!isObject(v)) throw new FieldError('bad-field', `${path} must be an object`, path);
  const r: RxpkRsig = { ant: reqInt(v, 'ant', path, 0, 255), chan: reqInt(v, 'chan', path, 0, 255) };
  put(r, 'rssic', optNumber(v, 'rssic', path));
  put(r, 'rssis', optNumber(v, 'rssis', path));
  put(r, 'rssisd', optNumber(v, 'rssisd', path));
  put(r, 'lsnr', optNumber(v, 'lsnr', path));
  put(r, 'etime', optString(v, 'etime', path));
  put(r, 'foff', optNumber(v, 'foff', path));
  put(r, 'ftime', optNumber(v, 'ftime', path));
  return r;
}

export function readRxpk(v: unknown, path: string): Rxpk {
  if (!isObject(v)) throw new FieldError('bad-field', `${path} must be an object`, path);
  const modu = reqModu(v, path);
  const datr = reqDatr(v, path, modu);
  const tmst = reqInt(v, 'tmst', path, 0, U32);
  const freq = reqNumber(v, 'freq', path);
  if (freq <= 0) bad(path, 'freq', 'a positive frequency in MHz', freq);
  const stat = reqInt(v, 'stat', path, -1, 1);
  const { size, data } = reqData(v, path);
  const r: Rxpk = { tmst, freq, stat, modu, datr, size, data };
  put(r, 'jver', optInt(v, 'jver', path, 0, 255));
  put(r, 'time', optString(v, 'time', path));
  put(r, 'tmms', optInt(v, 'tmms', path, 0, Number.MAX_SAFE_INTEGER));
  put(r, 'ftime', optNumber(v, 'ftime', path));
  put(r, 'chan', optInt(v, 'chan', path, 0, 255));
  put(r, 'rfch', optInt(v, 'rfch', path, 0, 255));
  put(r, 'mid', optInt(v, 'mid', path, 0, 255));
  put(r, 'codr', optString(v, 'codr', path));
  put(r, 'rssi', optNumber(v, 'rssi', path));
  put(r, 'rssis', optNumber(v, 'rssis', path));
  put(r, 'lsnr', optNumber(v, 'lsnr', path));
  put(r, 'foff', optNumber(v, 'foff', path));
  put(r, 'brd', optInt(v, 'brd', path, 0, 255));
  put(r, 'ant', optInt(v, 'ant', path, 0, 255));
  put(r, 'aesk', optInt(v, 'aesk', path, 0, 255));
  const rsig = v['rsig'];
  if (rsig !== undefined) {
    if (!Array.isArray(rsig)) bad(path, 'rsig', 'an array', rsig);
    r.rsig = rsig.map((x, i) => readRsig(x, `${path}.rsig[${i}]`));
  }
  return r;
}

export function readStat(v: unknown, path = 'stat'): Stat {
  if (!isObject(v)) throw new FieldError('bad-field', `${path} must be an object`, path);
  const s: Stat = {};
  put(s, 'time', optString(v, 'time', path));
  for (const k of ['lati', 'long', 'alti', 'rxnb', 'rxok', 'rxfw', 'ackr', 'dwnb', 'txnb', 'temp'] as const) {
    put(s, k, optNumber(v, k, path));
  }
  return s;
}

export function readTxpk(v: unknown, path = 'txpk'): Txpk {
  if (!isObject(v)) throw new FieldError(v === undefined ? 'missing-field' : 'bad-field', `${path} must be an object`, path);
  const imme = optBool(v, 'imme', path);
  const tmst = optInt(v, 'tmst', path, 0, U32);
  const tmms = optInt(v, 'tmms', path, 0, Number.MAX_SAFE_INTEGER);
  if (imme !== true && tmst === undefined && tmms === undefined) {
    throw new FieldError('missing-field', `${path} needs "imme": true, "tmst" or "tmms"`, `${path}.tmst`);
  }
  const modu = reqModu(v, path);
  const datr = reqDatr(v, path, modu);
  const freq = reqNumber(v, 'freq', path);
  if (freq <= 0) bad(path, 'freq', 'a positive frequency in MHz', freq);
  const rfch = reqInt(v, 'rfch', path, 0, 255);
  const codr = optString(v, 'codr', path);
  if (modu === 'LORA' && codr === undefined) missing(path, 'codr');
  const fdev = optNumber(v, 'fdev', path);
  if (modu === 'FSK' && fdev === undefined) missing(path, 'fdev');
  const { size, data } = reqData(v, path);
  const t: Txpk = { freq, rfch, modu, datr, size, data };
  put(t, 'imme', imme);
  put(t, 'tmst', tmst);
  put(t, 'tmms', tmms);
  put(t, 'powe', optNumber(v, 'powe', path));
  put(t, 'codr', codr);
  put(t, 'fdev', fdev);
  put(t, 'ipol', optBool(v, 'ipol', path));
  put(t, 'prea', optInt(v, 'prea', path, 0, 0xffff));
  put(t, 'ncrc', optBool(v, 'ncrc', path));
  put(t, 'nhdr', optBool(v, 'nhdr', path));
  put(t, 'brd', optInt(v, 'brd', path, 0, 255));
  put(t, 'ant', optInt(v, 'ant', path, 0, 255));
  return t;
}

function readTxpkAck(v: unknown, path = 'txpk_ack'): TxpkAck {
  if (!isObject(v)) throw new FieldError(v === undefined ? 'missing-field' : 'bad-field', `${path} must be an object`, path);
  const a: TxpkAck = {};
  put(a, 'error', optString(v, 'error', path));
  put(a, 'warn', optString(v, 'warn', path));
  put(a, 'value', optNumber(v, 'value', path));
  return a;
}

// ── decode ───────────────────────────────────────────────────────────────────────────────────

function failure(code: UdpErrorCode, message: string, field?: string): UdpDecodeResult {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

/** Parse the JSON body at `start`, dropping trailing NULs; undefined when there is no body. */
function jsonBody(b: Uint8Array, start: number): { ok: true; value: unknown } | { ok: false; error: UdpError } | undefined {
  let end = b.length;
  while (end > start && b[end - 1] === 0) end--;
  if (end <= start) return undefined;
  const text = Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, error: { code: 'bad-json', message: `JSON body does not parse: ${(e as Error).message}` } };
  }
}

const MIN_LENGTH: Record<UdpPacketType, number> = {
  PUSH_DATA: 12,
  PUSH_ACK: 4,
  PULL_DATA: 12,
  PULL_RESP: 4,
  PULL_ACK: 4,
  TX_ACK: 12,
};

/** Decode one datagram. Never throws. */
export function decodeUdpPacket(b: Uint8Array): UdpDecodeResult {
  if (b.length < 4) return failure('too-short', `datagram of ${b.length} bytes is shorter than the 4-byte header`);
  const version = b[0] as number;
  if (version !== 1 && version !== 2) return failure('bad-version', `protocol version ${version} (expected 2, or 1)`);
  const token = ((b[1] as number) << 8) | (b[2] as number);
  const id = b[3] as number;
  const type = TYPE_BY_ID[id];
  if (type === undefined) return failure('unknown-identifier', `unknown packet identifier 0x${id.toString(16).padStart(2, '0')}`);
  if (b.length < MIN_LENGTH[type]) {
    return failure('too-short', `${type} needs at least ${MIN_LENGTH[type]} bytes, got ${b.length}`);
  }
  switch (type) {
    case 'PUSH_ACK':
    case 'PULL_ACK':
      return { ok: true, packet: { type, version, token } };
    case 'PULL_DATA':
      return { ok: true, packet: { type, version, token, gatewayEui: readEuiBE(b, 4) } };
    case 'PUSH_DATA':
      return decodePushData(b, version, token);
    case 'PULL_RESP': {
      const body = jsonBody(b, 4);
      if (!body) return failure('bad-json', 'PULL_RESP carries no JSON');
      if (!body.ok) return { ok: false, error: body.error };
      if (!isObject(body.value)) return failure('bad-json', 'PULL_RESP JSON is not an object');
      try {
        return { ok: true, packet: { type, version, token, txpk: readTxpk(body.value['txpk']) } };
      } catch (e) {
        if (e instanceof FieldError) return { ok: false, error: e.toUdpError() };
        throw e;
      }
    }
    case 'TX_ACK': {
      const gatewayEui = readEuiBE(b, 4);
      const body = jsonBody(b, 12);
      if (!body) return { ok: true, packet: { type, version, token, gatewayEui, txpkAck: null } };
      if (!body.ok) return { ok: false, error: body.error };
      if (!isObject(body.value)) return failure('bad-json', 'TX_ACK JSON is not an object');
      try {
        return { ok: true, packet: { type, version, token, gatewayEui, txpkAck: readTxpkAck(body.value['txpk_ack']) } };
      } catch (e) {
        if (e instanceof FieldError) return { ok: false, error: e.toUdpError() };
        throw e;
      }
    }
  }
}

function decodePushData(b: Uint8Array, version: number, token: number): UdpDecodeResult {
  const gatewayEui = readEuiBE(b, 4);
  const body = jsonBody(b, 12);
  if (!body) return failure('bad-json', 'PUSH_DATA carries no JSON');
  if (!body.ok) return { ok: false, error: body.error };
  const json = body.value;
  if (!isObject(json)) return failure('bad-json', 'PUSH_DATA JSON is not an object');
  const packet: PushData = { type: 'PUSH_DATA', version, token, gatewayEui, rxpk: [], stat: null, rejected: [] };
  const rxpk = json['rxpk'];
  if (rxpk !== undefined) {
    if (!Array.isArray(rxpk)) return failure('bad-field', 'rxpk must be an array', 'rxpk');
    rxpk.forEach((entry: unknown, i) => {
      try {
        packet.rxpk.push(readRxpk(entry, `rxpk[${i}]`));
      } catch (e) {
        if (!(e instanceof FieldError)) throw e;
        packet.rejected.push({ field: `rxpk[${i}]`, error: e.toUdpError() });
      }
    });
  }
  if (json['stat'] !== undefined) {
    try {
      packet.stat = readStat(json['stat']);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      packet.rejected.push({ field: 'stat', error: e.toUdpError() });
    }
  }
  return { ok: true, packet };
}

// ── encode ───────────────────────────────────────────────────────────────────────────────────

function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** Copy the defined fields, in the given order, into a plain JSON object. */
function pick(src: object, keys: readonly string[]): Json {
  const out: Json = {};
  const rec = src as Json;
  for (const k of keys) if (rec[k] !== undefined) out[k] = rec[k];
  return out;
}

const RXPK_ORDER = [
  'jver', 'tmst', 'time', 'tmms', 'ftime', 'chan', 'rfch', 'freq', 'mid', 'stat', 'modu', 'datr', 'codr',
  'rssis', 'rssi', 'lsnr', 'foff', 'brd', 'ant', 'aesk', 'rsig',
] as const;
const RSIG_ORDER = ['ant', 'chan', 'rssic', 'rssis', 'rssisd', 'lsnr', 'etime', 'foff', 'ftime'] as const;
const STAT_ORDER = ['time', 'lati', 'long', 'alti', 'rxnb', 'rxok', 'rxfw', 'ackr', 'dwnb', 'txnb', 'temp'] as const;
const TXPK_ORDER = [
  'imme', 'tmst', 'tmms', 'freq', 'rfch', 'powe', 'modu', 'datr', 'codr', 'fdev', 'ipol', 'prea', 'ncrc', 'nhdr', 'brd', 'ant',
] as const;

/** The JSON object for one rxpk (`size` always follows `data`). */
export function rxpkToJson(r: Rxpk): Json {
  const o = pick(r, RXPK_ORDER);
  if (r.rsig) o['rsig'] = r.rsig.map((s) => pick(s, RSIG_ORDER));
  o['size'] = r.data.length;
  o['data'] = base64(r.data);
  return o;
}

export function txpkToJson(t: Txpk): Json {
  const o = pick(t, TXPK_ORDER);
  o['size'] = t.data.length;
  o['data'] = base64(t.data);
  return o;
}

function header(version: number, token: number, type: UdpPacketType, extra: number): Buffer {
  if (!Number.isInteger(token) || token < 0 || token > 0xffff) throw new RangeError(`token must be 0..65535, got ${String(token)}`);
  if (version !== 1 && version !== 2) throw new RangeError(`protocol version must be 1 or 2, got ${String(version)}`);
  const out = Buffer.alloc(4 + extra);
  out[0] = version;
  out[1] = token >>> 8;
  out[2] = token & 0xff;
  out[3] = PACKET_TYPE_ID[type];
  return out;
}

function withEui(version: number, token: number, type: UdpPacketType, eui: string, json: Json | null): Buffer {
  if (!isEui(eui)) throw new RangeError(`gateway EUI must be 16 hex digits, got ${JSON.stringify(eui)}`);
  const head = header(version, token, type, 8);
  writeEuiBE(eui.toLowerCase(), head, 4);
  return json === null ? head : Buffer.concat([head, Buffer.from(JSON.stringify(json), 'utf8')]);
}

/**
 * Encode a datagram. Throws RangeError on a malformed token, version or EUI (these are the
 * caller's own values, not input from the network).
 */
export function encodeUdpPacket(p: UdpPacket): Buffer {
  const version = p.version ?? UDP_PROTOCOL_VERSION;
  switch (p.type) {
    case 'PUSH_ACK':
    case 'PULL_ACK':
      return header(version, p.token, p.type, 0);
    case 'PULL_DATA':
      return withEui(version, p.token, p.type, p.gatewayEui, null);
    case 'PUSH_DATA': {
      const json: Json = {};
      if (p.rxpk.length > 0) json['rxpk'] = p.rxpk.map(rxpkToJson);
      if (p.stat) json['stat'] = pick(p.stat, STAT_ORDER);
      return withEui(version, p.token, p.type, p.gatewayEui, json);
    }
    case 'PULL_RESP':
      return Buffer.concat([header(version, p.token, p.type, 0), Buffer.from(JSON.stringify({ txpk: txpkToJson(p.txpk) }), 'utf8')]);
    case 'TX_ACK':
      return withEui(version, p.token, p.type, p.gatewayEui, p.txpkAck ? { txpk_ack: pick(p.txpkAck, ['error', 'warn', 'value']) } : null);
  }
}
