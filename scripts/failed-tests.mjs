// The failed tests of a vitest JSON report, one line each ("FAILED <file> > <test name>"), for
// the last lines of `npm test` so a CI log tail shows what failed without scrolling back.
import { isAbsolute, relative } from 'node:path';

/**
 * @param {{ testResults?: Array<{ name: string, status?: string, message?: string,
 *   assertionResults?: Array<{ status: string, fullName?: string, title?: string, failureMessages?: string[] }> }> }} report
 * @param {string} root  paths are shown relative to it
 * @param {number} [max] at most this many lines, then "… and N more"
 * @returns {string[]}
 */
export function failedTestLines(report, root, max = 40) {
  const lines = [];
  for (const file of report.testResults ?? []) {
    const shown = isAbsolute(file.name) ? relative(root, file.name) : file.name;
    const failed = (file.assertionResults ?? []).filter((a) => a.status === 'failed');
    for (const a of failed) {
      const why = (a.failureMessages?.[0] ?? '').split('\n')[0]?.trim() ?? '';
      lines.push(`FAILED ${shown} > ${a.fullName ?? a.title ?? '?'}${why ? `: ${why.slice(0, 200)}` : ''}`);
    }
    // A file that failed without a failed test: an import error, a hook that threw, a timeout.
    if (failed.length === 0 && file.status === 'failed') {
      lines.push(`FAILED ${shown}: ${(file.message ?? 'the file failed to run').split('\n')[0]?.slice(0, 200)}`);
    }
  }
  return lines.length > max ? [...lines.slice(0, max), `… and ${lines.length - max} more`] : lines;
}
