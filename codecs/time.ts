/**
 * Fast RFC 3339 / ISO 8601 formatting for the decode hot paths.
 *
 * `new Date(ms).toISOString()` costs several hundred nanoseconds on Node 20, which is more than
 * a whole decode may cost (see bench/codecs); codecs that print timestamps (history records,
 * meter clocks) use these instead. The output is exactly `toISOString()`'s: the arithmetic is
 * the proleptic Gregorian calendar of ECMAScript dates, and anything outside years 0000–9999 or
 * not an integer millisecond falls back to `Date` itself (which also keeps its RangeError for
 * an invalid time).
 */

export const MS_PER_DAY = 86_400_000;
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the four-digit-year range. */
const MIN_MS = -62_167_219_200_000;
const MAX_MS = 253_402_300_799_999;

const D2: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));
/** "HH:MM:" for each minute of the day. */
const HOUR_MINUTE: readonly string[] = Array.from({ length: 1440 }, (_, i) => `${D2[Math.floor(i / 60)]}:${D2[i % 60]}:`);
/** "HH:MM:00.000" for each minute of the day: most device timestamps are whole minutes. */
const WHOLE_MINUTE: readonly string[] = HOUR_MINUTE.map((hm) => `${hm}00.000`);
/** "SS.000" for each second of a minute. */
const WHOLE_SECOND: readonly string[] = D2.slice(0, 60).map((ss) => `${ss}.000`);
/** ".sss" for each millisecond of a second. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, '0')}`);

// Timestamps of one uplink (history records) mostly share their day: keep the last one, with
// the millisecond time its day starts at. Uplinks of a fleet carry the same few days, so the date
// texts of recent days are kept too, by day number modulo 64.
let cachedDay = Number.NaN;
let cachedDayStart = Number.NaN;
let cachedDate = '';
const RECENT_DAYS: number[] = new Array<number>(64).fill(Number.NaN);
const RECENT_DATES: string[] = new Array<string>(64).fill('');

/** A proleptic Gregorian date; `month` 1..12. */
export interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/** The date of a day number (days since 1970-01-01, may be negative). */
export function civilFromDays(days: number): CivilDate {
  // H. Hinnant's algorithm: eras of 400 years, each starting on 1 March.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** The day number (days since 1970-01-01) of a date; `month` 1..12, `day` 1..31. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Days in `month` (1..12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** "YYYY-MM-DDT" of a day number, for years 0000–9999. */
function datePrefix(days: number): string {
  if (days === cachedDay) return cachedDate;
  const slot = days & 63;
  let text: string;
  if (RECENT_DAYS[slot] === days) {
    text = RECENT_DATES[slot] as string;
  } else {
    const { year, month, day } = civilFromDays(days);
    text = `${D2[Math.floor(year / 100)]}${D2[year % 100]}-${D2[month]}-${D2[day]}T`;
    RECENT_DAYS[slot] = days;
    RECENT_DATES[slot] = text;
  }
  cachedDay = days;
  cachedDayStart = days * MS_PER_DAY;
  cachedDate = text;
  return text;
}

/** "YYYY-MM-DDTHH:MM:SS.sss" (no zone) of an in-range integer millisecond time. */
function isoNoZone(ms: number): string {
  let rest = ms - cachedDayStart;
  let prefix: string;
  if (rest >= 0 && rest < MS_PER_DAY) {
    prefix = cachedDate; // the day of the previous call
  } else {
    const days = Math.floor(ms / MS_PER_DAY);
    prefix = datePrefix(days);
    rest = ms - days * MS_PER_DAY;
  }
  const minute = Math.floor(rest / 60_000);
  rest -= minute * 60_000;
  if (rest === 0) return prefix + (WHOLE_MINUTE[minute] as string);
  const second = Math.floor(rest / 1000);
  rest -= second * 1000;
  if (rest === 0) return prefix + (HOUR_MINUTE[minute] as string) + (WHOLE_SECOND[second] as string);
  return prefix + (HOUR_MINUTE[minute] as string) + (D2[second] as string) + (MILLIS[rest] as string);
}

/**
 * Whether `ms` is an integer time in years 0000–9999, where the formatted strings (fixed width)
 * sort like the times themselves: code may then compare the numbers instead of the strings.
 */
export function hasFourDigitYear(ms: number): boolean {
  return Number.isInteger(ms) && ms >= MIN_MS && ms <= MAX_MS;
}

/**
 * The texts of recently printed whole minutes, in 1,024 slots by a hash of the minute number (one cache without
 * and one with the zone letter). History records repeat the same instants across uplinks and
 * devices — every meter's hourly profile steps through the same whole hours — so most stamps of
 * a decode were printed before: a hit returns the string already made instead of a new one per
 * record (a decode of a 33-point profile spent a fifth of its time printing, and the normalize
 * step after it re-read each new string). A hit is the same text, so results are unchanged.
 */
interface MinuteTexts {
  ms: Float64Array;
  texts: string[];
}

/**
 * The slot of a whole minute: the top 10 bits of the minute number times 2^32/φ (Fibonacci
 * hashing). The minute number modulo 1024 put every whole hour in one of only 256 slots (60 and
 * 1024 share a factor 4), so hourly stamps ~11 days apart evicted each other (seen as a third of
 * flowIQ's decode formatting again). Any slot is correct: a hit compares the time itself.
 */
function minuteSlot(ms: number): number {
  return Math.imul(ms / 60_000, 0x9e3779b1) >>> 22;
}

function minuteTexts(): MinuteTexts {
  return { ms: new Float64Array(1024).fill(Number.NaN), texts: new Array<string>(1024).fill('') };
}

const MINUTES_NO_ZONE = minuteTexts();
const MINUTES_UTC = minuteTexts();

/** The printed text of `ms` from `cache`, or undefined when it is not a cached whole minute. */
function cachedMinute(cache: MinuteTexts, ms: number): string | undefined {
  const slot = minuteSlot(ms);
  return cache.ms[slot] === ms ? cache.texts[slot] : undefined;
}

/** Keeps `text` as the printed form of `ms` when `ms` is a whole minute. */
function keepMinute(cache: MinuteTexts, ms: number, text: string): string {
  if (ms % 60_000 === 0) {
    const slot = minuteSlot(ms);
    cache.ms[slot] = ms;
    cache.texts[slot] = text;
  }
  return text;
}

/** Exactly `new Date(ms).toISOString()`, e.g. "2024-05-01T12:00:00.000Z". */
export function isoTime(ms: number): string {
  if (!hasFourDigitYear(ms)) return new Date(ms).toISOString();
  return cachedMinute(MINUTES_UTC, ms) ?? keepMinute(MINUTES_UTC, ms, `${isoNoZone(ms)}Z`);
}

/**
 * `isoTimeNoZone(ms)` if that text is in the cache of recently printed minutes, else undefined.
 * Small enough to be inlined where it is called: a loop printing many stamps (a compact profile's
 * points) then passes no boxed number to a call per stamp, which cost more than the lookup.
 */
export function cachedIsoTimeNoZone(ms: number): string | undefined {
  const slot = minuteSlot(ms);
  return MINUTES_NO_ZONE.ms[slot] === ms ? MINUTES_NO_ZONE.texts[slot] : undefined;
}

/** Exactly `new Date(ms).toISOString().slice(0, 23)`: the time without its zone letter. */
export function isoTimeNoZone(ms: number): string {
  if (!hasFourDigitYear(ms)) return new Date(ms).toISOString().slice(0, 23);
  return cachedMinute(MINUTES_NO_ZONE, ms) ?? keepMinute(MINUTES_NO_ZONE, ms, isoNoZone(ms));
}

/**
 * Exactly `Date.parse(`${text}Z`)` for a zone-less "YYYY-MM-DDTHH:MM:SS.sss" (what
 * `isoTimeNoZone` prints), without the general date parser; anything else goes to Date.parse.
 */
export function parseIsoNoZone(text: string): number {
  if (text.length === 23 && text.charCodeAt(4) === 0x2d && text.charCodeAt(7) === 0x2d && text.charCodeAt(10) === 0x54) {
    if (text.charCodeAt(13) === 0x3a && text.charCodeAt(16) === 0x3a && text.charCodeAt(19) === 0x2e) {
      const year = digitsAt(text, 0, 4);
      const month = digitsAt(text, 5, 2);
      const day = digitsAt(text, 8, 2);
      const hour = digitsAt(text, 11, 2);
      const minute = digitsAt(text, 14, 2);
      const second = digitsAt(text, 17, 2);
      const milli = digitsAt(text, 20, 3);
      // Only plainly valid fields; Date.parse's own handling of e.g. 24:00 or 30 February applies otherwise.
      const digits = year >= 0 && hour >= 0 && minute >= 0 && second >= 0 && milli >= 0;
      if (digits && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59) {
        return daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
      }
    }
  }
  return Date.parse(`${text}Z`);
}

/** The decimal number of `n` ASCII digits at `at`, or -1 if one of them is not a digit. */
function digitsAt(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
