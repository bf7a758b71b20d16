import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cachedIsoTimeNoZone, civilFromDays, daysFromCivil, daysInMonth, isoTime, isoTimeNoZone, MS_PER_DAY, parseIsoNoZone } from './time.ts';

const MIN_MS = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/** Times near each other (same day, next minute, …) as history records have them, and anywhere else. */
const times = fc.oneof(
  fc.integer({ min: MIN_MS, max: MAX_MS }),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }).map((t) => Math.floor(t / 60_000) * 60_000),
  fc.double({ min: -8.64e15, max: 8.64e15, noNaN: true }),
);

describe('time formatting', () => {
  it('isoTime and isoTimeNoZone print exactly what Date prints', () => {
    fc.assert(
      fc.property(fc.array(times, { minLength: 1, maxLength: 8 }), (list) => {
        for (const t of list) {
          expect(isoTime(t)).toBe(new Date(t).toISOString());
          expect(isoTimeNoZone(t)).toBe(new Date(t).toISOString().slice(0, 23));
        }
      }),
      { numRuns: 5000 },
    );
    for (const t of [MIN_MS, MAX_MS, MIN_MS - 1, MAX_MS + 1, 0, -1, 8.64e15, -8.64e15]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
  });

  it('prints whole minutes again from its cache, also after another minute took the same slot', () => {
    const t = Date.UTC(2024, 6, 24, 19, 0);
    const sameSlot = t + 1024 * 60_000; // minute number + 1024: the same cache slot
    for (const ms of [t, t, sameSlot, t, sameSlot, -60_000, -60_000 - 1024 * 60_000, -60_000, 0, -0]) {
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
      expect(isoTimeNoZone(ms)).toBe(new Date(ms).toISOString().slice(0, 23));
    }
  });

  it('throws like Date for an invalid time', () => {
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(8.64e15 + 1)).toThrow(RangeError);
  });

  it('parseIsoNoZone is Date.parse of the text with a Z', () => {
    const texts = fc.oneof(
      fc.integer({ min: MIN_MS, max: MAX_MS }).map((t) => isoTimeNoZone(t)),
      // damaged texts: a character replaced
      fc
        .tuple(fc.integer({ min: MIN_MS, max: MAX_MS }), fc.nat(22), fc.constantFrom(...'0123456789-:.TZ x+'))
        .map(([t, i, c]) => {
          const s = isoTimeNoZone(t);
          return s.slice(0, i) + c + s.slice(i + 1);
        }),
    );
    fc.assert(
      fc.property(texts, (text) => {
        expect(Object.is(parseIsoNoZone(text), Date.parse(`${text}Z`))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    for (const text of ['2023-02-30T00:00:00.000', '2024-02-29T00:00:00.000', '2023-01-01T24:00:00.000', '0000-01-01T00:00:00.000', '', 'x']) {
      expect(Object.is(parseIsoNoZone(text), Date.parse(`${text}Z`))).toBe(true);
    }
  });

  it('civil dates agree with Date', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), (days) => {
        const d = new Date(days * MS_PER_DAY);
        const c = civilFromDays(days);
        expect(c).toEqual({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
        expect(daysFromCivil(c.year, c.month, c.day)).toBe(days);
        const lastOfMonth = new Date(0);
        lastOfMonth.setUTCFullYear(c.year, c.month, 0); // day 0 of the next month (no two-digit-year rule here)
        expect(daysInMonth(c.year, c.month)).toBe(lastOfMonth.getUTCDate());
      }),
      { numRuns: 5000 },
    );
  });
});

describe('cachedIsoTimeNoZone', () => {
  it('gives the text isoTimeNoZone printed for a whole minute, and nothing it has not printed', () => {
    fc.assert(
      fc.property(times, (ms) => {
        const cached = cachedIsoTimeNoZone(ms);
        if (cached !== undefined) expect(cached).toBe(new Date(ms).toISOString().slice(0, 23));
        const text = isoTimeNoZone(ms);
        const after = cachedIsoTimeNoZone(ms);
        // Whole minutes of four-digit years are kept (until another minute takes the slot).
        if (Number.isInteger(ms) && ms % 60_000 === 0 && ms >= MIN_MS && ms <= MAX_MS) expect(after).toBe(text);
        else if (after !== undefined) expect(after).toBe(text);
      }),
      { seed: 20_261_207, numRuns: 3000 },
    );
    expect(cachedIsoTimeNoZone(1_700_000_000_123)).toBeUndefined(); // never a whole minute
  });
});
