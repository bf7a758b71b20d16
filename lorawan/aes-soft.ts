/**
 * AES-128 encryption in plain JavaScript (FIPS-197, table form), as an `AesKey` whose
 * `encryptEcb` and `cbcMacInPlace` — everything a network server needs per data uplink: the
 * MIC (AES-CMAC) and the FRMPayload keystream — run without node:crypto.
 *
 * Why: a node:crypto cipher object is a JS stream plus an OpenSSL context. Creating one costs
 * far more than the two or three blocks an uplink needs, and keeping one per session key (what
 * `aesKey()` does) holds tens of thousands of them with 10,000 sessions. A city gateway hears
 * each device every few minutes, so nearly every uplink meets a key whose cipher is gone or
 * must be kept for ever (GC was ~27 % of the gateway's CPU in bench/edge-ns with them). Here,
 * expanding a key is 44 words and a block is 160 table look-ups: no native object.
 * `bench/edge-ns/keys.ts` (MIC + decryption of a 12-byte uplink): 42 µs with a cold key on
 * node:crypto, 12 µs here; 41 µs and 7 µs with the key already prepared.
 *
 * Decryption (`decryptEcb`, used for join-accepts) stays on node:crypto through the base class.
 * Checked against node:crypto and the FIPS-197 vector in aes-soft.test.ts.
 */
import { AES_BLOCK, AesKey, cmacComplete, cmacPad, xorBlock } from './aes.ts';

/** S-box and the four round tables, built once from GF(2^8) arithmetic. */
const SBOX = new Uint8Array(256);
const T0 = new Uint32Array(256);
const T1 = new Uint32Array(256);
const T2 = new Uint32Array(256);
const T3 = new Uint32Array(256);

function xtime(a: number): number {
  return ((a << 1) ^ (a & 0x80 ? 0x1b : 0)) & 0xff;
}

(function buildTables(): void {
  // Walk the multiplicative group with generator 3: p = 3^i, q = 3^-i, so q = p^-1.
  let p = 1;
  let q = 1;
  do {
    p = p ^ xtime(p); // p *= 3
    q ^= q << 1; // q /= 3
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const rot = (x: number, s: number): number => ((x << s) | (x >>> (8 - s))) & 0xff;
    SBOX[p] = q ^ rot(q, 1) ^ rot(q, 2) ^ rot(q, 3) ^ rot(q, 4) ^ 0x63;
  } while (p !== 1);
  SBOX[0] = 0x63;
  for (let i = 0; i < 256; i++) {
    const s = SBOX[i] as number;
    const s2 = xtime(s);
    const s3 = s2 ^ s;
    // Column (2s, s, s, 3s) as a big-endian word, and its byte rotations.
    const t = ((s2 << 24) | (s << 16) | (s << 8) | s3) >>> 0;
    T0[i] = t;
    T1[i] = ((t >>> 8) | (t << 24)) >>> 0;
    T2[i] = ((t >>> 16) | (t << 16)) >>> 0;
    T3[i] = ((t >>> 24) | (t << 8)) >>> 0;
  }
})();

/** One-bit left shift of a 128-bit block into `out`; XOR 0x87 into the last byte if the MSB fell off. */
function shiftLeftXor(block: Uint8Array, out: Buffer): Buffer {
  shiftLeftXorAt(block, 0, out, 0);
  return out;
}

/** `shiftLeftXor` from `src[so..so+16)` into `dst[d..d+16)` (distinct places). */
function shiftLeftXorAt(src: Uint8Array, so: number, dst: Uint8Array, d: number): void {
  for (let i = 0; i < AES_BLOCK; i++) dst[d + i] = (((src[so + i] as number) << 1) | (i < AES_BLOCK - 1 ? (src[so + i + 1] as number) >>> 7 : 0)) & 0xff;
  if (((src[so] as number) & 0x80) !== 0) dst[d + AES_BLOCK - 1] = (dst[d + AES_BLOCK - 1] as number) ^ 0x87;
}

