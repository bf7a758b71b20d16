/** The Semtech UDP codec's error codes → `lorawan_edge_ns_rejected_total` reasons (the source's README lists them). */
import type { UdpErrorCode } from '../../lorawan/udp/types.ts';

export const UDP_REASON: Record<UdpErrorCode, string> = {
  'too-short': 'malformed_datagram',
  'bad-version': 'unknown_protocol_version',
  'unknown-identifier': 'unknown_datagram_type',
  'bad-json': 'bad_json',
  'missing-field': 'bad_field',
  'bad-field': 'bad_field',
  'size-mismatch': 'size_mismatch',
};
