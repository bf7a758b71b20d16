/**
 * Message integrity codes for LoRaWAN 1.0.x.
 *
 * Data frames (§4.4): `MIC = AES-CMAC(NwkSKey, B0 | msg)[0..3]` with
 * `B0 = 0x49 | 0x00×4 | Dir | DevAddr(4 LE) | FCnt32(4 LE) | 0x00 | len(msg)` and
 * `msg = MHDR | FHDR | [FPort | FRMPayload]` (everything but the MIC). B0 carries the full
 * 32-bit counter although only its low 16 bits travel.
 *
 * Join frames (§6.2.4, §6.2.5): `MIC = AES-CMAC(AppKey, MHDR | fields)[0..3]`.
 *
 * The message is laid out after B0 in a shared scratch buffer so a MIC costs one copy and one
 * CMAC in place (`AesEncryptKey.cmacInPlace`); results are fresh 4-byte buffers, except
 * `verifyDataMic`, which allocates nothing (it compares in the CMAC's own block).
 */
import { AES_BLOCK } from './aes.ts';
import type { KeyInput } from './aes.ts';
import { cmacInScratch, micScratch } from './aes-cmac.ts';
import { bytesEqual, writeU32LE } from './bytes.ts';
import type { DataFrame, Direction, JoinRequestFrame } from './phy-payload.ts';

/** Write B0 at the start of `buf`. */
function writeB0(buf: Buffer, direction: Direction, devAddr: number, fCnt32: number, msgLen: number): void {
  buf[0] = 0x49;
  buf[1] = 0;
  buf[2] = 0;
  buf[3] = 0;
  buf[4] = 0;
  buf[5] = direction === 'up' ? 0 : 1;
  writeU32LE(buf, 6, devAddr);
  writeU32LE(buf, 10, fCnt32);
  buf[14] = 0;
  buf[15] = msgLen & 0xff;
}

/**
 * The 16-byte CMAC of B0 | `phy[0 .. msgLen)` (a private view, valid until the next CMAC). The
 * message is copied byte by byte: a `subarray` view per call to `set()` from cost more than the
 * copy of a short frame.
 */
function dataCmac(nwkSKey: KeyInput, direction: Direction, devAddr: number, fCnt32: number, phy: Uint8Array, msgLen: number): Buffer {
  const total = AES_BLOCK + msgLen;
  const buf = micScratch(total);
  writeB0(buf, direction, devAddr, fCnt32, msgLen);
  for (let i = 0; i < msgLen; i++) buf[AES_BLOCK + i] = phy[i] as number;
  return cmacInScratch(nwkSKey, buf, total);
}

/**
 * The 4 MIC bytes (first 4 of the CMAC) as a view valid until the next MIC with that key.
 * `msg` is MHDR … FRMPayload, i.e. the PHYPayload without its MIC.
 */
export function dataMicView(nwkSKey: KeyInput, direction: Direction, devAddr: number, fCnt32: number, msg: Uint8Array): Buffer {
  return dataCmac(nwkSKey, direction, devAddr, fCnt32, msg, msg.length).subarray(0, 4);
}

/** Data-frame MIC over `msg` (the PHYPayload without its MIC). */
export function computeDataMic(nwkSKey: KeyInput, direction: Direction, devAddr: number, fCnt32: number, msg: Uint8Array): Buffer {
  return Buffer.from(dataMicView(nwkSKey, direction, devAddr, fCnt32, msg));
}

/** Check a parsed data frame's MIC with the reconstructed 32-bit counter. */
export function verifyDataMic(frame: DataFrame, nwkSKey: KeyInput, fCnt32: number): boolean {
  // The network server's hot path (once per candidate session per uplink): no view of the
  // message and none of the MIC, the first 4 CMAC bytes compared in place.
  const phy = frame.phyPayload;
  const c = dataCmac(nwkSKey, frame.direction, frame.devAddr, fCnt32, phy, phy.length - 4);
  const m = frame.mic;
  return m.length === 4 && c[0] === m[0] && c[1] === m[1] && c[2] === m[2] && c[3] === m[3];
}

/** Join-request / join-accept MIC: CMAC(AppKey, msg)[0..3] where msg = MHDR | fields. */
export function computeJoinMic(appKey: KeyInput, msg: Uint8Array): Buffer {
  const buf = micScratch(msg.length);
  buf.set(msg, 0);
  return Buffer.from(cmacInScratch(appKey, buf, msg.length).subarray(0, 4));
}

export function verifyJoinRequestMic(frame: JoinRequestFrame, appKey: KeyInput): boolean {
  return bytesEqual(computeJoinMic(appKey, frame.phyPayload.subarray(0, 19)), frame.mic);
}
