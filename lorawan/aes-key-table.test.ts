import { createCipheriv } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesCmac } from './aes-cmac.ts';
import { AesKeyTable } from './aes-key-table.ts';
import { AesKey } from './aes.ts';
import { cryptFrmPayload } from './crypto.ts';
import { buildDataFrame, decryptDataFrame, openDataFrame } from './data-frame.ts';
import { computeDataMic } from './mic.ts';
import { parsePhyPayload, type DataFrame } from './phy-payload.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function parseData(phy: Uint8Array): DataFrame {
  const p = parsePhyPayload(phy);
  if (!p.ok || p.frame.kind !== 'data') throw new Error('not a data frame');
  return p.frame;
}

describe('AesKeyTable (prepared AES-128 keys in one typed array)', () => {
  it('FIPS-197 C.1 and the RFC 4493 vectors from a table row', () => {
    const t = new AesKeyTable();
    t.set(3, hex('000102030405060708090a0b0c0d0e0f'));
    t.set(7, hex('2b7e151628aed2a6abf7158809cf4f3c'));
    expect(t.view().at(3).encryptEcb(hex('00112233445566778899aabbccddeeff')).toString('hex')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    const m = hex('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710');
    const k = t.view().at(7);
    expect(aesCmac(k, m.subarray(0, 0)).toString('hex')).toBe('bb1d6929e95937287fa37d129b756746');
    expect(aesCmac(k, m.subarray(0, 16)).toString('hex')).toBe('070a16b46b4d4144f79bdd9dd04a287c');
    expect(aesCmac(k, m.subarray(0, 40)).toString('hex')).toBe('dfa66747de9ae63030ca32611497c827');
    expect(aesCmac(k, m).toString('hex')).toBe('51f0bebf7e3b9d92fc49741779363cfe');
  });

  it('MIC and plaintext from table rows equal node:crypto AES for random keys and frames (rows reused, table growing)', () => {
    const t = new AesKeyTable();
    const nwk = t.view();
    const app = t.view();
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.record({ devAddr: fc.integer({ min: 0, max: 0xffffffff }), fCnt: fc.integer({ min: 0, max: 0xffffffff }), fPort: fc.integer({ min: 0, max: 223 }), payload: fc.uint8Array({ maxLength: 64 }), up: fc.boolean() }),
        (nk, ak, slot, f) => {
          t.set(2 * slot, nk);
          t.set(2 * slot + 1, ak);
          // node:crypto (AesKey: createCipheriv) builds; the table opens.
          const phy = buildDataFrame({ mType: f.up ? 'UnconfirmedDataUp' : 'UnconfirmedDataDown', devAddr: f.devAddr, fCnt: f.fCnt, fPort: f.fPort, payload: f.payload }, { nwkSKey: new AesKey(nk), appSKey: new AesKey(ak) });
          const frame = parseData(phy);
          const keys = { nwkSKey: nwk.at(2 * slot), appSKey: app.at(2 * slot + 1) };
          const opened = openDataFrame(frame, keys, f.fCnt);
          expect(opened.micValid).toBe(true);
          expect(Buffer.from(opened.payload).equals(Buffer.from(f.payload))).toBe(true);
          expect(decryptDataFrame(frame, keys, f.fCnt).payload.equals(Buffer.from(f.payload))).toBe(true);
          const msg = phy.subarray(0, phy.length - 4);
          const dir = f.up ? 'up' : 'down';
          expect(computeDataMic(nwk, dir, f.devAddr, f.fCnt, msg).equals(computeDataMic(new AesKey(nk), dir, f.devAddr, f.fCnt, msg))).toBe(true);
          expect(cryptFrmPayload(app, dir, f.devAddr, f.fCnt, f.payload).equals(cryptFrmPayload(new AesKey(ak), dir, f.devAddr, f.fCnt, f.payload))).toBe(true);
          // and a wrong counter does not verify
          expect(openDataFrame(frame, keys, (f.fCnt + 1) >>> 0).micValid).toBe(false);
          // ECB against createCipheriv itself
          const block = Buffer.from(msg.subarray(0, 16).length === 16 ? msg.subarray(0, 16) : Buffer.alloc(16, 0x5a));
          expect(app.encryptEcb(block).equals(createCipheriv('aes-128-ecb', ak, null).setAutoPadding(false).update(block))).toBe(true);
        },
      ),
      { seed: 1013, numRuns: 400 },
    );
    expect(t.capacity).toBeGreaterThan(0);
  });

  it('a row set again takes the new key; a cleared row is zeroed and refused', () => {
    const t = new AesKeyTable(4);
    const v = t.view();
    const k1 = Buffer.alloc(16, 1);
    const k2 = Buffer.alloc(16, 2);
    t.set(1, k1);
    const msg = Buffer.from('a data frame, more than one block');
    const mac1 = Buffer.from(aesCmac(v.at(1), msg));
    t.set(1, k2);
    expect(Buffer.from(aesCmac(v.at(1), msg)).equals(mac1)).toBe(false);
    expect(Buffer.from(aesCmac(v.at(1), msg)).equals(aesCmac(new AesKey(k2), msg))).toBe(true);
    t.clear(1);
    expect(t.has(1)).toBe(false);
    expect(Array.from(t.rowWords().subarray(t.rowStride, 2 * t.rowStride)).every((w) => w === 0)).toBe(true);
    expect(() => v.at(1)).toThrow(RangeError);
    t.set(0, k1);
    v.at(0);
    t.clear(0);
    expect(() => aesCmac(v, msg)).toThrow(/holds no key/);
  });

  it('a table without CMAC subkeys (encryption-only keys) keeps 176-byte rows, encrypts the same, refuses a CMAC', () => {
    const t = new AesKeyTable(0, { cmacSubkeys: false });
    const key = hex('000102030405060708090a0b0c0d0e0f');
    t.set(9, key);
    expect(t.byteLength / t.capacity).toBe(176);
    const v = t.view().at(9);
    expect(v.encryptEcb(hex('00112233445566778899aabbccddeeff')).toString('hex')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
    const payload = Buffer.from('twelve bytes');
    expect(cryptFrmPayload(v, 'up', 0x26011bda, 70_000, payload).equals(cryptFrmPayload(new AesKey(key), 'up', 0x26011bda, 70_000, payload))).toBe(true);
    expect(() => aesCmac(v, payload)).toThrow(/no CMAC subkeys/);
    expect(new AesKeyTable(1).byteLength).toBe(208);
  });

  it('growing zeroes the old array; wipe zeroes everything; neither inspect nor JSON shows key material', () => {
    const t = new AesKeyTable(2);
    const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
    t.set(0, key);
    const old = t.rowWords();
    t.set(5000, key);
    expect(t.capacity).toBeGreaterThan(5000);
    expect(old.every((w) => w === 0)).toBe(true);
    expect(t.view().at(0).encryptEcb(Buffer.alloc(16)).equals(new AesKey(key).encryptEcb(Buffer.alloc(16)))).toBe(true);
    const shown = `${inspect(t)} ${JSON.stringify({ t, v: t.view().at(0) })} ${inspect(t.view().at(0))}`;
    expect(shown).not.toMatch(/2b7e|[0-9a-f]{16}/i);
    t.wipe();
    expect(t.rowWords().every((w) => w === 0)).toBe(true);
    expect(t.has(0) || t.has(5000)).toBe(false);
  });
});