const SUBKEY_L = Buffer.alloc(AES_BLOCK);

/**
 * RFC 4493 subkeys of the expanded key at `w[base..]`: K1 into `dst[d..d+16)`, K2 into
 * `dst[d+16..d+32)` (L = AES(K, 0^128), K1 = L << 1 (^ 0x87), K2 = K1 << 1 (^ 0x87)).
 * The scratch block holding L is zeroed again afterwards (it is key material).
 */
export function cmacSubkeysInto(w: Uint32Array, base: number, dst: Uint8Array, d: number): void {
  SUBKEY_L.fill(0);
  encryptBlockWith(w, base, SUBKEY_L, 0, SUBKEY_L, 0);
  shiftLeftXorAt(SUBKEY_L, 0, dst, d);
  shiftLeftXorAt(dst, d, dst, d + AES_BLOCK);
  SUBKEY_L.fill(0);
}

/** One output word of the last AES round (SubBytes, ShiftRows, AddRoundKey) into `dst[d..d+4)`. */
function lastRoundWord(dst: Uint8Array, d: number, a: number, b: number, c: number, e: number, rk: number): void {
  dst[d] = (SBOX[a >>> 24] as number) ^ (rk >>> 24);
  dst[d + 1] = (SBOX[(b >>> 16) & 0xff] as number) ^ ((rk >>> 16) & 0xff);
  dst[d + 2] = (SBOX[(c >>> 8) & 0xff] as number) ^ ((rk >>> 8) & 0xff);
  dst[d + 3] = (SBOX[e & 0xff] as number) ^ (rk & 0xff);
}

/**
 * Encrypts the block at `src[so..so+16)` into `dst[d..d+16)` (may be the same place) with the
 * round keys at `w[base .. base+44)`.
 */
export function encryptBlockWith(w: Uint32Array, base: number, src: Uint8Array, so: number, dst: Uint8Array, d: number): void {
  let s0 = ((((src[so] as number) << 24) | ((src[so + 1] as number) << 16) | ((src[so + 2] as number) << 8) | (src[so + 3] as number)) ^ (w[base] as number)) >>> 0;
  let s1 = ((((src[so + 4] as number) << 24) | ((src[so + 5] as number) << 16) | ((src[so + 6] as number) << 8) | (src[so + 7] as number)) ^ (w[base + 1] as number)) >>> 0;
  let s2 = ((((src[so + 8] as number) << 24) | ((src[so + 9] as number) << 16) | ((src[so + 10] as number) << 8) | (src[so + 11] as number)) ^ (w[base + 2] as number)) >>> 0;
  let s3 = ((((src[so + 12] as number) << 24) | ((src[so + 13] as number) << 16) | ((src[so + 14] as number) << 8) | (src[so + 15] as number)) ^ (w[base + 3] as number)) >>> 0;
  let k = base + 4;
  for (let round = 1; round < 10; round++) {
    const t0 = (T0[s0 >>> 24] as number) ^ (T1[(s1 >>> 16) & 0xff] as number) ^ (T2[(s2 >>> 8) & 0xff] as number) ^ (T3[s3 & 0xff] as number) ^ (w[k] as number);
    const t1 = (T0[s1 >>> 24] as number) ^ (T1[(s2 >>> 16) & 0xff] as number) ^ (T2[(s3 >>> 8) & 0xff] as number) ^ (T3[s0 & 0xff] as number) ^ (w[k + 1] as number);
    const t2 = (T0[s2 >>> 24] as number) ^ (T1[(s3 >>> 16) & 0xff] as number) ^ (T2[(s0 >>> 8) & 0xff] as number) ^ (T3[s1 & 0xff] as number) ^ (w[k + 2] as number);
    const t3 = (T0[s3 >>> 24] as number) ^ (T1[(s0 >>> 16) & 0xff] as number) ^ (T2[(s1 >>> 8) & 0xff] as number) ^ (T3[s2 & 0xff] as number) ^ (w[k + 3] as number);
    s0 = t0 >>> 0;
    s1 = t1 >>> 0;
    s2 = t2 >>> 0;
    s3 = t3 >>> 0;
    k += 4;
  }
  // Last round: SubBytes, ShiftRows, AddRoundKey (no MixColumns), written out word by word:
  // no closure, array or iterator per block (they were ~9 % of the gateway's allocations in
  // bench/edge-ns, two to three blocks per uplink).
  lastRoundWord(dst, d, s0, s1, s2, s3, w[base + 40] as number);
  lastRoundWord(dst, d + 4, s1, s2, s3, s0, w[base + 41] as number);
  lastRoundWord(dst, d + 8, s2, s3, s0, s1, w[base + 42] as number);
  lastRoundWord(dst, d + 12, s3, s0, s1, s2, w[base + 43] as number);
}

