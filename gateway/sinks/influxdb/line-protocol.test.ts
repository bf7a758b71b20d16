import { describe, expect, it } from 'vitest';
import {
  addPoint,
  batchLines,
  compareUtf8,
  encodePoint,
  encodePoints,
  integer,
  linePrefix,
  newLineBatch,
  normalizedName,
  parseOwnLine,
  quoteString,
  tagSet,
  type Point,
  type Tags,
} from './line-protocol.ts';

const T = 1_784_538_843_512;

function line(p: Omit<Point, 'timeMs'> & { timeMs?: number }): string {
  const out = encodePoint({ timeMs: T, ...p });
  if (typeof out !== 'string') throw new Error(`rejected: ${out.reason}`);
  return out;
}

describe('escaping (reference §2.2 examples)', () => {
  it('escapes a space in the measurement', () => {
    expect(line({ measurement: 'bin level', fields: { v: 1 } })).toBe(`bin\\ level v=1 ${T}`);
  });

  it('escapes comma, space and equals in tag values', () => {
    expect(line({ measurement: 'm', tags: { zone: 'North, A=1' }, fields: { v: 1 } })).toBe(
      `m,zone=North\\,\\ A\\=1 v=1 ${T}`,
    );
  });

  it('escapes double quotes and backslashes in string fields', () => {
    expect(line({ measurement: 'm', fields: { note: 'say "hi" \\ bye' } })).toBe(`m note="say \\"hi\\" \\\\ bye" ${T}`);
  });

  it('matches the ChirpStack-style example line', () => {
    expect(
      line({
        measurement: 'device_frmpayload_data_distance',
        tags: { dev_eui: 'a84041000181c9e2', application_name: 'bins', f_port: '2', device_name: 'bin-17' },
        fields: { value: 1234.5 },
      }),
    ).toBe(
      `device_frmpayload_data_distance,application_name=bins,dev_eui=a84041000181c9e2,device_name=bin-17,f_port=2 value=1234.5 ${T}`,
    );
  });

  it('escapes comma and space in the measurement but leaves = and quotes', () => {
    expect(line({ measurement: 'a,b c=d"e', fields: { v: 1 } })).toBe(`a\\,b\\ c=d"e v=1 ${T}`);
  });

  it('escapes comma, equals and space in tag keys and field keys', () => {
    expect(line({ measurement: 'm', tags: { 'k,1 =': 'x' }, fields: { 'f,1 =': 1 } })).toBe(`m,k\\,1\\ \\==x f\\,1\\ \\==1 ${T}`);
  });

  it('keeps a backslash before an ordinary character as is', () => {
    expect(line({ measurement: 'm\\x', tags: { t: 'C:\\data\\bins' }, fields: { 'f\\g': 1 } })).toBe(
      `m\\x,t=C:\\data\\bins f\\g=1 ${T}`,
    );
  });

  it('removes backslashes that would touch a separator or end an element', () => {
    const counters = { skippedFields: 0, skippedDetails: [], altered: 0, omittedTags: 0 };
    const out = encodePoint({ measurement: 'm\\', tags: { 't\\': 'ab\\\\', u: 'a\\,b' }, fields: { 'x\\ y': 1 }, timeMs: T }, counters);
    expect(out).toBe(`m,t=ab,u=a\\,b x\\ y=1 ${T}`);
    expect(counters.altered).toBe(5);
    expect(normalizedName('a\\ b\\')).toBe('a b');
    expect(normalizedName('a\\b')).toBe('a\\b');
  });

  it('removes a backslash before a double quote in measurements and field keys (1.6.7 unescapes it there), not in tags', () => {
    expect(line({ measurement: 'm\\"x', tags: { 't\\"': 'v\\"' }, fields: { 'f\\"': 1 } })).toBe(`m"x,t\\"=v\\" f"=1 ${T}`);
  });

  it('removes tabs and NULs at the start of measurements and field keys (the parser skips them)', () => {
    expect(line({ measurement: '\t\0m', tags: { '\tt': '\tv' }, fields: { '\tf': 1, '\0g': 2 } })).toBe(`m,\tt=\tv f=1,g=2 ${T}`);
    expect(normalizedName('\tx', 'measurement')).toBe('x');
    expect(normalizedName('\tx')).toBe('\tx');
  });

  it('turns lone surrogates into U+FFFD, so such keys are recognised as duplicates', () => {
    const r = encodePoints([
      { measurement: 'm', tags: { '\ud800': 'a' }, fields: { s: 'x\ud800y', ok: '😀' }, timeMs: T },
      { measurement: 'm', tags: { '\ud800': 'a', '\udc00': 'b' }, fields: { s: 'x' }, timeMs: T },
    ]);
    expect(r.lines).toEqual([`m,\uFFFD=a s="x\uFFFDy",ok="😀" ${T}`]);
    expect(r.rejected.map((x) => x.index)).toEqual([1]);
    expect(r.rejected[0]?.reason).toContain('"\uFFFD" after normalisation');
  });

  it('replaces line breaks by spaces everywhere', () => {
    expect(line({ measurement: 'm\nx', tags: { t: 'a\r\nb' }, fields: { s: 'l1\nl2\rl3' } })).toBe(`m\\ x,t=a\\ b s="l1 l2 l3" ${T}`);
  });

  it('quotes strings that need no escaping without copying', () => {
    expect(quoteString('plain')).toBe('"plain"');
    expect(quoteString('')).toBe('""');
    expect(quoteString('\\')).toBe('"\\\\"');
  });
});

