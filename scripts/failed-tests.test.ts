import { describe, expect, it } from 'vitest';
import { failedTestLines } from './failed-tests.mjs';

describe('npm test: failed tests in the last lines', () => {
  it('names the file and the test of each failure, and files that failed without a test', () => {
    const report = {
      testResults: [
        { name: '/repo/a.test.ts', status: 'passed', assertionResults: [{ status: 'passed', fullName: 'a works' }] },
        {
          name: '/repo/test/b.test.ts',
          status: 'failed',
          assertionResults: [
            { status: 'failed', fullName: 'b > waits for the broker', failureMessages: ['AssertionError: expected 1 to be 2\n    at x'] },
            { status: 'passed', fullName: 'b > other' },
          ],
        },
        { name: '/repo/c.test.ts', status: 'failed', message: 'Failed to load url ./missing.ts\nmore', assertionResults: [] },
      ],
    };
    expect(failedTestLines(report, '/repo')).toEqual([
      'FAILED test/b.test.ts > b > waits for the broker: AssertionError: expected 1 to be 2',
      'FAILED c.test.ts: Failed to load url ./missing.ts',
    ]);
    expect(failedTestLines(report, '/repo', 1)).toEqual(['FAILED test/b.test.ts > b > waits for the broker: AssertionError: expected 1 to be 2', '… and 1 more']);
  });
});
