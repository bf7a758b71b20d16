/**
 * AES-128 on node:crypto with the cipher objects kept per key.
 *
 * Creating a node:crypto cipher costs about as much as two block encryptions, and a simulator
 * builds tens of thousands of frames per second with a handful of session keys, so an `AesKey`
 * keeps its ECB encrypt/decrypt ciphers and one running CBC cipher alive and feeds them blocks
 * with `update()` (never `final()`):
 *
 * - ECB is stateless between blocks, so one cipher serves any number of calls.
 * - CBC is not: the cipher chains on from the last ciphertext block it produced. `cbcMac()`
 *   remembers that block and XORs it into the first block of the next message, which cancels
 *   the chaining — E(M1 ⊕ C_prev ⊕ C_prev) = E(M1) — so each CBC-MAC runs as if from a zero IV
 *   in a single `update()` call, whatever its length.
 *
 * Everything is synchronous, so sharing the ciphers between callers is safe on one thread.
 * Functions across this folder take a `KeyInput` (raw 16 bytes or a prepared `AesKey`);
 * `aesKey()` caches the prepared key per Uint8Array object and re-checks the bytes, so a caller
 * that mutates its key buffer still gets the right key.
 */
import { createCipheriv, createDecipheriv, type Cipher, type Decipher } from 'node:crypto';

export const AES_BLOCK = 16;

/**
 * What AES-CMAC and the FRMPayload keystream need of a key: AES *encryption* only, so a key can
 * live outside a JS object of its own (a row of `AesKeyTable`, aes-key-table.ts). `AesKey`,
 * `SoftAesKey` and the table's key views implement it.
 */
export interface AesEncryptKey {
  /** AES-128-ECB encrypt; `input.length` must be a multiple of 16. Returns a fresh buffer. */
  encryptEcb(input: Uint8Array): Buffer;
  /** AES-128-ECB encrypt of `buf[0 .. end)` in place; `end` a multiple of 16 within `buf`. */
  encryptBlocksInPlace(buf: Uint8Array, end: number): void;
  /**
   * AES-CMAC (RFC 4493) over `buf[0 .. len)`; `buf` must have room for `len` rounded up to whole
   * blocks (at least one) and is clobbered (`cmacPad`). Returns a private 16-byte view, valid
   * until the next CMAC of any key — copy what you keep.
   */
  cmacInPlace(buf: Buffer, len: number): Buffer;
}

/**
 * CMAC padding in place: `buf[len] = 0x80` and zeros to the block end unless `len` is a
 * non-zero multiple of 16 (`cmacComplete`). Returns the end of the last block.
 */
export function cmacPad(buf: Uint8Array, len: number): number {
  const end = len === 0 ? AES_BLOCK : Math.ceil(len / AES_BLOCK) * AES_BLOCK;
  if (buf.length < end) throw new RangeError(`CMAC scratch of ${buf.length} bytes is too small for ${len}`);
  if (!cmacComplete(len)) {
    buf[len] = 0x80;
    buf.fill(0, len + 1, end);
  }
  return end;
}

/** `dst[d..d+16) ^= src[so..so+16)` (a CMAC subkey into the last block). */
export function xorBlock(dst: Uint8Array, d: number, src: Uint8Array, so: number): void {
  for (let i = 0; i < AES_BLOCK; i++) dst[d + i] = (dst[d + i] as number) ^ (src[so + i] as number);
}

/** Whether the last CMAC block is complete (XOR K1) rather than padded (XOR K2). */
export function cmacComplete(len: number): boolean {
  return len > 0 && len % AES_BLOCK === 0;
}

export class AesKey implements AesEncryptKey {
  /** A private copy of the 16 key bytes. */
  readonly bytes: Buffer;
  private ecbEnc: Cipher | undefined;
  private ecbDec: Decipher | undefined;
  private cbc: Cipher | undefined;
  /** Last ciphertext block the running CBC cipher produced (its current chaining value); allocated at first use. */
  private cbcChain: Buffer | undefined;
  private subkeys: { k1: Buffer; k2: Buffer } | undefined;

  constructor(key: Uint8Array) {
    if (key.length !== AES_BLOCK) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
    this.bytes = Buffer.from(key);
  }

  /** AES-128-ECB encrypt; `input.length` must be a multiple of 16. Returns a fresh buffer. */
  encryptEcb(input: Uint8Array): Buffer {
    if (input.length % AES_BLOCK !== 0) throw new RangeError(`ECB input must be whole blocks, got ${input.length} bytes`);
    if (!this.ecbEnc) {
      this.ecbEnc = createCipheriv('aes-128-ecb', this.bytes, null);
      this.ecbEnc.setAutoPadding(false);
    }
    return this.ecbEnc.update(input);
  }

  encryptBlocksInPlace(buf: Uint8Array, end: number): void {
    buf.set(this.encryptEcb(buf.subarray(0, end)));
  }