describe('field types', () => {
  it('writes floats, integers, booleans and strings', () => {
    expect(
      line({
        measurement: 'm',
        fields: { f: 1.5, whole: 3, i: integer(-42), big: 9_007_199_254_740_993n, yes: true, no: false, s: 'x', e: 1e21, tiny: 1.5e-7 },
      }),
    ).toBe(`m f=1.5,whole=3,i=-42i,big=9007199254740993i,yes=true,no=false,s="x",e=1e+21,tiny=1.5e-7 ${T}`);
  });

  it('skips NaN and Infinity fields with a count and keeps the rest', () => {
    const r = encodePoints([{ measurement: 'm', fields: { a: Number.NaN, b: Infinity, c: -Infinity, d: 2 }, timeMs: T }]);
    expect(r.lines).toEqual([`m d=2 ${T}`]);
    expect(r.skippedFields).toBe(3);
    expect(r.skippedDetails.map((d) => d.field)).toEqual(['a', 'b', 'c']);
  });

  it('skips integers that are not safe integers or outside int64', () => {
    const r = encodePoints([
      { measurement: 'm', fields: { a: integer(1.5), b: integer(2 ** 60), c: 2n ** 63n, d: -(2n ** 63n), e: integer(2n ** 63n - 1n) }, timeMs: T },
    ]);
    expect(r.lines).toEqual([`m d=-9223372036854775808i,e=9223372036854775807i ${T}`]);
    expect(r.skippedFields).toBe(3);
  });

  it('leaves out null and undefined fields and tags', () => {
    expect(line({ measurement: 'm', tags: { a: null, b: undefined, c: 'x' }, fields: { v: 1, w: null, z: undefined } })).toBe(`m,c=x v=1 ${T}`);
  });
});

