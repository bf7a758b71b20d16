import { describe, expect, it } from 'vitest';
import type { WriteResponse } from './client.ts';
import { analyzeRejection, classifyResponse, conflictSuspects, errorMessage } from './responses.ts';

function res(status: number, body = '', extra: Partial<WriteResponse> = {}): WriteResponse {
  return { status, body, retryAfterMs: undefined, influxError: undefined, ...extra };
}
const v1err = (error: string): string => JSON.stringify({ error });

describe('classifyResponse (reference §3.3)', () => {
  it('2xx is written', () => {
    for (const s of [200, 204, 206]) expect(classifyResponse(res(s), 1).kind).toBe('written');
  });

  it('413 splits', () => {
    expect(classifyResponse(res(413, 'Request Entity Too Large'), 1).kind).toBe('split');
  });

  it('400 about lines is a rejection, other 400s stop the sink', () => {
    expect(classifyResponse(res(400, v1err('partial write: field type conflict: … dropped=1')), 1).kind).toBe('rejected');
    expect(classifyResponse(res(400, v1err("unable to parse 'x': invalid field format")), 1).kind).toBe('rejected');
    expect(classifyResponse(res(400, v1err('field type conflict')), 1).kind).toBe('rejected');
    const other = classifyResponse(res(400, v1err('database is required')), 1);
    expect(other).toEqual({ kind: 'fatal', reason: 'InfluxDB refused the request (400): database is required' });
  });

  it('422 on v2 is a rejection', () => {
    const body = JSON.stringify({ code: 'unprocessable entity', message: 'failure writing points to database: partial write: points beyond retention policy dropped=1' });
    expect(classifyResponse(res(422, body), 2).kind).toBe('rejected');
  });

  it('401/403/404 and a missing retention policy stop the sink with a message naming the cause', () => {
    expect(classifyResponse(res(401, v1err('authorization failed')), 1)).toEqual({
      kind: 'fatal',
      reason: 'InfluxDB rejected the credentials (401): authorization failed',
    });
    expect(classifyResponse(res(403, ''), 1)).toMatchObject({ kind: 'fatal', reason: expect.stringMatching(/no write permission \(403\)/) as unknown });
    expect(classifyResponse(res(404, v1err('database not found: "nodb"')), 1)).toEqual({
      kind: 'fatal',
      reason: 'InfluxDB database not found (404): database not found: "nodb"',
    });
    expect(classifyResponse(res(404, '404 page not found\n'), 2)).toMatchObject({ reason: expect.stringMatching(/endpoint not found.*check url and version/) as unknown });
    expect(classifyResponse(res(500, v1err('retention policy not found: nope')), 1)).toMatchObject({
      kind: 'fatal',
      reason: expect.stringMatching(/retention policy not found \(500\)/) as unknown,
    });
  });

  it('429, 503 and other 5xx retry', () => {
    expect(classifyResponse(res(429), 2)).toEqual({ kind: 'retry', honourRetryAfter: true });
    expect(classifyResponse(res(503, 'request throttled, queue full'), 1)).toEqual({ kind: 'retry', honourRetryAfter: true });
    expect(classifyResponse(res(500, v1err('engine: cache-max-memory-size exceeded')), 1).kind).toBe('retry');
    expect(classifyResponse(res(502), 1).kind).toBe('retry');
  });
});

describe('errorMessage', () => {
  it('reads v1 error, v2 message, or plain text', () => {
    expect(errorMessage(res(400, v1err('x')))).toBe('x');
    expect(errorMessage(res(400, JSON.stringify({ code: 'invalid', message: 'y' })))).toBe('y');
    expect(errorMessage(res(502, 'Bad Gateway'))).toBe('Bad Gateway');
    expect(errorMessage(res(401, '', { influxError: 'authorization failed' }))).toBe('authorization failed');
  });
});

describe('analyzeRejection', () => {
  const lines = ['a v=1 1', 'bad line', 'a v=2 2', 'a v=3 170000000000x'];

  it('attributes 1.6.7 parse errors to exact lines and keeps the rest (partial write)', () => {
    // Body as returned by InfluxDB 1.6.7 for this batch.
    const body = v1err("partial write: unable to parse 'bad line': invalid field format\nunable to parse 'a v=3 170000000000x': bad timestamp dropped=0");
    const a = analyzeRejection(lines, res(400, body));
    expect([...a.rejected]).toEqual([
      [1, 'unable to parse: invalid field format'],
      [3, 'unable to parse: bad timestamp'],
    ]);
    expect(a.restWritten).toBe(true);
    expect(a.unexplained).toBe(false);
    expect(a.dropped).toBe(0);
  });

  it('finds a line that itself contains the separator', () => {
    const odd = ["m s=\"it': x\" 1", 'ok v=1 2'];
    const body = v1err(`unable to parse '${odd[0]}': something`);
    const a = analyzeRejection(odd, res(400, body));
    expect([...a.rejected.keys()]).toEqual([0]);
  });

  it('marks engine-side drops (type conflicts) as unexplained and names the conflict', () => {
    const body = v1err('partial write: field type conflict: input field "v" on measurement "a" is type string, already exists as type float dropped=2');
    const a = analyzeRejection(['a v=1 1', 'a v="x" 2', 'a v="y" 3'], res(400, body));
    expect(a.rejected.size).toBe(0);
    expect(a.unexplained).toBe(true);
    expect(a.dropped).toBe(2);
    expect(a.conflict).toEqual({ measurement: 'a', field: 'v', type: 'string' });
    expect(conflictSuspects(['a v=1 1', 'a v="x" 2', 'b v="x" 3', 'a w=1,v="y" 4'], { measurement: 'a', field: 'v', type: 'string' })).toEqual([1, 3]);
  });

  it('treats a line echo it cannot find as unexplained', () => {
    const a = analyzeRejection(['m v=1 1'], res(400, v1err("unable to parse 'other': bad")));
    expect(a.unexplained).toBe(true);
  });

  it('a bare "field type conflict" (whole request refused on 1.6.7) is unexplained and not a partial write', () => {
    const a = analyzeRejection(lines, res(400, v1err('field type conflict')));
    expect(a.unexplained).toBe(true);
    expect(a.restWritten).toBe(false);
  });

  it('reads the v3 data array', () => {
    const body = JSON.stringify({
      error: 'partial write of line protocol occurred',
      data: [{ original_line: 'bad line', line_number: 2, error_message: 'invalid field format' }],
    });
    const a = analyzeRejection(lines, res(400, body));
    expect([...a.rejected]).toEqual([[1, 'invalid field format']]);
    expect(a.restWritten).toBe(true);
    expect(a.unexplained).toBe(false);
  });
});
