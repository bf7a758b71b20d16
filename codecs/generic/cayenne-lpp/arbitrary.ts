/**
 * Round-trip readings for Cayenne LPP: 1..8 records of any type from the table on any channel,
 * each field drawn as a raw integer over the type's full range (negatives and extremes
 * included) and scaled like the decoder does, so the readings lie exactly on the LPP grid.
 * One record per (channel, type); GPS and the altitude type never share a channel because both
 * normalize to altitude_m_ch<N>.
 */
import fc from 'fast-check';
import type { ReadingValue, UplinkEncodeInput } from '../../api.ts';
import type { RoundTripSpec } from '../../testing/round-trip.ts';
import { LPP_TYPES, type LppType } from './codec.ts';

function rawArbitrary(t: LppType): fc.Arbitrary<number> {
  const span = 256 ** t.size;
  return t.signed ? fc.integer({ min: -span / 2, max: span / 2 - 1 }) : fc.integer({ min: 0, max: span - 1 });
}

/** The readings one record normalizes to. */
function recordArbitrary(t: LppType): fc.Arbitrary<(ch: number) => Record<string, ReadingValue>> {
  const fieldValues: fc.Arbitrary<ReadingValue[]> =
    t.normalizedAs === 'boolean'
      ? fc.boolean().map((b) => [b])
      : fc.tuple(...t.fields.map(() => rawArbitrary(t))).map((raws) =>
          raws.map((raw, i) => (t.normalizedAs === 'mm' ? raw : raw / (t.fields[i] as LppType['fields'][number]).scale)),
        );
  return fieldValues.map((vs) => (ch: number) => Object.fromEntries(t.fields.map((f, i) => [`${f.reading}_ch${ch}`, vs[i] as ReadingValue])));
}

const record = fc.tuple(
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: LPP_TYPES.length - 1 }).chain((i) => {
    const t = LPP_TYPES[i] as LppType;
    return recordArbitrary(t).map((values) => ({ t, values }));
  }),
);

/** Records that would normalize to the same reading name collide: GPS and altitude share one. */
const slot = ([ch, { t }]: [number, { t: LppType }]): string => `${ch}:${t.key === 'gps' ? 'altitude' : t.key}`;

const arbitrary: fc.Arbitrary<UplinkEncodeInput> = fc
  .uniqueArray(record, { minLength: 1, maxLength: 8, selector: slot })
  .map((records) => {
    const values: Record<string, ReadingValue> = {};
    for (const [ch, { values: of }] of records) Object.assign(values, of(ch));
    return { readings: [{ values }] };
  });

export const roundTrip: RoundTripSpec = { arbitrary };
