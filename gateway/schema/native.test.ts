import { describe, expect, it } from 'vitest';
import type { DeviceSnapshot, PipelineRecord, UplinkRecord } from '../pipeline/record.ts';
import { DeviceTagSets } from './device-tags.ts';
import { nativePoints } from './native.ts';
import { linesOf, T, uplinkRecord } from './testing.ts';

const DF703: UplinkRecord['decoded'] = { model: 'dingtek/df703', readings: [{ values: { distance_mm: 300, alarm_full: false } }], warnings: [], errors: [], by: 'codec' };
const uplink = (devEui: string, device: DeviceSnapshot, over: Partial<UplinkRecord> = {}): UplinkRecord => uplinkRecord(devEui, device, { decoded: DF703, ...over });
const lines = (...records: PipelineRecord[]): string[] => linesOf(nativePoints, ...records);

const bin: DeviceSnapshot = { name: 'bin-1', model: 'dingtek/df703', category: 'bin-fill', tags: { district: 'd0' } };

describe('native schema lines', () => {
  it('writes a reading point and a lorawan_uplink point with the device tags, sorted', () => {
    expect(lines(uplink('a840410000000001', bin))).toEqual([
      `bin_fill,dev_eui=a840410000000001,device=bin-1,district=d0,model=dingtek/df703 distance_mm=300,alarm_full=false ${T}`,
      `lorawan_uplink,dev_eui=a840410000000001,device=bin-1,district=d0,model=dingtek/df703 gateway_count=2i,fcnt=7i,fport=3i,dr=5i,payload_bytes=17i,decode_errors=0i,rssi=-70i,snr=9.5,sf=7i,frequency=868300000i ${T}`,
    ]);
  });

  it('leaves out radio fields the uplink does not have, and readings without values', () => {
    const r = uplink('e1', { name: 'n', tags: {} }, { gateways: [], sf: undefined, frequency: undefined, decoded: undefined });
    expect(lines(r)).toEqual([`lorawan_uplink,dev_eui=e1,device=n gateway_count=0i,fcnt=7i,fport=3i,dr=5i,payload_bytes=17i,decode_errors=0i ${T}`]);
    const empty = uplink('e1', { name: 'n', tags: {} }, { decoded: { model: 'm', readings: [{ values: {} }, { time: '2026-01-01T00:00:00Z', values: { v: 1 } }], warnings: [], errors: ['e'], by: 'codec' } });
    expect(lines(empty)[0]).toBe(`sensor,dev_eui=e1,device=n v=1 ${Date.UTC(2026, 0, 1)}`);
  });

  it('lets the gateway’s own tags win over installation tags of the same name', () => {
    const r = uplink('e2', { name: 'real', tags: { dev_eui: 'fake', device: 'fake', model: 'installed' } });
    expect(lines(r)[0]?.split(' ')[0]).toBe('sensor,dev_eui=e2,device=real,model=installed');
  });

  it('writes join and status records as device_status', () => {
    const join: PipelineRecord = { v: 1, kind: 'join', src: 'cs', id: 'j', time: T, rxAt: T, devEui: 'e3', devAddr: '0102abcd', device: bin };
    const status: PipelineRecord = { v: 1, kind: 'status', src: 'cs', id: 's', time: T, rxAt: T, devEui: 'e3', device: bin, margin: 7, externalPower: false, batteryUnavailable: false, batteryPct: 87.5 };
    expect(lines(join, status)).toEqual([
      `device_status,dev_eui=e3,device=bin-1,district=d0,model=dingtek/df703 joined=true,dev_addr="0102abcd" ${T}`,
      `device_status,dev_eui=e3,device=bin-1,district=d0,model=dingtek/df703 margin_db=7i,external_power=false,battery_pct=87.5 ${T}`,
    ]);
  });
});

