import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../bytes.ts';
import { codec } from './codec.ts';
import { telegramBytes } from './telegram-arbitrary.ts';

/**
 * `decode-golden.json` holds, per fuzzed telegram (fixed seed), the first 12 hex digits of the
 * SHA-256 of `JSON.stringify(decodeUplink(...))` as the decoder built on record objects gave it
 * (commit 71cde13, before the one-pass rewrite; 30,000 telegrams compared directly then). A
 * decode that changes `data`, warnings or errors on any of them fails here with the telegram's
 * hex. Regenerate it only from a decoder known to be right, and only with the arbitrary
 * unchanged (it decides the telegrams).
 */
const golden = JSON.parse(readFileSync(new URL('./decode-golden.json', import.meta.url), 'utf8')) as { seed: number; runs: number; hashes: string[] };

describe('kamstrup/flowiq2200 decode against the record-object decoder', () => {
  it('gives the same result on every golden telegram', () => {
    const frames = fc.sample(telegramBytes, { seed: golden.seed, numRuns: golden.runs });
    expect(frames).toHaveLength(golden.hashes.length);
    const differing: string[] = [];
    frames.forEach((bytes, k) => {
      const result = JSON.stringify(codec.decodeUplink({ bytes, fPort: 1 }));
      const hash = createHash('sha256').update(result).digest('hex').slice(0, 12);
      if (hash !== golden.hashes[k]) differing.push(`#${k} ${toHex(bytes)} → ${result.slice(0, 300)}`);
    });
    expect(differing.slice(0, 5)).toEqual([]);
  });
});
