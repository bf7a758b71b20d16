/** Where the codec folders live on disk (examples.json and READMEs sit beside each codec). */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CODECS_DIR = dirname(fileURLToPath(import.meta.url));
