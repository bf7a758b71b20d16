/**
 * CRC-32 (IEEE 802.3 polynomial 0xEDB88320, reflected, init and final xor 0xFFFFFFFF — the
 * checksum of zlib, gzip and PNG). `zlib.crc32` computes it natively from Node 20.15 on; older
 * Node 20 releases get the table-driven version below, which yields the same value, so a segment
 * written by one Node release verifies under any other.
 */
import * as zlib from 'node:zlib';

const TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}

/** CRC-32 of `data` in plain JavaScript (unsigned 32-bit result). */
export function crc32Table(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

type Crc32Fn = (data: Uint8Array) => number;

const native: Crc32Fn | undefined = typeof zlib.crc32 === 'function' ? (data) => zlib.crc32(data) : undefined;

/** CRC-32 of `data` (unsigned 32-bit); native when this Node has `zlib.crc32`. */
export const crc32: Crc32Fn = native ?? crc32Table;

/** Whether `crc32` runs natively (reported by the benchmark). */
export const crc32IsNative = native !== undefined;