describe('tag sets cached per device', () => {
  it('keeps devices apart whose name and tags would run together in a concatenated key', () => {
    const a = uplink('ab', { name: 'c', tags: { d: 'e' } });
    const b = uplink('a', { name: 'bc', tags: { d: 'e' } });
    const c = uplink('a', { name: 'b', tags: { cd: 'e' } });
    const d = uplink('a', { name: 'b', tags: { c: 'de' } });
    const e = uplink('a', { name: 'b', model: 'm', tags: {} });
    const f = uplink('a', { name: 'b', tags: { model: 'm' } });
    const prefixes = lines(a, b, c, d, e, f, a, b, c, d, e, f)
      .filter((l) => l.startsWith('lorawan_uplink'))
      .map((l) => l.split(' ')[0]);
    expect(prefixes.slice(0, 6)).toEqual([
      'lorawan_uplink,d=e,dev_eui=ab,device=c',
      'lorawan_uplink,d=e,dev_eui=a,device=bc',
      'lorawan_uplink,cd=e,dev_eui=a,device=b',
      'lorawan_uplink,c=de,dev_eui=a,device=b',
      'lorawan_uplink,dev_eui=a,device=b,model=m',
      'lorawan_uplink,dev_eui=a,device=b,model=m',
    ]);
    expect(prefixes.slice(6)).toEqual(prefixes.slice(0, 6));
  });

  it('follows a device that is renamed, retagged or loses its model', () => {
    const dev = 'a840410000000009';
    const variants: DeviceSnapshot[] = [
      bin,
      { ...bin, tags: { district: 'd1' } },
      { ...bin, tags: { district: 'd1', street: 'Main,St' } },
      { ...bin, tags: {} },
      { ...bin, name: 'bin-renamed' },
      { ...bin, model: undefined },
      bin,
    ];
    expect(variants.map((device) => lines(uplink(dev, device))[1]?.split(' ')[0])).toEqual([
      `lorawan_uplink,dev_eui=${dev},device=bin-1,district=d0,model=dingtek/df703`,
      `lorawan_uplink,dev_eui=${dev},device=bin-1,district=d1,model=dingtek/df703`,
      `lorawan_uplink,dev_eui=${dev},device=bin-1,district=d1,model=dingtek/df703,street=Main\\,St`,
      `lorawan_uplink,dev_eui=${dev},device=bin-1,model=dingtek/df703`,
      `lorawan_uplink,dev_eui=${dev},device=bin-renamed,district=d0,model=dingtek/df703`,
      `lorawan_uplink,dev_eui=${dev},device=bin-1,district=d0`,
      `lorawan_uplink,dev_eui=${dev},device=bin-1,district=d0,model=dingtek/df703`,
    ]);
  });

  it('returns the same shared tag set for equal snapshots in fresh objects, per variant', () => {
    const sets = new DeviceTagSets();
    const snap = (): DeviceSnapshot => structuredClone(bin);
    expect(sets.get('e', snap())).toBeUndefined();
    const first = sets.add('e', snap(), '', { dev_eui: 'e' });
    expect(Object.isFrozen(first)).toBe(true);
    expect(sets.get('e', snap())).toBe(first);
    expect(sets.get('e', snap(), 'other')).toBeUndefined();
    const other = sets.add('e', snap(), 'other', { dev_eui: 'e', x: '1' });
    expect(sets.get('e', snap(), 'other')).toBe(other);
    expect(sets.get('e', snap())).toBe(first);
    // A changed snapshot forgets every variant of the device.
    expect(sets.get('e', { ...snap(), tags: { district: 'd0', extra: '' } })).toBeUndefined();
    sets.add('e', { ...snap(), name: 'new' }, '', { dev_eui: 'e' });
    expect(sets.get('e', snap())).toBeUndefined();
    expect(sets.get('e', { ...snap(), name: 'new' }, 'other')).toBeUndefined();
  });

  it('keeps the tag sets of a fleet of 10,020 devices heard round robin (the bound is above it)', () => {
    const sets = new DeviceTagSets();
    const euis = Array.from({ length: 10_020 }, (_, i) => i.toString(16).padStart(16, '0'));
    const first = euis.map((e) => sets.add(e, bin, '', { dev_eui: e }));
    expect(euis.every((e, i) => sets.get(e, bin) === first[i])).toBe(true);
  });

  it('matches installation tags by key and value, in any key order', () => {
    const sets = new DeviceTagSets();
    const dev = (tags: Record<string, string>): DeviceSnapshot => ({ ...bin, tags });
    const t = sets.add('e', dev({ district: 'd0', street: 's1' }), '', { dev_eui: 'e' });
    expect(sets.get('e', dev({ district: 'd0', street: 's1' }))).toBe(t);
    expect(sets.get('e', dev({ street: 's1', district: 'd0' }))).toBe(t);
    expect(sets.get('e', dev({ district: 'd0', street: 's2' }))).toBeUndefined();
    expect(sets.get('e', dev({ district: 'd0' }))).toBeUndefined();
    expect(sets.get('e', dev({ district: 'd0', street: 's1', zone: 'z' }))).toBeUndefined();
    expect(sets.get('e', dev({ district: 'd0', zone: 's1' }))).toBeUndefined();
  });

  it('is bounded in devices and in variants per device', () => {
    const sets = new DeviceTagSets(3, 2);
    for (const eui of ['a', 'b', 'c', 'd']) sets.add(eui, bin, '', { dev_eui: eui });
    expect(sets.size).toBe(3);
    expect(sets.get('a', bin)).toBeUndefined();
    expect(sets.get('d', bin)).toEqual({ dev_eui: 'd' });
    sets.add('d', bin, 'v1', { v: '1' });
    sets.add('d', bin, 'v2', { v: '2' });
    expect(sets.get('d', bin, 'v2')).toEqual({ v: '2' });
    expect(sets.get('d', bin, '')).toBeUndefined();
  });
});
