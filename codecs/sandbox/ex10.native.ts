/**
 * The EX-10 test frame (see fixtures/README.md) implemented natively, for the tests that check
 * the sandboxed scripts against a known-good TypeScript decoder. Not a registered codec.
 */
import type { DecodeResult, JsonObject } from '../api.ts';

export const EX10_FRAME_LENGTH = 10;

/** What every EX-10 fixture script returns for an uplink, computed in TypeScript. */
export function decodeEx10(bytes: readonly number[], fPort: number): DecodeResult {
  if (fPort !== 1) return { errors: ['unknown FPort'] };
  if (bytes.length !== EX10_FRAME_LENGTH) return { errors: [`expected ${EX10_FRAME_LENGTH} bytes, got ${bytes.length}`] };
  const b = (i: number): number => bytes[i] as number;
  if (b(0) !== 0x01) return { errors: [`unsupported frame version ${b(0)}`] };
  const u16 = (i: number): number => (b(i) << 8) | b(i + 1);
  const raw = u16(3);
  const data: JsonObject = {
    distance: u16(1),
    temperature: (raw > 0x7fff ? raw - 0x10000 : raw) / 10,
    humidity: b(5) / 2,
    battery: u16(6) / 1000,
    alarms: { full: (b(8) & 1) !== 0, fire: (b(8) & 2) !== 0, tilt: (b(8) & 4) !== 0 },
    tilt_angle: b(9),
  };
  const warnings: string[] = [];
  if ((data['battery'] as number) < 3) warnings.push('low battery');
  if ((data['humidity'] as number) > 100) warnings.push('humidity out of range');
  return warnings.length > 0 ? { data, warnings } : { data };
}

/** The EX-10 downlink (fPort 3): set the reporting interval. */
export function encodeEx10Downlink(minutes: unknown): { bytes?: number[]; fPort?: number; errors?: string[] } {
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    return { errors: ['interval_minutes must be an integer 1..1440'] };
  }
  return { fPort: 3, bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff] };
}
