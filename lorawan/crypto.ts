/**
 * LoRaWAN 1.0.x payload encryption.
 *
 * FRMPayload (§4.3.3): keystream S = AES-ECB(K, A_1) | … | AES-ECB(K, A_k), with
 * `A_i = 0x01 | 0x00×4 | Dir | DevAddr(4 LE) | FCnt32(4 LE) | 0x00 | i`, and the payload XORed
 * with S. Encrypt and decrypt are the same operation. K is the NwkSKey for FPort 0 and the
 * AppSKey otherwise. FOpts travel in clear in 1.0.x (1.1 encrypts them: not supported here).
 *
 * Join-accept (§6.2.5): the server AES-**decrypts** `fields | MIC` with the AppKey so that devices
 * only need AES encrypt; reading one is an AES-encrypt.
 *
 * All A_i blocks of a payload are laid out in a reused scratch buffer and encrypted there in
 * place (`encryptBlocksInPlace`: no keystream buffer per call with plain-JS and table keys; one
 * cached-cipher `update()` with node:crypto keys).
 */
import { AES_BLOCK, aesKey, type CipherKeyInput, type KeyInput } from './aes.ts';
import { writeU32LE } from './bytes.ts';
import type { Direction } from './phy-payload.ts';

let blocks = Buffer.alloc(16 * AES_BLOCK);

/**
 * XOR `input` with the FRMPayload keystream into `out` at `outOffset` (`out` may be `input`
 * itself for in-place use). `fCnt32` is the full 32-bit counter.
 */
export function xorFrmPayloadKeystream(
  key: KeyInput,
  direction: Direction,
  devAddr: number,
  fCnt32: number,
  input: Uint8Array,
  out: Uint8Array,
  outOffset = 0,
): void {
  const len = input.length;
  if (len === 0) return;
  const k = Math.ceil(len / AES_BLOCK);
  const size = k * AES_BLOCK;
  if (blocks.length < size) blocks = Buffer.alloc(size);
  const a = blocks;
  const dir = direction === 'up' ? 0 : 1;
  for (let i = 0; i < k; i++) {
    const o = i * AES_BLOCK;
    a[o] = 0x01;
    a[o + 1] = 0;
    a[o + 2] = 0;
    a[o + 3] = 0;
    a[o + 4] = 0;
    a[o + 5] = dir;
    writeU32LE(a, o + 6, devAddr);
    writeU32LE(a, o + 10, fCnt32);
    a[o + 14] = 0;
    a[o + 15] = (i + 1) & 0xff;
  }
  aesKey(key).encryptBlocksInPlace(a, size);
  for (let i = 0; i < len; i++) out[outOffset + i] = (input[i] as number) ^ (a[i] as number);
}

/** Encrypt or decrypt (the same thing) an FRMPayload. Returns a fresh buffer. */
export function cryptFrmPayload(
  key: KeyInput,
  direction: Direction,
  devAddr: number,
  fCnt32: number,
  data: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  xorFrmPayloadKeystream(key, direction, devAddr, fCnt32, data, out, 0);
  return out;
}

export const encryptFrmPayload = cryptFrmPayload;
export const decryptFrmPayload = cryptFrmPayload;

/** Server side: turn a join-accept body `fields | [CFList] | MIC` (16 or 32 bytes) into its wire form. */
export function encryptJoinAcceptBody(appKey: CipherKeyInput, plain: Uint8Array): Buffer {
  return aesKey(appKey).decryptEcb(plain);
}

/** Device side (and tests): recover `fields | [CFList] | MIC` from the wire body. */
export function decryptJoinAcceptBody(appKey: KeyInput, encrypted: Uint8Array): Buffer {
  return aesKey(appKey).encryptEcb(encrypted);
}
