// Points → InfluxDB line protocol (one point per line, ms timestamps, sent with precision=ms).
//
//   measurement[,tag_key=tag_value...] field_key=field_value[,field_key=field_value...] timestamp
//
// Escaping, as measured against InfluxDB 1.6.7 (shared/reference/influxdb-and-durability.md §2):
// - measurement: `,` and space get a backslash; tag keys, tag values and field keys: `,`, `=`
//   and space. A backslash before any other character is kept literally by the server (`a\b`
//   stays `a\b`, `a\\b` stays `a\\b`), so backslashes are NOT doubled in these elements.
// - A backslash directly before `,`, `=` or space, or at the end of an element, has no portable
//   encoding: 1.6.7 treats any separator after a backslash as escaped (`t=ab\ v=1` fails to
//   parse), scans field keys differently from tags (`\\,` splits a field key but not a tag) and
//   unescapes measurement names twice. Measurement names and field keys also unescape `\"`.
//   Such backslashes are removed (counted in `altered`), so every line parses and means the same
//   on 1.x and 2.x.
// - Line breaks cannot be carried portably (v2/v3 reject them; a quoted one happens to work on
//   1.6.7): CR and LF are replaced by a space everywhere, also counted in `altered`.
// - String field values: `"` and `\` get a backslash (1.6.7 reads `\\` back as one backslash).
// - The parser skips tabs and NULs at the start of a line and of the field set, so they are
//   removed from the start of measurement names and field keys (counted in `altered`).
// - Lone UTF-16 surrogates (not valid UTF-8) become U+FFFD, as the UTF-8 encoder would make them
//   anyway — done first so that keys differing only there are recognised as duplicates.
// - Empty tag values are not allowed: the tag is omitted. Empty keys are dropped likewise.
// - Two tag keys (or two field keys) of one point that normalise to the same key (`" "` and
//   `"\n"`, `a` and `a\`) would be one key to InfluxDB, which keeps one value and loses the
//   other: the point is rejected with both keys in the reason (and counts nothing else).
// - A measurement starting with `#` would make the line a comment: the point is rejected.
// Field types: JS number → float (NaN/±Infinity skipped and counted: InfluxDB rejects them);
// bigint or integer(n) → `<n>i` (int64); boolean → true/false; string → quoted.
// Tags are written sorted by key in UTF-8 byte order (what the server would otherwise do itself).

/** A value the caller declares as an int64 field (written with the `i` suffix). */
export interface IntegerValue {
  readonly int: number | bigint;
}

// Small integers (counts, ports, data rates, RSSI) come up in every uplink: shared, frozen
// wrappers instead of a new object per field.
const SMALL_MIN = -256;
const SMALL_MAX = 1_023;
const SMALL_INTEGERS: readonly IntegerValue[] = Array.from({ length: SMALL_MAX - SMALL_MIN + 1 }, (_, i) => Object.freeze({ int: i + SMALL_MIN }));
const SMALL_INTEGER_TEXT: readonly string[] = SMALL_INTEGERS.map((v) => `${v.int}i`);

/** Declare an integer field: `{ count: integer(3) }` → `count=3i`. */
export function integer(value: number | bigint): IntegerValue {
  if (typeof value === 'number' && value >= SMALL_MIN && value <= SMALL_MAX && Number.isInteger(value)) {
    return SMALL_INTEGERS[value - SMALL_MIN] as IntegerValue;
  }
  return { int: value };
}

export type FieldValue = number | bigint | boolean | string | IntegerValue;

/** Tag values that are empty, null or undefined are omitted. */
export type Tags = Readonly<Record<string, string | null | undefined>>;

export interface Point {
  measurement: string;
  /** Tag values that are empty, null or undefined are omitted. `tagSet()` makes a shared one. */
  tags?: Tags;
  /** Fields that are null or undefined are omitted; a point needs at least one field. */
  fields: Readonly<Record<string, FieldValue | null | undefined>>;
  /**
   * Milliseconds since the epoch, from the uplink itself (never the send time): a replay of
   * the same point then overwrites instead of duplicating.
   */
  timeMs: number;
}

