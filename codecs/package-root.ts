/**
 * The package's root folder: the nearest folder above this module whose package.json is named
 * "lorawan-edge". Data files (catalogue YAML, examples.json, the sandbox worker) are found from
 * here, so the same paths come out whether this module runs from the sources (codecs/) or
 * inside the bundle (dist/lorawan-edge.mjs), where import.meta.url is the bundle's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(from: string): string {
  for (let dir = from; ; ) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown }).name === 'lorawan-edge') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json named "lorawan-edge" in ${from} or above`);
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
