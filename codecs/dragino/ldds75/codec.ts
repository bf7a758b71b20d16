// STUB: to be replaced by the real implementation.
import { defineCodec } from '../../define.ts';
import { PayloadError } from '../../bytes.ts';

export const codec = defineCodec({
  id: 'dragino/ldds75',
  name: 'Dragino LDDS75',
  category: 'bin-fill',
  fPorts: [2],
  decodeUplink() {
    throw new PayloadError('not implemented yet');
  },
  normalizeUplink() {
    return { readings: [] };
  },
  encodeUplink() {
    throw new PayloadError('not implemented yet');
  },
});
