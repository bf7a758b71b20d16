/** Where the codec folders live on disk (examples.json and READMEs sit beside each codec). */
import { join } from 'node:path';
import { PACKAGE_ROOT } from './package-root.ts';

export const CODECS_DIR = join(PACKAGE_ROOT, 'codecs');
