import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { codec } from './codec.ts';

// examples.json (TTN's two examples, river geometry, no-echo frame, error cases) runs in
// ../../contract.test.ts.

const EXAMPLE_1 = '02012f000304d200010bb1';
const decode = (hex: string, fPort = 1, variables?: Record<string, unknown>) =>
  codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort, ...(variables ? { variables } : {}) });

describe('decentlab/dl-mbx decodeUplink', () => {
  it('gives an error for every truncation of a full frame, keeping the whole groups before the cut', () => {
    const bytes = fromHex(EXAMPLE_1) as Uint8Array;
    for (let n = 1; n < bytes.length; n++) {
      const r = codec.decodeUplink({ bytes: bytes.subarray(0, n), fPort: 1 });
      expect(r.errors?.[0], `length ${n}`).toMatch(n < 5 ? /truncated payload: .* at offset \d/ : /truncated payload: sensor flags 0x0003 need 11 bytes, got \d+/);
      // The header and the distance group (from 9 bytes) stay; the cut battery word is left out.
      expect(r.data?.['device_id'], `length ${n}`).toBe(n < 5 ? undefined : 303);
      expect(r.data?.['distance'] !== undefined, `length ${n}`).toBe(n >= 9);
      expect(r.data?.['battery_voltage'], `length ${n}`).toBeUndefined();
    }
  });

  it('decodes the distance group alone (no battery) and the port set with uplink_fport', () => {
    expect(decode('02012f0001ffff0003').data).toEqual({
      protocol_version: 2,
      device_id: 303,
      distance: { displayName: 'Distance', unit: 'mm', value: 65535 },
      number_of_valid_samples: { displayName: 'Number of valid samples', value: 3 },
    });
    expect(decode('02012f00020bb1', 20, { uplink_fport: 20 }).data?.['device_id']).toBe(303);
    expect(decode('02012f00020bb1', 1, { uplink_fport: 20 }).errors?.[0]).toMatch(/^unknown fPort 1: DL-MBX reports on fPort 20/);
  });

  it('warns about a frame with no sensor flags', () => {
    expect(decode('02012f0000')).toEqual({ data: { protocol_version: 2, device_id: 303 }, warnings: ['sensor flags 0x0000: the frame carries no measurements'] });
  });
});

describe('decentlab/dl-mbx encodeUplink', () => {
  it('rebuilds TTN example 1 from its readings and device id', () => {
    const r = codec.encodeUplink({ readings: [{ values: { distance_mm: 1234, battery_v: 2.993 } }], variables: { device_id: 303 } });
    expect(r).toEqual({ bytes: [...(fromHex(EXAMPLE_1) as Uint8Array)], fPort: 1 });
  });

  it('sends a sensor fault as 0 valid samples, the distance from fill_pct, the battery alone', () => {
    expect(toHex(codec.encodeUplink({ readings: [{ values: { sensor_fault: true, battery_v: 2.7 } }] }).bytes ?? [])).toBe('020000000300000000' + '0a8c');
    expect(toHex(codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }], variables: { container_depth_mm: 2000, valid_samples: 4 } }).bytes ?? [])).toBe('020000000303e800040bb8');
    expect(toHex(codec.encodeUplink({ readings: [{ values: { battery_v: 3.1 } }] }).bytes ?? [])).toBe('02000000020c1c');
  });

  it('explains what is missing or out of range', () => {
    expect(codec.encodeUplink({ readings: [{ values: { fill_pct: 50 } }] }).errors).toEqual(['encodeUplink: fill_pct needs device variable container_depth_mm to derive distance_mm']);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 70000 } }] }).errors).toEqual(['encodeUplink: distance_mm 70000 is outside 0..65535']);
    expect(codec.encodeUplink({ readings: [{ values: { distance_mm: 1 } }], fPort: 2 }).errors?.[0]).toMatch(/one frame type, sent on fPort 1, not 2/);
  });
});