export interface RejectedPoint {
  /** Index of the point in the array given to `encodePoints`. */
  index: number;
  reason: string;
}

export interface SkippedField {
  index: number;
  field: string;
  reason: string;
}

export interface EncodeResult {
  /** One line per accepted point, in input order (no trailing newline). */
  lines: string[];
  /** For each line, the index of its point in the input. */
  pointIndex: number[];
  rejected: RejectedPoint[];
  /** Number of fields left out (NaN/Infinity, integers out of int64 range, …). */
  skippedFields: number;
  /** The first few skipped fields with their reason (at most MAX_SKIPPED_DETAILS). */
  skippedDetails: SkippedField[];
  /** Names/values changed to stay parseable (line breaks, trailing backslashes). */
  altered: number;
  /** Tags omitted because the key or value was empty (after normalisation). */
  omittedTags: number;
}

export const MAX_SKIPPED_DETAILS = 20;

// Largest |ms| whose nanosecond value fits int64 (InfluxDB stores ns): 1677-09-21 … 2262-04-11.
const MAX_ABS_MS = 9_223_372_036_854;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Mutable per-call counters shared by the escaping helpers. */
interface Counters {
  altered: number;
}

// Characters that send an element down the slow path.
const MEASUREMENT_SLOW = /[, \\\r\n]/;
const KEY_SLOW = /[,= \\\r\n]/;
const STRING_SLOW = /["\\\r\n\uD800-\uDFFF]/;

const LINE_BREAKS = /\r\n|\r|\n/g;
// A run of backslashes touching a separator (or the end) cannot be written portably. Measurement
// names and field keys are also unescaped for `\"` (1.6.7 stores `a\"b` as `a"b`); tags are not.
const AMBIGUOUS_BACKSLASHES_TAG = /\\+(?=[,= ]|$)/g;
const AMBIGUOUS_BACKSLASHES_OTHER = /\\+(?=[,= "]|$)/g;

const NAME_NEEDS_WORK = /[\r\n\\\uD800-\uDFFF]/;
const STRING_NEEDS_WORK = /[\r\n\uD800-\uDFFF]/;
const SURROGATES = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Lone surrogates become U+FFFD here rather than in the UTF-8 encoder, so two names that differ
 * only in them are seen as the same name before the server sees duplicates.
 */
function wellFormed(s: string): string {
  return SURROGATES.test(s) ? s.replace(LONE_SURROGATE, '\uFFFD') : s;
}

// The parser skips tabs and NULs where a line and where the field set begin.
const LEADING_SKIPPED = /^[\t\0]+/;

/** Where a name sits: measurements and field keys start a section the parser skips into. */
type NameKind = 'measurement' | 'tag' | 'field';

/**
 * Replace CR/LF by spaces, drop ambiguous backslashes, fix lone surrogates, and (measurement,
 * field key) drop leading tabs/NULs; counts a change in `c.altered`.
 */
function normalizeName(s: string, c: Counters, kind: NameKind): string {
  const leading = kind !== 'tag' && (s.startsWith('\t') || s.startsWith('\0'));
  if (!leading && !NAME_NEEDS_WORK.test(s)) return s;
  let out = wellFormed(s);
  if (out.includes('\r') || out.includes('\n')) out = out.replace(LINE_BREAKS, ' ');
  if (out.includes('\\')) out = out.replace(kind === 'tag' ? AMBIGUOUS_BACKSLASHES_TAG : AMBIGUOUS_BACKSLASHES_OTHER, '');
  if (kind !== 'tag') out = out.replace(LEADING_SKIPPED, '');
  if (out !== s) c.altered++;
  return out;
}

function escapeWith(s: string, special: RegExp): string {
  return s.replace(special, (ch) => `\\${ch}`);
}

const MEASUREMENT_SPECIAL = /[, ]/g;
const KEY_SPECIAL = /[,= ]/g;

/** The escaped form of an already normalised measurement. */
export function escapeMeasurement(normalized: string): string {
  return MEASUREMENT_SLOW.test(normalized) ? escapeWith(normalized, MEASUREMENT_SPECIAL) : normalized;
}

/** The escaped form of an already normalised tag key, tag value or field key. */
export function escapeKey(normalized: string): string {
  return KEY_SLOW.test(normalized) ? escapeWith(normalized, KEY_SPECIAL) : normalized;
}

/** A string field value, quoted. */
export function quoteString(value: string, c?: Counters): string {
  if (!STRING_SLOW.test(value)) return `"${value}"`;
  let v = value;
  if (STRING_NEEDS_WORK.test(v)) {
    v = wellFormed(v).replace(LINE_BREAKS, ' ');
    if (c && v !== value) c.altered++;
  }
  return `"${v.replace(/["\\]/g, (ch) => `\\${ch}`)}"`;
}

/**
 * What a name becomes after normalisation: what the server will store and what a query
 * returns. `kind`: 'tag' for tag keys and values (default), 'measurement', 'field' (field keys).
 */
export function normalizedName(s: string, kind: NameKind = 'tag'): string {
  return normalizeName(s, { altered: 0 }, kind);
}

/** What a string field value becomes after normalisation. */
export function normalizedString(s: string): string {
  return wellFormed(s).replace(LINE_BREAKS, ' ');
}

/**
 * Compare two strings in UTF-8 byte order (= code point order), the order InfluxDB sorts tag
 * keys in. UTF-16 code unit order differs only when a surrogate meets U+E000…U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800–DFFF) encode code points above FFFF: they sort after E000–FFFF.
      const xs = x <= 0xdfff;
      const ys = y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** `<n>i`, or undefined when `v` is not an int64 (`integerProblem` says why). */
function integerText(v: number | bigint): string | undefined {
  if (typeof v === 'number') {
    if (v >= SMALL_MIN && v <= SMALL_MAX && Number.isInteger(v)) return SMALL_INTEGER_TEXT[v - SMALL_MIN];
    return Number.isSafeInteger(v) ? `${v}i` : undefined;
  }
  return v < INT64_MIN || v > INT64_MAX ? undefined : `${v}i`;
}

function integerProblem(v: number | bigint): string {
  return typeof v === 'number' ? `${String(v)} is not a safe integer` : `${v} is outside int64`;
}

/** The field value as written, or undefined when it cannot be written (see `fieldProblem`). */
function fieldText(value: FieldValue, c: Counters): string | undefined {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? String(value) : undefined;
    case 'bigint':
      return integerText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return quoteString(value, c);
    default:
      return integerText(value.int);
  }
}

/** Why `fieldText` refused a value. */
function fieldProblem(value: FieldValue): string {
  if (typeof value === 'number') return `${String(value)} is not a finite number`;
  // Booleans and strings are always writable: what is left is an integer.
  return integerProblem(typeof value === 'bigint' ? value : (value as IntegerValue).int);
}

/** Mutable counters for `encodePoint`. */
export interface EncodeCounters {
  skippedFields: number;
  skippedDetails: SkippedField[];
  altered: number;
  omittedTags: number;
}

export function newEncodeCounters(): EncodeCounters {
  return { skippedFields: 0, skippedDetails: [], altered: 0, omittedTags: 0 };
}

// Any character that needs normalising or escaping in some element; most names have none, and
// those are used as they are (no copy, no allocation).
const NAME_ANY_SPECIAL = /[,= \\\r\n\t\0"\uD800-\uDFFF]/;

// Names seen without any special character: measurements and field keys repeat endlessly, and
// a Map lookup is cheaper than the regular expression. Bounded, so odd names cannot grow it.
// The value is the name as a field key, `name=` and `,name=`, ready to be put in a line.
interface PlainName {
  first: string;
  next: string;
}
const plainNames = new Map<string, PlainName>();
const MAX_PLAIN_NAMES = 4_096;

/** The name as a field key when it is non-empty and needs no normalising or escaping anywhere. */
function plainName(s: string): PlainName | undefined {
  let plain = plainNames.get(s);
  if (plain !== undefined) return plain;
  if (s === '' || NAME_ANY_SPECIAL.test(s)) return undefined;
  plain = { first: `${s}=`, next: `,${s}=` };
  if (plainNames.size < MAX_PLAIN_NAMES) plainNames.set(s, plain);
  return plain;
}

/** Normalised and escaped name; `norm` is what the server stores (for sorting/duplicates). */
function prepareName(raw: string, c: Counters, kind: NameKind): { norm: string; text: string } {
  if (!NAME_ANY_SPECIAL.test(raw)) return { norm: raw, text: raw };
  const norm = normalizeName(raw, c, kind);
  return { norm, text: kind === 'measurement' ? escapeMeasurement(norm) : escapeKey(norm) };
}

function skipField(counters: EncodeCounters, index: number, field: string, reason: string): void {
  counters.skippedFields++;
  if (counters.skippedDetails.length < MAX_SKIPPED_DETAILS) counters.skippedDetails.push({ index, field, reason });
}

// Scratch arrays for one point's tags and field keys (encoding is synchronous and not re-entrant).
const tagNorm: string[] = [];
const tagText: string[] = [];
const tagRaw: string[] = [];
const fieldKeys: string[] = [];

/** Counters that encoding a tag set adds to. */
interface TagCounters {
  altered: number;
  omittedTags: number;
}

/** Why a point whose keys `a` and `b` both normalise to `norm` is rejected. */
function collisionReason(kind: 'tag' | 'field', a: string, b: string, norm: string): string {
  return `${kind} keys ${JSON.stringify(a)} and ${JSON.stringify(b)} are both ${JSON.stringify(norm)} after normalisation (InfluxDB would keep only one)`;
}

/**
 * `,key=value…` for a tag set: normalised, escaped, sorted; empty tags left out. Two keys that
 * normalise alike give `{ reason }` instead.
 */
function encodeTags(tags: Tags, counters: TagCounters): string | { reason: string } {
  let n = 0;
  let sorted = true;
  for (const rawKey in tags) {
    if (!Object.prototype.hasOwnProperty.call(tags, rawKey)) continue;
    const rawValue = tags[rawKey];
    if (rawValue === undefined || rawValue === null) continue;
    const k = prepareName(rawKey, counters, 'tag');
    const v = prepareName(typeof rawValue === 'string' ? rawValue : String(rawValue), counters, 'tag');
    if (k.norm === '' || v.norm === '') {
      counters.omittedTags++;
      continue;
    }
    if (n > 0 && sorted && compareUtf8(tagNorm[n - 1] as string, k.norm) >= 0) sorted = false;
    tagNorm[n] = k.norm;
    tagText[n] = `${k.text}=${v.text}`;
    tagRaw[n] = rawKey;
    n++;
  }
  if (!sorted) {
    // Insertion sort: a handful of tags.
    for (let i = 1; i < n; i++) {
      const kn = tagNorm[i] as string;
      const kt = tagText[i] as string;
      const kr = tagRaw[i] as string;
      let j = i - 1;
      while (j >= 0 && compareUtf8(tagNorm[j] as string, kn) > 0) {
        tagNorm[j + 1] = tagNorm[j] as string;
        tagText[j + 1] = tagText[j] as string;
        tagRaw[j + 1] = tagRaw[j] as string;
        j--;
      }
      tagNorm[j + 1] = kn;
      tagText[j + 1] = kt;
      tagRaw[j + 1] = kr;
    }
  }
  let text = '';
  for (let i = 0; i < n; i++) {
    // Equal keys sit side by side once sorted (and an equal pair always unsorts the input).
    if (!sorted && i > 0 && tagNorm[i] === tagNorm[i - 1]) return { reason: collisionReason('tag', tagRaw[i - 1] as string, tagRaw[i] as string, tagNorm[i] as string) };
    text += `,${tagText[i] as string}`;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Shared tag sets.
//
// Normalising, escaping and sorting the tags is the largest part of encoding a line, and every
// point of a device carries the same tags. `tagSet()` returns a frozen copy that the encoder
// recognises by identity: its `,key=value…` text, and what encoding it counted (altered names,
// omitted tags), are computed once and replayed for every point that carries that object. The
// copy is frozen and holds only strings, so what was encoded is what every later point has.
// Points with an ordinary tags object are encoded afresh, as before.

interface EncodedTags {
  text: string;
  /** Why every point carrying this tag set is rejected (two keys normalise alike), if so. */
  collision: string | undefined;
  altered: number;
  omittedTags: number;
  /**
   * `measurement,tags ` (up to the fields) per plain measurement seen with this tag set, as
   * measurement/prefix pairs in one array: a device has one to three measurements, and a Map
   * per tag set was ~150 bytes of heap per device (10,000 devices) for a lookup among so few.
   */
  prefixes: string[] | undefined;
}

const MAX_PREFIXES = 16;

const sharedTags = new WeakMap<object, EncodedTags>();

/**
 * A frozen copy of `tags` whose encoding is computed once and reused by every point that
 * carries this object (give one to all points of a device). Non-string values are converted
 * with String(), as the encoder would.
 */
export function tagSet(tags: Tags): Tags {
  const copy = Object.freeze(
    Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, v === undefined || v === null || typeof v === 'string' ? v : String(v)])),
  ) as Tags;
  const counters: TagCounters = { altered: 0, omittedTags: 0 };
  const encoded = encodeTags(copy, counters);
  const collision = typeof encoded === 'string' ? undefined : encoded.reason;
  sharedTags.set(copy, { text: collision === undefined ? flatString(encoded as string) : '', collision, altered: counters.altered, omittedTags: counters.omittedTags, prefixes: undefined });
  return copy;
}

// The previous point's ` timestamp` text: the points of one uplink share their timestamp.
let lastTime = Number.NaN;
let lastTimeText = '';

/**
 * One point → one line, or `{ reason }` when the point cannot be written at all.
 * `index` is only used for the skipped-field details.
 */
export function encodePoint(p: Point, counters: EncodeCounters = newEncodeCounters(), index = 0): string | { reason: string } {
  const measurement = p.measurement;
  const tags = p.tags;
  const shared = tags === undefined || tags === null ? undefined : sharedTags.get(tags);
  if (shared?.collision !== undefined) return { reason: shared.collision };
  // The counts before this point: restored when two of its keys turn out to collide.
  const alteredBefore = counters.altered;
  const omittedBefore = counters.omittedTags;
  // With a shared tag set, `measurement,tags ` was usually written before. Only plain
  // measurements are remembered, so there is nothing to check or count for them again.
  const known = shared === undefined ? undefined : prefixOf(shared, measurement);
  let line = known ?? '';
  let plain = false;
  if (known === undefined) {
    if (typeof measurement !== 'string') return { reason: 'measurement is not a string' };
    plain = plainName(measurement) !== undefined;
    const m = plain ? { norm: measurement, text: measurement } : prepareName(measurement, counters, 'measurement');
    if (m.norm === '') return { reason: 'empty measurement' };
    if (m.norm.startsWith('#')) return { reason: `measurement ${JSON.stringify(m.norm)} starts with "#" (a comment line)` };
    line = m.text;
  }
  const t = p.timeMs;
  if (typeof t !== 'number' || !Number.isInteger(t)) {
    return { reason: `timeMs ${String(t)} is not an integer number of milliseconds` };
  }
  if (t > MAX_ABS_MS || t < -MAX_ABS_MS) return { reason: `timeMs ${t} is outside InfluxDB's time range` };

  if (shared !== undefined) {
    if (known === undefined) {
      line += `${shared.text} `;
      if (plain) rememberPrefix(shared, measurement, line);
    }
    counters.altered += shared.altered;
    counters.omittedTags += shared.omittedTags;
  } else if (tags === undefined || tags === null) {
    line += ' ';
  } else {
    const tagText = encodeTags(tags, counters);
    if (typeof tagText !== 'string') {
      counters.altered = alteredBefore;
      counters.omittedTags = omittedBefore;
      return tagText;
    }
    line += `${tagText} `;
  }

  let fieldsText = '';
  let seen: Map<string, string> | undefined; // normalised → raw key, once a key was changed by normalisation
  let written = 0; // keys in fieldKeys[0, written), until `seen` takes over
  const fields = p.fields;
  const skippedBefore = counters.skippedFields;
  const detailsBefore = counters.skippedDetails.length;
  if (fields !== undefined && fields !== null) {
    for (const rawKey in fields) {
      if (!Object.prototype.hasOwnProperty.call(fields, rawKey)) continue;
      const value = fields[rawKey];
      if (value === undefined || value === null) continue;
      const valueText = fieldText(value, counters);
      if (valueText === undefined) {
        skipField(counters, index, rawKey, fieldProblem(value));
        continue;
      }
      const plain = plainName(rawKey);
      let keyNorm = rawKey;
      let key = plain;
      if (key === undefined) {
        const k = prepareName(rawKey, counters, 'field');
        if (k.norm === '') {
          skipField(counters, index, rawKey, 'empty field key');
          continue;
        }
        keyNorm = k.norm;
        key = { first: `${k.text}=`, next: `,${k.text}=` };
      }
      if (keyNorm !== rawKey || seen !== undefined) {
        seen ??= new Map(fieldKeys.slice(0, written).map((k) => [k, k]));
        const other = seen.get(keyNorm);
        if (other !== undefined) {
          counters.altered = alteredBefore;
          counters.omittedTags = omittedBefore;
          counters.skippedFields = skippedBefore;
          counters.skippedDetails.length = detailsBefore;
          return { reason: collisionReason('field', other, rawKey, keyNorm) };
        }
        seen.set(keyNorm, rawKey);
      } else fieldKeys[written++] = rawKey;
      fieldsText = (fieldsText === '' ? key.first : fieldsText + key.next) + valueText;
    }
  }
  if (fieldsText === '') return { reason: 'no writable fields' };
  return line + fieldsText + timeText(t);
}

/**
 * `s` as one flat string. A text built with `+` is a rope of many small strings; the prefixes
 * and tag texts kept per device (10,000 devices: ~130,000 rope nodes, 6.7 MB in bench/edge-ns'
 * heap snapshot) stay in the old space for every mark-compact to walk. JSON round trip: exact
 * for every string (lone surrogates included), done once per tag set and measurement.
 */
function flatString(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

function rememberPrefix(shared: EncodedTags, measurement: string, prefix: string): void {
  const prefixes = (shared.prefixes ??= []);
  if (prefixes.length >= 2 * MAX_PREFIXES) prefixes.length = 0;
  prefixes.push(measurement, prefix);
}

function prefixOf(shared: EncodedTags, measurement: string): string | undefined {
  const p = shared.prefixes;
  if (p === undefined) return undefined;
  for (let i = 0; i < p.length; i += 2) if (p[i] === measurement) return p[i + 1];
  return undefined;
}

/** ` timestamp` of a time already checked to be an integer in range. */
function timeText(t: number): string {
  if (t !== lastTime) {
    lastTime = t;
    lastTimeText = ` ${t}`;
  }
  return lastTimeText;
}

/** Encode many points; rejected points are listed, not thrown. */
export function encodePoints(points: readonly Point[]): EncodeResult {
  const counters = newEncodeCounters();
  const lines: string[] = [];
  const pointIndex: number[] = [];
  const rejected: RejectedPoint[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p === undefined || p === null || typeof p !== 'object') {
      rejected.push({ index: i, reason: 'not a point object' });
      continue;
    }
    const out = encodePoint(p, counters, i);
    if (typeof out === 'string') {
      lines.push(out);
      pointIndex.push(i);
    } else {
      rejected.push({ index: i, reason: out.reason });
    }
  }
  return {
    lines,
    pointIndex,
    rejected,
    skippedFields: counters.skippedFields,
    skippedDetails: counters.skippedDetails,
    altered: counters.altered,
    omittedTags: counters.omittedTags,
  };
}

// ---------------------------------------------------------------------------------------------
// Lines built by a schema without Point objects.
//
// A schema that writes many points (a drain of the durable log) can build each line from the
// pieces below instead of making a Point per line: the prefix of a shared tag set, field keys
// that need no escaping, field values and the timestamp. Every piece comes from the same
// functions `encodePoint` uses, and a piece that is not available (a name needing escaping,
// a value InfluxDB cannot store, a time out of range) is `undefined`: the schema then gives
// that point to `addPoint`, which encodes it as `encodePoints` would. Either way the lines are
// byte for byte those of the Point path.

/**
 * Lines for one write, with what encoding them counted; `points` counts lines and rejects.
 * The lines are kept as UTF-8 bytes, each followed by LF, in `buf[0, size)` (line i ends at
 * `ends[i]`, its LF excluded), not as strings: a batch waits in the sink until InfluxDB took it,
 * and bytes outside the JS heap are not copied from one garbage collection to the next.
 */
export interface LineBatch {
  buf: Buffer;
  size: number;
  ends: number[];
  points: number;
  counters: EncodeCounters;
  /** Points that could not be encoded (`index` counts points in this batch), with the point. */
  rejected: Array<RejectedPoint & { point: Point }>;
}

const LINE_BATCH_BYTES = 64 * 1024;

export function newLineBatch(): LineBatch {
  return { buf: Buffer.allocUnsafe(LINE_BATCH_BYTES), size: 0, ends: [], points: 0, counters: newEncodeCounters(), rejected: [] };
}

/** The batch's lines as strings (tests, error paths). */
export function batchLines(batch: LineBatch): string[] {
  const lines: string[] = [];
  let start = 0;
  for (const end of batch.ends) {
    lines.push(batch.buf.toString('utf8', start, end));
    start = end + 1;
  }
  return lines;
}

function appendLine(batch: LineBatch, line: string): void {
  // At most 3 bytes per UTF-16 unit, plus the LF: never truncated by write().
  const room = line.length * 3 + 1;
  if (batch.buf.length - batch.size < room) {
    const bigger = Buffer.allocUnsafe(Math.max(batch.buf.length * 2, batch.size + room));
    batch.buf.copy(bigger, 0, 0, batch.size);
    batch.buf = bigger;
  }
  const end = batch.size + batch.buf.write(line, batch.size, 'utf8');
  batch.buf[end] = 0x0a;
  batch.ends.push(end);
  batch.size = end + 1;
}

/** Encode one point into the batch as `encodePoints` would (the fallback of the direct path). */
export function addPoint(batch: LineBatch, p: Point): void {
  const out = encodePoint(p, batch.counters, batch.points);
  if (typeof out === 'string') appendLine(batch, out);
  else batch.rejected.push({ index: batch.points, reason: out.reason, point: p });
  batch.points++;
}

/**
 * Add a line made of the pieces below (one point) whose prefix `linePrefix` gave for `tags`:
 * counts what encoding the tag set counted, as `encodePoint` does for every point carrying it.
 */
export function addLine(batch: LineBatch, tags: Tags, line: string): void {
  const shared = sharedTags.get(tags);
  if (shared !== undefined) {
    batch.counters.altered += shared.altered;
    batch.counters.omittedTags += shared.omittedTags;
  }
  appendLine(batch, line);
  batch.points++;
}

/**
 * `measurement,tags ` for a tag set from `tagSet()` and a measurement that needs no escaping, else
 * undefined (use `addPoint`). Joined per line, not kept: a kept prefix per device and measurement
 * was ~2.5 MB of old space with 10,000 devices (bench/RESULTS.md "ns-heap"); the join is a
 * short-lived rope the batch copies anyway.
 */
export function linePrefix(measurement: string, tags: Tags): string | undefined {
  const shared = sharedTags.get(tags);
  if (shared === undefined || shared.collision !== undefined) return undefined;
  const known = prefixOf(shared, measurement);
  if (known !== undefined) return known;
  if (plainName(measurement) === undefined || measurement.startsWith('#')) return undefined;
  return `${measurement}${shared.text} `;
}

/** `key=` (first field) or `,key=` for a key that needs no escaping or normalising, else undefined. */
export function fieldKeyText(key: string, first: boolean): string | undefined {
  const plain = plainName(key);
  return plain === undefined ? undefined : first ? plain.first : plain.next;
}

/** A field value as written, or undefined when InfluxDB cannot store it (see `encodePoint`). */
export function fieldValueText(value: FieldValue, counters: EncodeCounters): string | undefined {
  return fieldText(value, counters);
}

/** `<n>i` for an int64 field, or undefined (not a safe integer). */
export function integerFieldText(n: number): string | undefined {
  return integerText(n);
}

/** ` timestamp` ending a line, or undefined when `timeMs` cannot be written (see `encodePoint`). */
export function lineTimeText(timeMs: number): string | undefined {
  return Number.isInteger(timeMs) && timeMs <= MAX_ABS_MS && timeMs >= -MAX_ABS_MS ? timeText(timeMs) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading our own lines back (used to attribute a server's "field type conflict" to lines).

export type LineFieldType = 'float' | 'integer' | 'string' | 'boolean';

/** Unescape `\,` `\=` `\ ` (keys) or `\,` `\ ` (measurement) the way the server does. */
function unescapeName(s: string, special = /\\([,= ])/g): string {
  return s.includes('\\') ? s.replace(special, '$1') : s;
}

/** Index of the first unescaped char from `chars` at or after `from`, or -1. */
function findUnescaped(line: string, from: number, chars: string): number {
  for (let i = from; i < line.length; i++) {
    const ch = line[i] as string;
    if (chars.includes(ch) && line[i - 1] !== '\\') return i;
  }
  return -1;
}

/**
 * The measurement and field types of a line this module produced (not a general parser).
 * Returns undefined when the line does not have the expected shape.
 */
export function parseOwnLine(line: string): { measurement: string; fields: Map<string, LineFieldType> } | undefined {
  const endMeasurement = findUnescaped(line, 0, ', ');
  if (endMeasurement <= 0) return undefined;
  const measurement = unescapeName(line.slice(0, endMeasurement), /\\([, ])/g);
  const fieldsStart = line[endMeasurement] === ' ' ? endMeasurement + 1 : findUnescaped(line, endMeasurement, ' ') + 1;
  if (fieldsStart <= 0) return undefined;
  const fields = new Map<string, LineFieldType>();
  let i = fieldsStart;
  while (i < line.length) {
    const eq = findUnescaped(line, i, '=');
    if (eq < 0) return undefined;
    const key = unescapeName(line.slice(i, eq));
    let j = eq + 1;
    let type: LineFieldType;
    if (line[j] === '"') {
      type = 'string';
      j++;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      j++; // closing quote
    } else {
      const end = line.slice(j).search(/[, ]/);
      const raw = end < 0 ? line.slice(j) : line.slice(j, j + end);
      j += raw.length;
      type = raw.endsWith('i') ? 'integer' : raw === 'true' || raw === 'false' ? 'boolean' : 'float';
    }
    fields.set(key, type);
    if (line[j] === ',') i = j + 1;
    else break; // space before the timestamp
  }
  return { measurement, fields };
}
