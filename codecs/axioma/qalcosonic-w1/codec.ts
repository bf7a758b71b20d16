// STUB: to be replaced by the real implementation.
import { defineCodec } from '../../define.ts';
import { PayloadError } from '../../bytes.ts';

export const codec = defineCodec({
  id: 'axioma/qalcosonic-w1',
  name: 'Axioma QALCOSONIC W1',
  category: 'water-meter',
  fPorts: [100],
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