describe('points that cannot be written', () => {
  it('rejects points without (writable) fields, with the reason', () => {
    const r = encodePoints([
      { measurement: 'm', fields: {}, timeMs: T },
      { measurement: 'm', fields: { a: Number.NaN }, timeMs: T },
      { measurement: 'ok', fields: { v: 1 }, timeMs: T },
    ]);
    expect(r.lines).toEqual([`ok v=1 ${T}`]);
    expect(r.pointIndex).toEqual([2]);
    expect(r.rejected).toEqual([
      { index: 0, reason: 'no writable fields' },
      { index: 1, reason: 'no writable fields' },
    ]);
  });

  it('rejects bad timestamps and measurements', () => {
    const bad: Point[] = [
      { measurement: 'm', fields: { v: 1 }, timeMs: 1.5 },
      { measurement: 'm', fields: { v: 1 }, timeMs: Number.NaN },
      { measurement: 'm', fields: { v: 1 }, timeMs: 9_300_000_000_000 },
      { measurement: '', fields: { v: 1 }, timeMs: T },
      { measurement: '#comment', fields: { v: 1 }, timeMs: T },
    ];
    const r = encodePoints(bad);
    expect(r.lines).toEqual([]);
    expect(r.rejected.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    expect(r.rejected[4]?.reason).toMatch(/comment/);
  });

  it('omits empty tag values and empty keys', () => {
    const r = encodePoints([{ measurement: 'm', tags: { a: '', '': 'x', b: 'y' }, fields: { v: 1 }, timeMs: T }]);
    expect(r.lines).toEqual([`m,b=y v=1 ${T}`]);
    expect(r.omittedTags).toBe(2);
  });

  it('rejects a point, alone and with both keys in the reason, whose tag or field keys normalise alike', () => {
    const r = encodePoints([
      { measurement: 'm', tags: { a: '1', 'a\\': '2' }, fields: { f: 1 }, timeMs: T },
      { measurement: 'm', tags: { ' ': '1', '\n': '2' }, fields: { f: 1 }, timeMs: T },
      { measurement: 'm', tags: { b: '1' }, fields: { f: 1, 'f\\': 2 }, timeMs: T },
      { measurement: 'm\n', tags: { 'x\n': '1', '': 'y' }, fields: { n: Number.NaN, 'g h': 1, 'g\nh': 2 }, timeMs: T },
      { measurement: 'm', tags: { a: '1', 'a\\': '' }, fields: { f: 1, 'g\\': 2 }, timeMs: T },
    ]);
    expect(r.rejected).toEqual([
      { index: 0, reason: 'tag keys "a" and "a\\\\" are both "a" after normalisation (InfluxDB would keep only one)' },
      { index: 1, reason: 'tag keys " " and "\\n" are both " " after normalisation (InfluxDB would keep only one)' },
      { index: 2, reason: 'field keys "f" and "f\\\\" are both "f" after normalisation (InfluxDB would keep only one)' },
      { index: 3, reason: 'field keys "g h" and "g\\nh" are both "g h" after normalisation (InfluxDB would keep only one)' },
    ]);
    // An empty tag is omitted, not a collision; the rest of the batch is written.
    expect(r.lines).toEqual([`m,a=1 f=1,g=2 ${T}`]);
    expect(r.pointIndex).toEqual([4]);
    // A rejected point counts nothing else: only the last point's omitted tag and its two altered keys.
    expect([r.altered, r.omittedTags, r.skippedFields, r.skippedDetails]).toEqual([2, 1, 0, []]);
  });
});

describe('tag order', () => {
  it('sorts tags by key in byte order', () => {
    expect(line({ measurement: 'm', tags: { b: '2', a: '1', B: '0', aa: '3' }, fields: { v: 1 } })).toBe(`m,B=0,a=1,aa=3,b=2 v=1 ${T}`);
  });

  it('compares like UTF-8 bytes, also across the surrogate range', () => {
    const keys = ['\u{1F600}', '\uFFFD', 'z', 'é', 'a'];
    const byBytes = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareUtf8)).toEqual(byBytes);
  });
});

describe('parseOwnLine', () => {
  it('reads back measurement and field types of encoded lines', () => {
    const l = line({ measurement: 'a b,c', tags: { t: 'x y' }, fields: { f: 1.5, 'g h': integer(2), s: 'q"," x', b: true } });
    const parsed = parseOwnLine(l);
    expect(parsed?.measurement).toBe('a b,c');
    expect([...(parsed?.fields ?? [])]).toEqual([
      ['f', 'float'],
      ['g h', 'integer'],
      ['s', 'string'],
      ['b', 'boolean'],
    ]);
  });
});

