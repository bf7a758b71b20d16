/**
 * AES-CMAC (RFC 4493) on node:crypto. Node has no CMAC, so this is the RFC's algorithm over a
 * cached AES-128 key (`aes.ts`): subkeys K1/K2 from L = AES(K, 0^128); the last block is XORed
 * with K1 when complete, or padded with 0x80 00… and XORed with K2; the MAC is the CBC-MAC of
 * the result with a zero IV.
 *
 * `cmacInScratch` is the allocation-light form the MIC code uses: the caller lays the message
 * out in a scratch buffer that it owns, and the function pads and XORs in place.
 */
import { AES_BLOCK, aesKey, type KeyInput } from './aes.ts';

let scratch = Buffer.alloc(512);

function scratchFor(len: number): Buffer {
  const need = Math.max(AES_BLOCK, Math.ceil(len / AES_BLOCK) * AES_BLOCK);
  if (scratch.length < need) scratch = Buffer.alloc(Math.max(need, scratch.length * 2));
  return scratch;
}

/** The full 16-byte AES-CMAC of `message` under `key`. Returns a fresh buffer. */
export function aesCmac(key: KeyInput, message: Uint8Array): Buffer {
  const buf = scratchFor(message.length);
  buf.set(message, 0);
  return Buffer.from(cmacInScratch(key, buf, message.length));
}

/**
 * CMAC over `buf[0 .. len)`. `buf` must have room for `len` rounded up to whole blocks (at least
 * one block); its contents are clobbered. The result is a view valid until the next call with
 * the same key — copy what you keep.
 */
export function cmacInScratch(key: KeyInput, buf: Buffer, len: number): Buffer {
  return aesKey(key).cmacInPlace(buf, len);
}

/** Grow-on-demand scratch shared by the MIC helpers (single-threaded, never held across calls). */
export function micScratch(len: number): Buffer {
  return scratchFor(len);
}
