/**
 * Small byte helpers for the LoRaWAN layer.
 *
 * LoRaWAN puts every multi-byte field on the air **little-endian**, while people (and the
 * vectors, ChirpStack, TTN) write DevAddr, EUIs and NetID in big-endian "display" order. The
 * helpers here convert between the two so no other module has to think about it. Numbers are
 * used for 16/24/32-bit fields (DevAddr, NetID, nonces, counters); 64-bit EUIs stay lowercase
 * hex strings, which is what registries and logs key on.
 */

/** View any Uint8Array as a Buffer without copying (node:crypto and Buffer helpers want one). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lowercase hex of the bytes, in the order given. */
export function toHex(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('hex');
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Parse hex (even length, no prefix, no separators). Throws RangeError on anything else. */
export function fromHex(hex: string): Buffer {
  if (!HEX_RE.test(hex)) throw new RangeError(`not an even-length hex string: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex');
}

/** 8 lowercase hex digits, e.g. DevAddr 0x26011bda → "26011bda". */
export function hex32(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** 6 lowercase hex digits, e.g. NetID 0x000013 → "000013". */
export function hex24(value: number): string {
  return (value & 0xffffff).toString(16).padStart(6, '0');
}

/** 4 lowercase hex digits, e.g. DevNonce 4141 → "102d". */
export function hex16(value: number): string {
  return (value & 0xffff).toString(16).padStart(4, '0');
}

const EUI_RE = /^[0-9a-fA-F]{16}$/;

/** Read an 8-byte little-endian EUI from the wire as display-order lowercase hex. */
export function readEuiLE(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = 7; i >= 0; i--) s += ((bytes[offset + i] as number) | 0x100).toString(16).slice(1);
  return s;
}

/** Write a display-order EUI (16 hex digits) as 8 little-endian bytes. Throws RangeError if malformed. */
export function writeEuiLE(eui: string, out: Uint8Array, offset: number): void {
  if (!EUI_RE.test(eui)) throw new RangeError(`EUI must be 16 hex digits, got ${JSON.stringify(eui)}`);
  for (let i = 0; i < 8; i++) out[offset + 7 - i] = parseInt(eui.slice(i * 2, i * 2 + 2), 16);
}

/** Read an 8-byte EUI stored in display (big-endian) order, e.g. the gateway EUI in UDP datagrams. */
export function readEuiBE(bytes: Uint8Array, offset: number): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += ((bytes[offset + i] as number) | 0x100).toString(16).slice(1);
  return s;
}

/** Write a display-order EUI as 8 big-endian bytes. Throws RangeError if malformed. */
export function writeEuiBE(eui: string, out: Uint8Array, offset: number): void {
  if (!EUI_RE.test(eui)) throw new RangeError(`EUI must be 16 hex digits, got ${JSON.stringify(eui)}`);
  for (let i = 0; i < 8; i++) out[offset + i] = parseInt(eui.slice(i * 2, i * 2 + 2), 16);
}

export function isEui(value: unknown): value is string {
  return typeof value === 'string' && EUI_RE.test(value);
}

export function readU16LE(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8);
}

export function readU24LE(b: Uint8Array, o: number): number {
  return (b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16);
}

export function readU32LE(b: Uint8Array, o: number): number {
  return ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0;
}

export function writeU16LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export function writeU24LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
}

export function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

export function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Throws a RangeError naming the argument unless `value` is an integer in 0..max. */
export function requireUint(value: number, max: number, what: string): void {
  if (!isUint(value, max)) throw new RangeError(`${what} must be an integer 0..${max}, got ${String(value)}`);
}

/** Constant-time-ish equality of two byte ranges (no early exit; MICs are not secrets, but cheap). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