describe('shared tag sets (tagSet)', () => {
  const awkward: Tags = { 'zone a': 'North, A=1', 'x\\': 'v\\', e: '', n: null, dev_eui: 'a84041', B: 'b', 'é': '😀', lone: 'x\ud800' };

  it('encodes exactly like the plain tags, counting altered and omitted tags for every point', () => {
    const points = (tags: Tags): Point[] => [
      { measurement: 'm', tags, fields: { v: 1 }, timeMs: T },
      { measurement: 'other m', tags, fields: { v: 2 }, timeMs: T + 1 },
      { measurement: 'm', tags, fields: { v: 3 }, timeMs: T + 2 },
      { measurement: 'm', tags, fields: { v: 4 }, timeMs: 1.5 },
    ];
    const plain = encodePoints(points(awkward));
    const shared = tagSet(awkward);
    const first = encodePoints(points(shared));
    const again = encodePoints(points(shared));
    expect(plain.lines[0]).toBe(`m,B=b,dev_eui=a84041,lone=x\uFFFD,x=v,zone\\ a=North\\,\\ A\\=1,é=😀 v=1 ${T}`);
    for (const r of [first, again]) {
      expect(r.lines).toEqual(plain.lines);
      expect(r.rejected).toEqual(plain.rejected);
      expect([r.altered, r.omittedTags]).toEqual([plain.altered, plain.omittedTags]);
    }
    // Three names altered and one tag omitted per written point; the rejected point counts none.
    expect([plain.altered, plain.omittedTags]).toEqual([9, 3]);
  });

  it('is a frozen copy: changing the original afterwards changes nothing', () => {
    const tags: Record<string, string> = { a: '1', b: '2' };
    const shared = tagSet(tags);
    tags['a'] = 'changed';
    tags['c'] = 'new';
    expect(Object.isFrozen(shared)).toBe(true);
    expect(shared).toEqual({ a: '1', b: '2' });
    expect(line({ measurement: 'm', tags: shared, fields: { v: 1 } })).toBe(`m,a=1,b=2 v=1 ${T}`);
  });

  it('gives each measurement its own prefix, also beyond the remembered few, and rejects bad ones every time', () => {
    const shared = tagSet({ t: 'x' });
    const names = Array.from({ length: 40 }, (_, i) => `m${i}`);
    for (let round = 0; round < 2; round++) {
      for (const name of names) expect(line({ measurement: name, tags: shared, fields: { v: 1 } })).toBe(`${name},t=x v=1 ${T}`);
      expect(line({ measurement: 'a b\\', tags: shared, fields: { v: 1 } })).toBe(`a\\ b,t=x v=1 ${T}`);
      expect(encodePoint({ measurement: '#c', tags: shared, fields: { v: 1 }, timeMs: T })).toEqual({ reason: 'measurement "#c" starts with "#" (a comment line)' });
      expect(encodePoint({ measurement: '', tags: shared, fields: { v: 1 }, timeMs: T })).toEqual({ reason: 'empty measurement' });
    }
    const counters = { skippedFields: 0, skippedDetails: [], altered: 0, omittedTags: 0 };
    encodePoint({ measurement: 'a b\\', tags: shared, fields: { v: 1 }, timeMs: T }, counters);
    encodePoint({ measurement: 'a b\\', tags: shared, fields: { v: 1 }, timeMs: T }, counters);
    expect(counters.altered).toBe(2);
  });

  it('rejects every point of a tag set whose keys normalise alike, on the direct path too', () => {
    const shared = tagSet({ zone: 'a', 'zone\\': 'b' });
    const reason = 'tag keys "zone" and "zone\\\\" are both "zone" after normalisation (InfluxDB would keep only one)';
    for (let round = 0; round < 2; round++) expect(encodePoint({ measurement: 'm', tags: shared, fields: { v: 1 }, timeMs: T })).toEqual({ reason });
    expect(linePrefix('m', shared)).toBeUndefined();
    const batch = newLineBatch();
    addPoint(batch, { measurement: 'm', tags: shared, fields: { v: 1 }, timeMs: T });
    addPoint(batch, { measurement: 'm', tags: tagSet({ zone: 'a' }), fields: { v: 1 }, timeMs: T });
    expect(batchLines(batch)).toEqual([`m,zone=a v=1 ${T}`]);
    expect(batch.rejected.map(({ index, reason: why }) => ({ index, why }))).toEqual([{ index: 0, why: reason }]);
  });

  it('converts non-string values as the encoder would', () => {
    const shared = tagSet({ n: 5 as unknown as string, u: undefined });
    expect(line({ measurement: 'm', tags: shared, fields: { v: 1 } })).toBe(`m,n=5 v=1 ${T}`);
  });
});

describe('integer()', () => {
  it('writes small and large integers alike, and refuses what is not an int64', () => {
    const r = encodePoints([
      { measurement: 'm', fields: { a: integer(0), b: integer(-0), c: integer(-256), d: integer(-257), e: integer(1_023), f: integer(1_024), g: integer(2.5), h: integer(-3) }, timeMs: T },
    ]);
    expect(r.lines).toEqual([`m a=0i,b=0i,c=-256i,d=-257i,e=1023i,f=1024i,h=-3i ${T}`]);
    expect(r.skippedDetails).toEqual([{ index: 0, field: 'g', reason: '2.5 is not a safe integer' }]);
    expect(integer(7)).toEqual({ int: 7 });
    expect(integer(7)).toEqual(integer(7));
  });
});
