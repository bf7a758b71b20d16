import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatProblem, readBatchCsv } from './bulk-csv.ts';

const known = (id: string): boolean => id === 'dingtek/df703';

describe('readBatchCsv', () => {
  it('reads semicolon files with commas inside cells, and header names in any case', () => {
    const r = readBatchCsv('DEV_EUI;Name;MODEL;Join EUI;App-Key;Tag:Site;var:container_depth_mm\na8-40-41-00-00-00-01-01;bin-1;dingtek/df703;70b3d57ed0000001;2B7E151628AED2A6ABF7158809CF4F3C;Place, centre;1200,5\n', known, { keys: true });
    expect(r.problems).toEqual([]);
    expect(r.rows[0]).toMatchObject({ line: 2, joinEui: '70b3d57ed0000001', appKey: '2b7e151628aed2a6abf7158809cf4f3c', device: { dev_eui: 'a840410000000101', tags: { Site: 'Place, centre' }, variables: { container_depth_mm: 1200.5 } } });
  });

  it('reports every problem of every line in one pass', () => {
    const r = readBatchCsv('dev_eui,name,model,join_eui,app_key\nzz,,nope/x,123,\na840410000000101,b,dingtek/df703,70b3d57ed0000001,2b7e151628aed2a6abf7158809cf4f3c\na840410000000101,c,dingtek/df703,70b3d57ed0000001,2b7e151628aed2a6abf7158809cf4f3c\n', known, { keys: true });
    expect(r.rows).toEqual([]);
    const lines = r.problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'line 2, column join_eui: must be 16 hex digits',
        'line 2, column app_key: is required',
        expect.stringMatching(/^line 2, column dev_eui: /),
        expect.stringMatching(/^line 2, column name: /),
        expect.stringMatching(/^line 2, column model: /),
        'line 4, column dev_eui: DevEUI a840410000000101 is also on line 3',
      ]),
    );
  });

  it('never throws, and every problem has a line (fuzz)', () => {
    const cell = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('a840410000000101', 'dingtek/df703', '70b3d57ed0000001', '"q;u,o""te"', ''));
    const row = fc.array(cell, { maxLength: 8 }).map((cells) => cells.join(fc.sample(fc.constantFrom(',', ';'), 1)[0]));
    fc.assert(
      fc.property(fc.array(row, { maxLength: 10 }), fc.boolean(), (rows, keys) => {
        const text = ['dev_eui;name;model;join_eui;app_key', ...rows].join('\n');
        const r = readBatchCsv(text, known, { keys });
        for (const p of r.problems) expect(p.line).toBeGreaterThanOrEqual(1);
        if (r.problems.length) expect(r.rows).toEqual([]);
      }),
      { seed: 15, numRuns: 500 },
    );
  });
});
