/**
 * "Did you mean" for a misspelt name (a variable, a category, a model id): the closest of the
 * valid names by edit distance, when it is close enough to be a plausible typo.
 */

/** Levenshtein distance, bounded: both strings are names (short), so O(n·m) is fine. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/** The closest valid name, if within a third of its length (at least 2 edits); case-insensitive. */
export function closest(name: string, valid: Iterable<string>): string | undefined {
  const n = name.toLowerCase().slice(0, 200);
  let best: string | undefined;
  let bestD = Infinity;
  for (const v of valid) {
    const d = editDistance(n, v.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = v;
    }
  }
  if (best === undefined) return undefined;
  const allowed = Math.max(2, Math.floor(best.length / 3));
  // A prefix is a plausible abbreviation too ("bins" for "bin-fill").
  return bestD <= allowed || (n.length >= 3 && best.toLowerCase().startsWith(n.slice(0, 3))) ? best : undefined;
}

/** ` (did you mean "x"?)` or '' — ready to append to a message. */
export function didYouMean(name: string, valid: Iterable<string>): string {
  const hit = closest(name, valid);
  return hit !== undefined && hit !== name ? ` (did you mean "${hit}"?)` : '';
}
