import { describe, expect, it } from 'vitest';
import { nativeCodec } from './registry.ts';
import { variable } from './variables.ts';

describe('device variables under two spellings', () => {
  it('reads the own spelling first, else the other one', () => {
    expect(variable({ liters_per_pulse: 10 }, 'liters_per_pulse')).toBe(10);
    expect(variable({ litres_per_pulse: 10 }, 'liters_per_pulse')).toBe(10);
    expect(variable({ liters_per_pulse: 5 }, 'litres_per_pulse')).toBe(5);
    expect(variable({ liters_per_pulse: 1, litres_per_pulse: 2 }, 'litres_per_pulse')).toBe(2);
    expect(variable({}, 'liters_per_pulse')).toBeUndefined();
    expect(variable(undefined, 'litres_per_pulse')).toBeUndefined();
    expect(variable({ water_unit: 'L' }, 'water_unit')).toBe('L');
  });

  it('one name for every water meter: Milesight EM300-DI and Netvox R718H accept both', () => {
    const em300 = nativeCodec('milesight-iot/em300-di');
    const r718h = nativeCodec('netvox/r718h');
    if (!em300 || !r718h) throw new Error('codecs missing');
    for (const name of ['liters_per_pulse', 'litres_per_pulse']) {
      const a = em300.normalizeUplink({ pulse: 1500 }, { variables: { [name]: '10' } });
      expect(a.readings[0]?.values['volume_m3'], `EM300-DI with ${name}`).toBe(15);
      const enc = r718h.encodeUplink({ readings: [{ values: { volume_m3: 1.5 } }], variables: { [name]: 10 } });
      if (!enc.bytes || enc.fPort === undefined) throw new Error(JSON.stringify(enc.errors));
      const dec = r718h.decodeUplink({ bytes: enc.bytes, fPort: enc.fPort });
      if (!dec.data) throw new Error(JSON.stringify(dec.errors));
      expect(r718h.normalizeUplink(dec.data, { variables: { [name]: 10 } }).readings[0]?.values['volume_m3'], `R718H with ${name}`).toBe(1.5);
    }
  });
});
