import { describe, expect, it } from 'vitest';
import { encodePoint } from '../sinks/influxdb/line-protocol.ts';
import { chirpstackTagKey, collidingTagKeys, reservedTagReason } from './reserved-keys.ts';

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

  it('refuses what InfluxDB 2 reserves and what the line-protocol encoder turns into a gateway tag', () => {
    expect(reservedTagReason('_field')).toMatch(/reserved by InfluxDB 2/);
    expect(reservedTagReason('_measurement')).toMatch(/reserved by InfluxDB 2/);
    expect(reservedTagReason('f_cnt')).toMatch(/clashes with the field "f_cnt"/);
    // The encoder drops a backslash before the end and turns a line break into a space.
    expect(reservedTagReason('dev_eui\\')).toMatch(/clashes with the gateway's own tag "dev_eui"/);
    expect(reservedTagReason('Model\\')).toMatch(/clashes with the gateway's own tag "model"/);
    expect(reservedTagReason('device\n')).toMatch(/clashes with the gateway's own tag "device"/);
  });

  it('finds the tag keys of one device that are one key to InfluxDB', () => {
    expect(collidingTagKeys(['site', 'commune', 'site\\'])).toEqual([['site', 'site\\']]);
    expect(collidingTagKeys(['a b', 'a\nb', 'A b'])).toEqual([['a b', 'a\nb']]);
    expect(collidingTagKeys(['site', 'Site', 'commune'])).toEqual([]);
  });

  it('renames such ChirpStack tags to chirpstack_<key> and keeps the others', () => {
    expect(chirpstackTagKey('time')).toBe('chirpstack_time');
    expect(chirpstackTagKey('DEV_EUI')).toBe('chirpstack_dev_eui');
    expect(chirpstackTagKey(' Device ')).toBe('chirpstack_device');
    expect(chirpstackTagKey('commune')).toBe('commune');
  });

  it('a ChirpStack tag that the encoder would make a second dev_eui (or a twin of another tag) no longer loses every point', () => {
    // As decode.ts merges them: ChirpStack tags under chirpstackTagKey, then the gateway's own.
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries({ 'dev_eui\\': 'x', 'site\\': 'a', site: 'b', 'zone\n': 'n', 'zone ': 's' })) tags[chirpstackTagKey(k)] = v;
    Object.assign(tags, { dev_eui: '70b3d5e75e000101', device: 'bin-1' });
    const line = encodePoint({ measurement: 'bin_fill', tags, fields: { fill_pct: 40 }, timeMs: 1_800_000_000_000 });
    expect(typeof line).toBe('string');
    expect(line).toMatch(/^bin_fill,chirpstack_dev_eui=x,dev_eui=70b3d5e75e000101,device=bin-1,site=b,zone\\ =s fill_pct=40 /);
  });
});
