// STUB: to be replaced by the real implementation.
import { defineCodec } from '../../define.ts';
import { PayloadError } from '../../bytes.ts';

export const codec = defineCodec({
  id: 'generic/cayenne-lpp',
  name: 'Cayenne LPP',
  category: 'generic',
  fPorts: [],
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
