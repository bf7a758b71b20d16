import { describe, expect, it } from 'vitest';
import { chirpstackTagKey, reservedTagReason } from './reserved-keys.ts';

describe('reserved tag keys', () => {
  it('refuses time, the gateway tags in any case or with spaces, and field names', () => {
    expect(reservedTagReason('time')).toMatch(/InfluxDB's timestamp/);
    expect(reservedTagReason('Time ')).toMatch(/InfluxDB's timestamp/);
    expect(reservedTagReason('dev_eui')).toMatch(/set by the gateway itself/);
    expect(reservedTagReason('DEV_EUI')).toMatch(/clashes with the gateway's own tag "dev_eui"/);
    expect(reservedTagReason('dev_eui ')).toMatch(/clashes with the gateway's own tag "dev_eui"/);
    expect(reservedTagReason('fill_pct')).toMatch(/clashes with the field "fill_pct"/);
    expect(reservedTagReason('rssi')).toMatch(/clashes with the field "rssi"/);
    expect(reservedTagReason('commune')).toBeUndefined();
  });

  it('renames such ChirpStack tags to chirpstack_<key> and keeps the others', () => {
    expect(chirpstackTagKey('time')).toBe('chirpstack_time');
    expect(chirpstackTagKey('DEV_EUI')).toBe('chirpstack_dev_eui');
    expect(chirpstackTagKey(' Device ')).toBe('chirpstack_device');
    expect(chirpstackTagKey('commune')).toBe('commune');
  });
});
