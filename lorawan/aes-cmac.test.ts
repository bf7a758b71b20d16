import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesCmac } from './aes-cmac.ts';
import { AesKey, aesKey } from './aes.ts';
import { fromHex, toHex } from './bytes.ts';

// RFC 4493 §4 test vectors (K = 2b7e1516…).
const K = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
const M = fromHex(
  '6bc1bee22e409f96e93d7e117393172a' +
    'ae2d8a571e03ac9c9eb76fac45af8e51' +
    '30c81c46a35ce411e5fbc1191a0a52ef' +
    'f69f2445df4f9b17ad2b417be66c3710',
);

describe('AES-CMAC (RFC 4493)', () => {
  it('derives the RFC subkeys', () => {
    const { k1, k2 } = new AesKey(K).cmacSubkeys();
    expect(toHex(k1)).toBe('fbeed618357133667c85e08f7236a8de');
    expect(toHex(k2)).toBe('f7ddac306ae266ccf90bc11ee46d513b');
  });

  it.each([
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ])('example with %i-byte message', (len, mac) => {
    expect(toHex(aesCmac(K, M.subarray(0, len)))).toBe(mac);
  });

  it('gives the same answers in any order on one cached key (CBC chaining is cancelled)', () => {
    const key = aesKey(K);
    const expected = ['51f0bebf7e3b9d92fc49741779363cfe', 'bb1d6929e95937287fa37d129b756746', 'dfa66747de9ae63030ca32611497c827'];
    for (let round = 0; round < 3; round++) {
      expect(toHex(aesCmac(key, M))).toBe(expected[0]);
      expect(toHex(aesCmac(key, M.subarray(0, 0)))).toBe(expected[1]);
      expect(toHex(aesCmac(key, M.subarray(0, 40)))).toBe(expected[2]);
    }
  });

  it('re-prepares a key whose buffer was mutated', () => {
    const k = Buffer.from(K);
    expect(toHex(aesCmac(k, M.subarray(0, 16)))).toBe('070a16b46b4d4144f79bdd9dd04a287c');
    k[0] = (k[0] as number) ^ 1;
    expect(toHex(aesCmac(k, M.subarray(0, 16)))).not.toBe('070a16b46b4d4144f79bdd9dd04a287c');
    k[0] = (k[0] as number) ^ 1;
    expect(toHex(aesCmac(k, M.subarray(0, 16)))).toBe('070a16b46b4d4144f79bdd9dd04a287c');
  });

  it('matches a straightforward fresh-cipher CMAC on random keys and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 100 }), (key, msg) => {
        expect(toHex(aesCmac(key, msg))).toBe(toHex(referenceCmac(Buffer.from(key), Buffer.from(msg))));
      }),
      { numRuns: 500 },
    );
  });

  it('rejects keys that are not 16 bytes', () => {
    expect(() => aesCmac(new Uint8Array(15), new Uint8Array(0))).toThrow(RangeError);
  });
});

/** Textbook RFC 4493 with a fresh CBC cipher per call — independent of the chaining trick. */
function referenceCmac(key: Buffer, msg: Buffer): Buffer {
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const l = ecb.update(Buffer.alloc(16));
  const dbl = (b: Buffer): Buffer => {
    const o = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) o[i] = (((b[i] as number) << 1) | ((b[i + 1] ?? 0) >> 7)) & 0xff;
    if ((b[0] as number) & 0x80) o[15] = (o[15] as number) ^ 0x87;
    return o;
  };
  const k1 = dbl(l);
  const k2 = dbl(k1);
  const n = Math.max(1, Math.ceil(msg.length / 16));
  const padded = Buffer.alloc(n * 16);
  msg.copy(padded);
  const complete = msg.length > 0 && msg.length % 16 === 0;
  if (!complete) padded[msg.length] = 0x80;
  const sub = complete ? k1 : k2;
  for (let i = 0; i < 16; i++) padded[(n - 1) * 16 + i] = (padded[(n - 1) * 16 + i] as number) ^ (sub[i] as number);
  const cbc = createCipheriv('aes-128-cbc', key, Buffer.alloc(16));
  cbc.setAutoPadding(false);
  const out = cbc.update(padded);
  return out.subarray(out.length - 16);
}
