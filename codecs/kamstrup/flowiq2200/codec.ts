// STUB: to be replaced by the real implementation.
import { defineCodec } from '../../define.ts';
import { PayloadError } from '../../bytes.ts';

export const codec = defineCodec({
  id: 'kamstrup/flowiq2200',
  name: 'Kamstrup flowIQ 2200',
  category: 'water-meter',
  fPorts: [1],
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
