import { createCipheriv } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aesCmac } from './aes-cmac.ts';
import { AesKey } from './aes.ts';
import { SoftAesKey } from './aes-soft.ts';

describe('SoftAesKey (AES-128 in plain JS)', () => {
  it('FIPS-197 appendix C.1 vector', () => {
    const k = new SoftAesKey(Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'));
    expect(k.encryptEcb(Buffer.from('00112233445566778899aabbccddeeff', 'hex')).toString('hex')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('ECB and CMAC equal node:crypto for random keys and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 0, maxLength: 80 }), (key, msg) => {
        const blocks = Buffer.alloc(Math.ceil(msg.length / 16) * 16);
        blocks.set(msg);
        const ecb = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
        expect(new SoftAesKey(key).encryptEcb(blocks).equals(ecb.update(blocks))).toBe(true);
        expect(aesCmac(new SoftAesKey(key), msg).equals(aesCmac(new AesKey(key), msg))).toBe(true);
      }),
      { seed: 1010, numRuns: 300 },
    );
  });

  it('RFC 4493 example 2 (16-byte message)', () => {
    const k = new SoftAesKey(Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex'));
    expect(aesCmac(k, Buffer.from('6bc1bee22e409f96e93d7e117393172a', 'hex')).toString('hex')).toBe('070a16b46b4d4144f79bdd9dd04a287c');
  });

  it('a rekeyed key equals a fresh one (round keys, CMAC subkeys, the node:crypto decryption)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 0, maxLength: 48 }), (k1, k2, msg) => {
        const recycled = new SoftAesKey(k1);
        const block = Buffer.alloc(16, 7);
        aesCmac(recycled, msg); // subkeys and the base class's decipher of k1 exist before the rekey
        recycled.decryptEcb(block);
        recycled.rekey(k2);
        const fresh = new SoftAesKey(k2);
        expect(recycled.bytes.equals(Buffer.from(k2))).toBe(true);
        expect(recycled.encryptEcb(block).equals(fresh.encryptEcb(block))).toBe(true);
        expect(aesCmac(recycled, msg).equals(aesCmac(fresh, msg))).toBe(true);
        expect(recycled.decryptEcb(block).equals(fresh.decryptEcb(block))).toBe(true);
      }),
      { seed: 1011, numRuns: 200 },
    );
  });

  it('subkeys refilled lazily stay right across rekeys with no CMAC between them (a key recycled as an AppSKey, then a NwkSKey)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { minLength: 1, maxLength: 4 }), fc.uint8Array({ minLength: 0, maxLength: 48 }), (keys, msg) => {
        const recycled = new SoftAesKey(Buffer.alloc(16, 1));
        aesCmac(recycled, msg);
        for (const k of keys) recycled.rekey(k);
        const last = keys[keys.length - 1] as Uint8Array;
        expect(aesCmac(recycled, msg).equals(aesCmac(new SoftAesKey(last), msg))).toBe(true);
        expect(aesCmac(recycled, msg).equals(aesCmac(new SoftAesKey(last), msg))).toBe(true);
      }),
      { seed: 1012, numRuns: 200 },
    );
  });
});