  cmacInPlace(buf: Buffer, len: number): Buffer {
    const end = cmacPad(buf, len);
    const { k1, k2 } = this.cmacSubkeys();
    xorBlock(buf, end - AES_BLOCK, cmacComplete(len) ? k1 : k2, 0);
    return this.cbcMacInPlace(buf.subarray(0, end));
  }

  /** AES-128-ECB decrypt; `input.length` must be a multiple of 16. Returns a fresh buffer. */
  decryptEcb(input: Uint8Array): Buffer {
    if (input.length % AES_BLOCK !== 0) throw new RangeError(`ECB input must be whole blocks, got ${input.length} bytes`);
    if (!this.ecbDec) {
      this.ecbDec = createDecipheriv('aes-128-ecb', this.bytes, null);
      this.ecbDec.setAutoPadding(false);
    }
    return this.ecbDec.update(input);
  }

  /**
   * CBC-MAC with a zero IV over whole blocks: the last ciphertext block. **Clobbers the first
   * block of `blocks`** (it is XORed with the chaining value, see the module comment). The
   * returned buffer is a private view only valid until the next call on this key.
   */
  cbcMacInPlace(blocks: Buffer): Buffer {
    const n = blocks.length;
    if (n === 0 || n % AES_BLOCK !== 0) throw new RangeError(`CBC-MAC input must be whole blocks, got ${n} bytes`);
    if (!this.cbc) {
      this.cbc = createCipheriv('aes-128-cbc', this.bytes, Buffer.alloc(AES_BLOCK));
      this.cbc.setAutoPadding(false);
    }
    const chain = (this.cbcChain ??= Buffer.alloc(AES_BLOCK));
    for (let i = 0; i < AES_BLOCK; i++) blocks[i] = (blocks[i] as number) ^ (chain[i] as number);
    const out = this.cbc.update(blocks);
    // OpenSSL emits every whole block on encrypt; anything else would desynchronise the chain.
    if (out.length !== n) throw new Error(`AES-CBC produced ${out.length} bytes for ${n}`);
    out.copy(chain, 0, n - AES_BLOCK, n);
    return chain;
  }

  /**
   * Takes new key bytes in place (a bounded cache recycles its least recently used key object
   * instead of allocating one: gateway/ns/session-keys-cache.ts); what was prepared for the old
   * key is dropped. Nothing may hold a result of this key across the call.
   */
  protected replaceBytes(key: Uint8Array): void {
    if (key.length !== AES_BLOCK) throw new RangeError(`AES-128 key must be 16 bytes, got ${key.length}`);
    this.bytes.set(key);
    this.ecbEnc = undefined;
    this.ecbDec = undefined;
    this.cbc = undefined;
    this.cbcChain = undefined;
    this.subkeys = undefined;
  }

  /** RFC 4493 subkeys K1, K2 (computed once per key). */
  cmacSubkeys(): { k1: Buffer; k2: Buffer } {
    if (!this.subkeys) {
      const l = this.encryptEcb(Buffer.alloc(AES_BLOCK));
      const k1 = shiftLeftXor(l);
      const k2 = shiftLeftXor(k1);
      this.subkeys = { k1, k2 };
    }
    return this.subkeys;
  }
}

/** One-bit left shift of a 128-bit block; XOR 0x87 into the last byte if the MSB fell off. */
function shiftLeftXor(block: Buffer): Buffer {
  const out = Buffer.alloc(AES_BLOCK);
  for (let i = 0; i < AES_BLOCK; i++) {
    out[i] = (((block[i] as number) << 1) | ((block[i + 1] ?? 0) >>> 7)) & 0xff;
  }
  if (((block[0] as number) & 0x80) !== 0) out[AES_BLOCK - 1] = (out[AES_BLOCK - 1] as number) ^ 0x87;
  return out;
}

/** A key for encryption (MIC, keystream): raw 16 bytes, prepared once with `aesKey()`, or a table row. */
export type KeyInput = Uint8Array | AesEncryptKey;
/** A key that must decrypt too (join-accept bodies): raw 16 bytes or an `AesKey`. */
export type CipherKeyInput = Uint8Array | AesKey;

const cache = new WeakMap<Uint8Array, AesKey>();

/** The prepared key for `key`, cached per Uint8Array object (bytes re-checked on every hit). */
export function aesKey(key: CipherKeyInput): AesKey;
export function aesKey(key: KeyInput): AesEncryptKey;
export function aesKey(key: KeyInput): AesEncryptKey {
  if (!(key instanceof Uint8Array)) return key;
  const hit = cache.get(key);
  if (hit && sameBytes(hit.bytes, key)) return hit;
  const prepared = new AesKey(key);
  cache.set(key, prepared);
  return prepared;
}

function sameBytes(a: Buffer, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
