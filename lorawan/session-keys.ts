/**
 * LoRaWAN 1.0.x session keys (§6.2.5):
 *
 * ```text
 * NwkSKey = AES-ECB(AppKey, 0x01 | AppNonce/JoinNonce (3 LE) | NetID (3 LE) | DevNonce (2 LE) | 0x00×7)
 * AppSKey = AES-ECB(AppKey, 0x02 | same)
 * ```
 *
 * The values are numbers in display order (JoinNonce 0x376338 travels as 38 63 37). LoRaWAN 1.1
 * derives four keys from two root keys with JoinEUI in the block: not supported here.
 */
import { aesKey, type KeyInput } from './aes.ts';
import { requireUint, writeU16LE, writeU24LE } from './bytes.ts';

export interface JoinNonces {
  /** AppNonce (1.0.0–1.0.3) / JoinNonce (1.0.4), 24 bits. */
  joinNonce: number;
  /** 24-bit NetID, e.g. 0x000013 for TTN. */
  netId: number;
  /** 16-bit DevNonce from the join-request. */
  devNonce: number;
}

export interface SessionKeyPair {
  nwkSKey: Buffer;
  appSKey: Buffer;
}

/** Derive NwkSKey and AppSKey from the AppKey and the join nonces. Throws RangeError on bad inputs. */
export function deriveSessionKeys(appKey: KeyInput, nonces: JoinNonces): SessionKeyPair {
  requireUint(nonces.joinNonce, 0xffffff, 'JoinNonce');
  requireUint(nonces.netId, 0xffffff, 'NetID');
  requireUint(nonces.devNonce, 0xffff, 'DevNonce');
  const blocks = Buffer.alloc(32);
  for (const [offset, type] of [
    [0, 0x01],
    [16, 0x02],
  ] as const) {
    blocks[offset] = type;
    writeU24LE(blocks, offset + 1, nonces.joinNonce);
    writeU24LE(blocks, offset + 4, nonces.netId);
    writeU16LE(blocks, offset + 7, nonces.devNonce);
  }
  const out = aesKey(appKey).encryptEcb(blocks);
  return { nwkSKey: Buffer.from(out.subarray(0, 16)), appSKey: Buffer.from(out.subarray(16, 32)) };
}
