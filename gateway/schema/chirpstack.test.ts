import { describe, expect, it } from 'vitest';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
import { chirpstackPoints } from './chirpstack.ts';
import { linesOf, T, uplinkRecord } from './testing.ts';

const device: DeviceSnapshot = { name: 'tracker 1', model: 'x/y', tags: { site: 'north' } };
const data = { gps: { latitude: 52.5, longitude: 13.4 }, temp: 21.5, ok: true };

const uplink = (over: Partial<UplinkRecord> = {}): UplinkRecord =>
  uplinkRecord('a840410000000001', device, { fPort: 2, sf: undefined, decoded: { model: 'x/y', data, readings: [], warnings: [], errors: [], by: 'codec' }, ...over });
const lines = (app: string | undefined, ...records: PipelineRecord[]): string[] => linesOf((r) => chirpstackPoints(r, { applicationName: () => app }), ...records);

describe('ChirpStack schema lines', () => {
  it('writes one point per data leaf, a location point and device_uplink', () => {
    const tags = 'application_name=bins,dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=2,site=north';
    expect(lines('bins', uplink())).toEqual([
      `device_frmpayload_data_gps_location,${tags} latitude=52.5,longitude=13.4 ${T}`,
      `device_frmpayload_data_temp,${tags} value=21.5 ${T}`,
      `device_frmpayload_data_ok,${tags} value=true ${T}`,
      `device_uplink,application_name=bins,dev_eui=a840410000000001,device_name=tracker\\ 1,dr=5,frequency=868300000,site=north value=1i,f_cnt=7i,rssi=-70i,snr=9.5 ${T}`,
    ]);
  });

  it('writes status points, and follows application name, f_port and device changes', () => {
    const status: PipelineRecord = { v: 1, kind: 'status', src: 'cs', id: 's', time: T, rxAt: T, devEui: 'a840410000000001', device, margin: 7, externalPower: false, batteryUnavailable: false, batteryPct: 80 };
    expect(lines(undefined, status)).toEqual([
      `device_status_margin,dev_eui=a840410000000001,device_name=tracker\\ 1,site=north value=7i ${T}`,
      `device_status_battery_level,dev_eui=a840410000000001,device_name=tracker\\ 1,site=north value=80 ${T}`,
    ]);
    const tagsOf = (l: string | undefined): string | undefined => l?.slice(l.indexOf(',') + 1, l.indexOf(' value'));
    const temp = (app: string | undefined, r: UplinkRecord): string | undefined => tagsOf(lines(app, r).find((l) => l.startsWith('device_frmpayload_data_temp')));
    expect(temp('bins', uplink())).toBe('application_name=bins,dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=2,site=north');
    expect(temp(undefined, uplink())).toBe('dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=2,site=north');
    expect(temp('other', uplink({ fPort: 3 }))).toBe('application_name=other,dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=3,site=north');
    expect(temp('bins', uplink({ device: { ...device, tags: { site: 'south' } } }))).toBe(
      'application_name=bins,dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=2,site=south',
    );
    expect(temp('bins', uplink())).toBe('application_name=bins,dev_eui=a840410000000001,device_name=tracker\\ 1,f_port=2,site=north');
    expect(tagsOf(lines(undefined, status)[0])).toBe('dev_eui=a840410000000001,device_name=tracker\\ 1,site=north');
  });
});