/**
 * CBC-MAC with a zero IV of `blocks[0 .. end)` under the round keys at `w[base..]`, into `chain`
 * (16 bytes): the MAC. `blocks` is only read.
 */
export function cbcMacWith(w: Uint32Array, base: number, blocks: Uint8Array, end: number, chain: Uint8Array): void {
  chain.fill(0, 0, AES_BLOCK);
  for (let o = 0; o < end; o += AES_BLOCK) {
    for (let i = 0; i < AES_BLOCK; i++) chain[i] = (chain[i] as number) ^ (blocks[o + i] as number);
    encryptBlockWith(w, base, chain, 0, chain, 0);
  }
}

const RCON = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36];

/** Words in an expanded AES-128 encryption key (11 round keys of 4 words). */
export const ROUND_KEY_WORDS = 44;

/** Expands `key` into the 44 round-key words `w[base .. base+44)`. */
export function expandKeyInto(key: Uint8Array, w: Uint32Array, base: number): void {
  for (let i = 0; i < 4; i++) w[base + i] = (((key[4 * i] as number) << 24) | ((key[4 * i + 1] as number) << 16) | ((key[4 * i + 2] as number) << 8) | (key[4 * i + 3] as number)) >>> 0;
  for (let i = 4; i < ROUND_KEY_WORDS; i++) {
    let t = w[base + i - 1] as number;
    if (i % 4 === 0) {
      // RotWord, SubWord, Rcon
      t = ((SBOX[(t >>> 16) & 0xff] as number) << 24) | ((SBOX[(t >>> 8) & 0xff] as number) << 16) | ((SBOX[t & 0xff] as number) << 8) | (SBOX[t >>> 24] as number);
      t ^= (RCON[i / 4 - 1] as number) << 24;
    }
    w[base + i] = ((w[base + i - 4] as number) ^ t) >>> 0;
  }
}

function expandKey(key: Uint8Array, w: Uint32Array): Uint32Array {
  expandKeyInto(key, w, 0);
  return w;
}

/**
 * Round keys come from shared slabs (a typed array of its own per key is an ArrayBuffer each:
 * measured as most of a cold key's cost), like Buffer's pool; a slab is freed with its last key.
 */
const SLAB_WORDS = 44 * 512;
let slab = new Uint32Array(SLAB_WORDS);
let slabUsed = 0;
function roundKeyWords(): Uint32Array {
  if (slabUsed + 44 > SLAB_WORDS) {
    slab = new Uint32Array(SLAB_WORDS);
    slabUsed = 0;
  }
  const v = slab.subarray(slabUsed, slabUsed + 44);
  slabUsed += 44;
  return v;
}

/**
 * The CBC-MAC result of every SoftAesKey and AesKeyTable key: valid until the next CMAC or
 * `cbcMacInPlace` on *any* of them (the base class: on the same key). Every caller in lorawan/
 * reads or copies it at once (single thread, synchronous).
 */
export const CHAIN = Buffer.alloc(AES_BLOCK);
const ZERO_BLOCK = Buffer.alloc(AES_BLOCK);

