/**
 * Conformance against the public vendor vectors in ../shared/vendor-vectors, read by path.
 * Each codec test calls `describeVectorFile` with the vector file and the examples where the
 * public reference codec is known to be wrong (its `caveats`): those are listed with the reason
 * and must really differ from the reference (so the list cannot go stale silently); the codec's
 * own examples.json carries the correct expectation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Codec } from '../api.ts';
import { runExampleFile, type ExampleFile } from '../examples.ts';
import { sharedPath } from './paths.ts';

export function loadVectorFile(relPath: string): ExampleFile & { caveats?: string[] } {
  return JSON.parse(readFileSync(sharedPath('vendor-vectors', relPath), 'utf8')) as ExampleFile;
}

export interface VectorOptions {
  /** description → why lorawan-edge deliberately differs from the reference codec here. */
  deviations?: Record<string, string>;
  /** Also run `vendorDocExamples` (they may use another naming; pass variables for that). */
  includeVendorDoc?: boolean;
}

export function describeVectorFile(codec: Codec, relPath: string, options: VectorOptions = {}): void {
  describe(`public vectors ${relPath}`, () => {
    const file = loadVectorFile(relPath);
    const outcomes = runExampleFile(codec, file, { includeVendorDoc: options.includeVendorDoc ?? false });
    it('has examples', () => {
      expect(outcomes.length).toBeGreaterThan(0);
    });
    for (const [i, o] of outcomes.entries()) {
      const reason = options.deviations?.[o.description];
      if (reason) {
        it(`#${i} ${o.kind} "${o.description}" deliberately differs: ${reason}`, () => {
          expect(o.pass, 'listed as a deviation but now matches the reference: remove it from the list').toBe(false);
        });
      } else {
        it(`#${i} ${o.kind} "${o.description}"`, () => {
          expect(o.problem ?? '').toBe('');
          expect(o.pass).toBe(true);
        });
      }
    }
  });
}
