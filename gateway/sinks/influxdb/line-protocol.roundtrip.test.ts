// Property: arbitrary measurement names, tag keys/values, field keys and string values survive
// encode → sink → REAL InfluxDB 1.6 → query, up to the documented normalisation (line breaks
// → space, backslashes touching a separator dropped, lone surrogates → U+FFFD).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent, startInfluxd, type InfluxSeries, type InfluxdServer } from '../../../support/influxd.ts';
import { integer, normalizedName, normalizedString, type FieldValue, type Point } from './line-protocol.ts';
import { InfluxSink } from './sink.ts';

const T0 = 1_760_000_000_000;
const RUNS = 12;
const POINTS_PER_RUN = 25; // 300 points in all

// Characters that matter to line protocol (and some that merely look like they might).
const SPECIAL = [',', '=', ' ', '\\', '"', "'", '\n', '\r', '\t', '#', '\u0000', 'é', '😀', '\ud800', '\udc00', '_', '/', '.', '\u00a0'];
const char = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const text = (min: number, max: number): fc.Arbitrary<string> => fc.string({ unit: char, minLength: min, maxLength: max });

/** A name the server keeps (not empty after normalisation, not reserved by InfluxQL/us). */
const name = text(1, 10).filter((s) => {
  const n = normalizedName(s, 'measurement'); // the strictest normalisation
  return n !== '' && n !== 'time' && n !== 'rt_id';
});

interface Sample {
  measurement: string;
  tags: Record<string, string>;
  strings: Record<string, string>;
  num: number;
  int: number;
  flag: boolean;
}

const sample: fc.Arbitrary<Sample> = fc.record({
  measurement: name.filter((s) => !normalizedName(s, 'measurement').startsWith('#')),
  // Distinct after normalisation: two keys that normalise alike (" " and "\n") are one tag
  // to InfluxDB, so the round trip could not give both back.
  tags: fc.dictionary(name, text(0, 10), { maxKeys: 4 }).filter((t) => new Set(Object.keys(t).map((k) => normalizedName(k, 'tag'))).size === Object.keys(t).length),
  strings: fc.dictionary(name, text(0, 12), { maxKeys: 3 }).filter((f) => new Set(Object.keys(f).map((k) => normalizedName(k, 'field'))).size === Object.keys(f).length),
  num: fc.double({ noNaN: true, noDefaultInfinity: true }),
  int: fc.maxSafeInteger(),
  flag: fc.boolean(),
});

/** What InfluxDB should hand back for a name / string value. */
const expectName = (s: string, kind: 'measurement' | 'tag' | 'field' = 'tag'): string =>
  Buffer.from(normalizedName(s, kind), 'utf8').toString('utf8');
const expectString = (s: string): string => Buffer.from(normalizedString(s), 'utf8').toString('utf8');

let influx: InfluxdServer;

beforeAll(async () => {
  influx = await startInfluxd({ database: null });
});
afterAll(async () => {
  await influx?.dispose();
});

describe('line protocol round trip through a real InfluxDB 1.6', () => {
  it('arbitrary tag and field strings come back as written', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(sample, { minLength: POINTS_PER_RUN, maxLength: POINTS_PER_RUN }), async (samples) => {
        run++;
        const db = `rt${run}`;
        await influx.query(`CREATE DATABASE ${quoteIdent(db)}`, { db: null });
        // Keys that are tags somewhere must not be field keys in the same run (different
        // semantics for the same name), nor clash with the fixed numeric fields.
        const tagKeys = new Set(samples.flatMap((s) => Object.keys(s.tags).map((k) => expectName(k))));
        const fixed = new Set(['num', 'int', 'flag']);
        // (Object.fromEntries, not assignment: generated keys include "__proto__".)
        const points: Point[] = samples.map((s, i) => {
          const strings = Object.entries(s.strings).filter(([k]) => {
            const n = expectName(k, 'field');
            return !tagKeys.has(n) && !fixed.has(n);
          });
          const fields: Record<string, FieldValue> = Object.fromEntries([
            ['num', s.num],
            ['int', integer(s.int)],
            ['flag', s.flag],
            ...strings,
          ]);
          return { measurement: s.measurement, tags: Object.fromEntries([...Object.entries(s.tags), ['rt_id', String(i)]]), fields, timeMs: T0 + i };
        });

        const sink = new InfluxSink(
          { url: influx.url, database: db, flush_interval_ms: 0, gzip: run % 2 === 0 },
          { logger: { info: () => undefined, warn: () => undefined, error: () => undefined } },
        );
        await sink.start();
        const outcome = await sink.write(points);
        await sink.stop();
        expect(outcome).toMatchObject({ lines: points.length, written: points.length, deadLettered: 0 });

        const series: InfluxSeries[] = await influx.query('SELECT * FROM /.*/ GROUP BY *', { db });
        points.forEach((p, i) => {
          const s = samples[i] as Sample;
          const hits = series.filter((x) => x.tags?.['rt_id'] === String(i));
          expect(hits, `point ${i}`).toHaveLength(1);
          const got = hits[0] as InfluxSeries;
          expect(got.name).toBe(expectName(s.measurement, 'measurement'));
          // Tags: every key of the measurement is listed, '' where this point has none.
          const wantTags = Object.fromEntries([
            ...Object.entries(s.tags)
              .map(([k, v]) => [expectName(k), expectName(v)])
              .filter(([k, v]) => k !== '' && v !== ''),
            ['rt_id', String(i)],
          ]);
          const gotTags = Object.fromEntries(Object.entries(got.tags ?? {}).filter(([, v]) => v !== ''));
          expect(gotTags, `tags of point ${i}`).toEqual(wantTags);
          // Fields.
          const row = got.values.find((v) => v[0] === p.timeMs);
          expect(row, `row of point ${i}`).toBeDefined();
          const fieldsBack = Object.fromEntries(got.columns.map((c, j) => [c, row?.[j]]).filter(([c, v]) => c !== 'time' && v !== null));
          const want = Object.fromEntries([
            ['num', s.num === 0 ? 0 : s.num], // -0 is written as 0
            ['int', s.int],
            ['flag', s.flag],
            ...Object.keys(p.fields)
              .filter((k) => !fixed.has(k))
              .map((k) => [expectName(k, 'field'), expectString(s.strings[k] ?? '')]),
          ]);
          expect(fieldsBack, `fields of point ${i}`).toEqual(want);
        });
        await influx.query(`DROP DATABASE ${quoteIdent(db)}`, { db: null });
      }),
      { numRuns: RUNS, endOnFailure: true, seed: 20261207 },
    );
  });
});