export class SoftAesKey extends AesKey {
  private readonly w: Uint32Array;
  private softSubkeys: { k1: Buffer; k2: Buffer } | undefined;
  /** `softSubkeys` belong to the key before the last `rekey`: refilled when next asked for. */
  private subkeysStale = false;

  constructor(key: Uint8Array) {
    super(key);
    this.w = expandKey(this.bytes, roundKeyWords());
  }

  /**
   * Becomes the key `key` in place: round keys are recomputed into this object's own array,
   * CMAC subkeys into theirs when next asked for, so a recycled key allocates nothing (a cache
   * miss per uplink is the common case with thousands of devices, see
   * gateway/ns/session-keys-cache.ts). Lazily because the cache recycles NwkSKeys (CMAC) and
   * AppSKeys (keystream only) alike: refilling at once spent an AES block per AppSKey miss on
   * subkeys nothing read.
   */
  rekey(key: Uint8Array): this {
    this.replaceBytes(key);
    expandKey(this.bytes, this.w);
    if (this.softSubkeys) this.subkeysStale = true;
    return this;
  }

  /** RFC 4493 subkeys from pooled buffers (the base class allocates three ArrayBuffers). */
  override cmacSubkeys(): { k1: Buffer; k2: Buffer } {
    if (!this.softSubkeys) {
      const k = { k1: Buffer.allocUnsafe(AES_BLOCK), k2: Buffer.allocUnsafe(AES_BLOCK) };
      this.fillSubkeys(k.k1, k.k2);
      this.softSubkeys = k;
    } else if (this.subkeysStale) {
      this.fillSubkeys(this.softSubkeys.k1, this.softSubkeys.k2);
      this.subkeysStale = false;
    }
    return this.softSubkeys;
  }

  /** K1 = L << 1 (^ 0x87), K2 = K1 << 1 (^ 0x87), L = AES(K, 0^128), into `k1` and `k2`. */
  private fillSubkeys(k1: Buffer, k2: Buffer): void {
    encryptBlockWith(this.w, 0, ZERO_BLOCK, 0, k1, 0);
    shiftLeftXor(k1, k2);
    k1.set(k2);
    shiftLeftXor(k1, k2);
  }

  override encryptEcb(input: Uint8Array): Buffer {
    if (input.length % AES_BLOCK !== 0) throw new RangeError(`ECB input must be whole blocks, got ${input.length} bytes`);
    const out = Buffer.allocUnsafe(input.length);
    for (let o = 0; o < input.length; o += AES_BLOCK) encryptBlockWith(this.w, 0, input, o, out, o);
    return out;
  }

  override encryptBlocksInPlace(buf: Uint8Array, end: number): void {
    if (end % AES_BLOCK !== 0 || end > buf.length) throw new RangeError(`ECB input must be whole blocks within the buffer, got ${end} of ${buf.length} bytes`);
    for (let o = 0; o < end; o += AES_BLOCK) encryptBlockWith(this.w, 0, buf, o, buf, o);
  }

  /** CBC-MAC with a zero IV; like the base class, clobbers `blocks` and returns a private view. */
  override cbcMacInPlace(blocks: Buffer): Buffer {
    const n = blocks.length;
    if (n === 0 || n % AES_BLOCK !== 0) throw new RangeError(`CBC-MAC input must be whole blocks, got ${n} bytes`);
    cbcMacWith(this.w, 0, blocks, n, CHAIN);
    return CHAIN;
  }

  /** CMAC without a Buffer view of the blocks (the base class's `cbcMacInPlace(buf.subarray())`). */
  override cmacInPlace(buf: Buffer, len: number): Buffer {
    const end = cmacPad(buf, len);
    const { k1, k2 } = this.cmacSubkeys();
    xorBlock(buf, end - AES_BLOCK, cmacComplete(len) ? k1 : k2, 0);
    cbcMacWith(this.w, 0, buf, end, CHAIN);
    return CHAIN;
  }
}
