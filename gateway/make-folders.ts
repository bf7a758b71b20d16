/**
 * `mkdir -p` that cannot hang. Node 20's mkdirSync(…, { recursive: true }) spins forever where
 * mkdir(2) says ENOENT under an existing parent (`/proc/x/y`: /proc exists, /proc/x cannot be
 * made): this creates one level at a time from the nearest existing folder and stops at the
 * first error, which keeps its code and path (ENOENT, EACCES, …) for the caller's message.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Deeper than any real path; bounds the walk up to the nearest existing folder. */
const MAX_DEPTH = 256;

export function makeFolders(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d) && missing.length < MAX_DEPTH; d = dirname(d)) missing.unshift(d);
  for (const d of missing) mkdirSync(d, mode === undefined ? undefined : { mode });
}
