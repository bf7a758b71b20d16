/** Where the shared public test vectors live: `../shared` beside the checkout (as in CI). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.ts';

export const REPO_ROOT = PACKAGE_ROOT;

export const SHARED_DIR = process.env['LORAWAN_EDGE_SHARED'] ?? resolve(REPO_ROOT, '../shared');

export function sharedPath(...parts: string[]): string {
  const p = resolve(SHARED_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`shared test data not found: ${p} (set LORAWAN_EDGE_SHARED to the shared/ folder)`);
  }
  return p;
}
