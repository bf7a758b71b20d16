// STUB: to be replaced by the real implementation.
import { defineCodec } from '../../define.ts';
import { PayloadError } from '../../bytes.ts';

export const codec = defineCodec({
  id: 'milesight-iot/em300-di',
  name: 'Milesight EM300-DI',
  category: 'water-meter',
  fPorts: [85],
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
