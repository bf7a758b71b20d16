// Property: arbitrary measurement names, tag keys/values, field keys and string values survive
// encode → sink → REAL InfluxDB 1.6 → query, up to the documented normalisation (line breaks
// → space, backslashes touching a separator dropped, lone surrogates → U+FFFD). A point with two
// tag (or field) keys that normalise alike is one InfluxDB would keep only half of: it must be
// rejected alone, with its reason in the dead-letter file, and the rest written.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * Keys that may normalise alike (" " and "\n" happen by chance); now and then a pair that does
 * for sure (a trailing backslash is dropped), so every run has the case.
 */
const dictionary = (maxKeys: number, value: fc.Arbitrary<string>): fc.Arbitrary<Record<string, string>> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.dictionary(name, value, { maxKeys }) },
    { weight: 1, arbitrary: fc.tuple(name, text(1, 10), text(1, 10)).map(([k, a, b]) => Object.fromEntries([[k, a], [`${k}\\`, b]])) },
  );

const sample: fc.Arbitrary<Sample> = fc.record({
  measurement: name.filter((s) => !normalizedName(s, 'measurement').startsWith('#')),
  tags: dictionary(4, text(0, 10)),
  strings: dictionary(3, text(0, 12)),
  num: fc.double({ noNaN: true, noDefaultInfinity: true }),
  int: fc.maxSafeInteger(),
  flag: fc.boolean(),
});

/** What InfluxDB should hand back for a name / string value. */
const expectName = (s: string, kind: 'measurement' | 'tag' | 'field' = 'tag'): string =>
  Buffer.from(normalizedName(s, kind), 'utf8').toString('utf8');
const expectString = (s: string): string => Buffer.from(normalizedString(s), 'utf8').toString('utf8');

/** Whether two of these keys are one key to InfluxDB. */
const collide = (keys: readonly string[]): boolean => new Set(keys).size !== keys.length;

let influx: InfluxdServer;
const dir = mkdtempSync(join(tmpdir(), 'lp-roundtrip-'));

beforeAll(async () => {
  influx = await startInfluxd({ database: null });
});
afterAll(async () => {
  await influx?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('line protocol round trip through a real InfluxDB 1.6', () => {
  it('arbitrary tag and field strings come back as written; points whose keys collide are rejected alone', async () => {
    let run = 0;
    let collisions = 0;
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

        // Tags with an empty value are omitted, so only the written ones can collide.
        const colliding = new Set(
          samples.flatMap((s, i) => {
            const tags = Object.entries(s.tags).filter(([, v]) => expectName(v) !== '').map(([k]) => expectName(k));
            const fields = Object.keys(points[i]?.fields ?? {}).map((k) => expectName(k, 'field'));
            return collide(tags) || collide(fields) ? [i] : [];
          }),
        );
        collisions += colliding.size;
        const deadLetterFile = join(dir, `${db}.jsonl`);
        const sink = new InfluxSink(
          { url: influx.url, database: db, flush_interval_ms: 0, gzip: run % 2 === 0, dead_letter_file: deadLetterFile },
          { logger: { info: () => undefined, warn: () => undefined, error: () => undefined } },
        );
        await sink.start();
        const outcome = await sink.write(points);
        await sink.stop();
        const written = points.length - colliding.size;
        expect(outcome).toMatchObject({ lines: written, written, deadLettered: 0 });
        expect(outcome.rejectedPoints.map((r) => r.index)).toEqual([...colliding]);
        for (const r of outcome.rejectedPoints) expect(r.reason).toMatch(/^(tag|field) keys .* are both .* after normalisation/);
        const deadLetters = colliding.size ? readFileSync(deadLetterFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; point: { tags: Record<string, string> } }) : [];
        expect(deadLetters.map((d) => d.point.tags['rt_id'])).toEqual([...colliding].map(String));
        expect(deadLetters.map((d) => d.reason)).toEqual(outcome.rejectedPoints.map((r) => r.reason));

        const series: InfluxSeries[] = await influx.query('SELECT * FROM /.*/ GROUP BY *', { db });
        points.forEach((p, i) => {
          const s = samples[i] as Sample;
          const hits = series.filter((x) => x.tags?.['rt_id'] === String(i));
          if (colliding.has(i)) {
            expect(hits, `rejected point ${i}`).toHaveLength(0);
            return;
          }
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
    // The case is really exercised, not merely allowed.
    expect(collisions).toBeGreaterThan(0);
  });
});
