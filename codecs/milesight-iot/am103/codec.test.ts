import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { codec } from './codec.ts';

// examples.json (TTN's am103-codec.yaml example, error cases) runs in ../../contract.test.ts.
describe('milesight-iot/am103', () => {
  it('decodes the four AM103 records with TTN keys', () => {
    expect(codec.decodeUplink({ bytes: fromHex('01755c03673401046865077de704') as Uint8Array, fPort: 85 })).toEqual({
      data: { battery: 92, temperature: 30.8, humidity: 50.5, co2: 1255 },
    });
  });

  it('sends only what an AM103 measures', () => {
    const r = codec.encodeUplink({ readings: [{ values: { co2_ppm: 1255, tvoc_iaq: 1, pressure_hpa: 1000, temperature_c: 30.8 } }] });
    expect(toHex(r.bytes ?? [])).toBe('03673401' + '077de704');
  });
});
