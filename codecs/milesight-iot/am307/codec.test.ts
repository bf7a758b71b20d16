import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { codec } from './codec.ts';

// examples.json (TTN's am307-codec.yaml examples, full reports in both namings, error cases)
// runs in ../../contract.test.ts.
const decode = (hex: string, variables?: Record<string, unknown>) => codec.decodeUplink({ bytes: fromHex(hex) as Uint8Array, fPort: 85, ...(variables ? { variables } : {}) });

describe('milesight-iot/am307', () => {
  it("uses TTN's am307.js keys: pir (not activity), pm2_5 (not pm2.5), beep, tvoc raw", () => {
    expect(decode('050001' + '0b7d2000' + '0e0101' + '087d2500').data).toEqual({ pir: 'trigger', pm2_5: 32, beep: 'yes', tvoc: 37 });
    expect(codec.normalizeUplink({ tvoc: 37, pir: 'idle' }, {}).readings).toEqual([{ values: { tvoc_iaq: 0.37, occupied: false } }]);
  });

  it('does not decode AM319 history records as AM307 ones', () => {
    expect(decode('20ce' + '00'.repeat(20)).errors?.[0]).toMatch(/^unknown record: channel 0x20 type 0xce at offset 0/);
  });

  it('sends only what an AM307 measures, and no history', () => {
    const r = codec.encodeUplink({
      readings: [{ time: '2024-01-01T00:00:00Z', values: { co2_ppm: 1 } }, { values: { co2_ppm: 612, pm2_5_ugm3: 4, hcho_mgm3: 0.01, temperature_c: 25.1 } }],
    });
    expect(toHex(r.bytes ?? [])).toBe('0367fb00' + '077d6402');
    expect(r.warnings).toEqual(['1 earlier reading(s) not sent: AM307 history records are not implemented']);
  });
});
