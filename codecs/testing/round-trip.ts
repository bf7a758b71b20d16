/**
 * What each codec folder's `arbitrary.ts` exports for the round-trip property test in
 * `codecs/contract.test.ts`: readings on the device's own grid (quantized as the payload carries
 * them, within its ranges), so `normalizeUplink(decodeUplink(encodeUplink(x)))` must give back
 * exactly `expected(x)` (by default the input readings themselves).
 */
import type fc from 'fast-check';
import type { Reading, UplinkEncodeInput } from '../api.ts';

export interface RoundTripSpec {
  arbitrary: fc.Arbitrary<UplinkEncodeInput>;
  /** The readings normalize must return; default: `input.readings`. */
  expected?: (input: UplinkEncodeInput) => Reading[];
}
