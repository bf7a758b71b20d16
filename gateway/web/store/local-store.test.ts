/**
 * The local store against an in-memory model: random sequences of uplinks (in and out of time
 * order, with alarm readings), joins, acknowledgements, pruning and reopenings of the SQLite file
 * must leave the store saying exactly what the model says — latest state per device, the
 * readings history after pruning, the ring of recent frames, alarms and their acknowledgements.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { ReadingValue } from '../../../codecs/api.ts';
import type { PipelineRecord } from '../../pipeline/record.ts';
import { uplinkRecord } from '../../schema/testing.ts';
import { LocalStore, nextInterval, type StoreOptions } from './local-store.ts';
import { listDevices, overview } from './queries.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 1);
const DAY = 86_400_000;
const DEVS = ['70b3d5e75e000001', '70b3d5e75e000002', '70b3d5e75e000003'];
const FRAMES = 4;
const HISTORY_DAYS = 3;

type Cmd =
  | { op: 'up'; dev: number; dt: number; fill: number; full?: boolean; fire?: boolean; readingDt?: number }
  | { op: 'join'; dev: number; dt: number }
  | { op: 'ack'; pick: number }
  | { op: 'prune'; dt: number }
  | { op: 'reopen' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('up' as const), dev: fc.nat(2), dt: fc.integer({ min: 0, max: 6 * DAY }), fill: fc.integer({ min: 0, max: 100 }), full: fc.option(fc.boolean(), { nil: undefined }), fire: fc.option(fc.boolean(), { nil: undefined }), readingDt: fc.option(fc.integer({ min: -DAY, max: 0 }), { nil: undefined }) }, { requiredKeys: ['op', 'dev', 'dt', 'fill'] }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('join' as const), dev: fc.nat(2), dt: fc.integer({ min: 0, max: 6 * DAY }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('ack' as const), pick: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('prune' as const), dt: fc.integer({ min: 0, max: 8 * DAY }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
);

interface ModelAlarm {
  id: number;
  dev: string;
  kind: string;
  raisedAt: number;
  lastAt: number;
  clearedAt: number | null;
  ackedAt: number | null;
}

/** The model: plain maps and arrays, the rules written the obvious way. */
class Model {
  devices = new Map<string, { uplinks: number; lastUplink: number | null; fCnt: number | null; joins: number; joinedAt: number | null; fields: Map<string, { value: ReadingValue; time: number }> }>();
  readings = new Map<string, Map<number, Record<string, ReadingValue>>>();
  frames = new Map<string, number[]>();
  alarms: ModelAlarm[] = [];
  nextAlarm = 1;

  dev(d: string) {
    let s = this.devices.get(d);
    if (!s) this.devices.set(d, (s = { uplinks: 0, lastUplink: null, fCnt: null, joins: 0, joinedAt: null, fields: new Map() }));
    return s;
  }

  up(logId: number, d: string, time: number, fCnt: number, readingTime: number, values: Record<string, ReadingValue>): void {
    const s = this.dev(d);
    s.uplinks++;
    if (s.lastUplink === null || time >= s.lastUplink) {
      s.lastUplink = time;
      s.fCnt = fCnt;
    }
    const hist = this.readings.get(d) ?? new Map<number, Record<string, ReadingValue>>();
    this.readings.set(d, hist);
    hist.set(readingTime, { ...(hist.get(readingTime) ?? {}), ...values });
    for (const [k, v] of Object.entries(values)) {
      const prev = s.fields.get(k);
      if (!prev || readingTime >= prev.time) s.fields.set(k, { value: v, time: readingTime });
      if (k.startsWith('alarm_') && typeof v === 'boolean') {
        const kind = k.slice(6);
        const active = this.alarms.find((a) => a.dev === d && a.kind === kind && a.clearedAt === null);
        if (v && active) active.lastAt = Math.max(active.lastAt, readingTime);
        else if (v) this.alarms.push({ id: this.nextAlarm++, dev: d, kind, raisedAt: readingTime, lastAt: readingTime, clearedAt: null, ackedAt: null });
        else if (active && readingTime >= active.lastAt) active.clearedAt = readingTime;
      }
    }
    const f = this.frames.get(d) ?? [];
    f.push(logId);
    this.frames.set(d, f.slice(-FRAMES));
  }

  join(d: string, time: number): void {
    const s = this.dev(d);
    s.joins++;
    if (s.joinedAt === null || time >= s.joinedAt) s.joinedAt = time;
  }

  prune(now: number): void {
    const before = now - HISTORY_DAYS * DAY;
    for (const h of this.readings.values()) for (const t of [...h.keys()]) if (t < before) h.delete(t);
    this.alarms = this.alarms.filter((a) => !(a.clearedAt !== null && a.ackedAt !== null && a.clearedAt < before));
  }
}

function options(file: string): StoreOptions {
  return { file, historyDays: HISTORY_DAYS, framesPerDevice: FRAMES, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } };
}

describe('local store', () => {
  it('matches the in-memory model (latest state, pruning, frames, alarms and acknowledgements)', () => {
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 60 }), (cmds) => {
        const dir = mkdtempSync(join(tmpdir(), 'local-store-prop-'));
        dirs.push(dir);
        const file = join(dir, 'store.sqlite');
        let store = new LocalStore(options(file));
        const model = new Model();
        let logId = 0;
        let fCnt = 0;
        try {
          for (const c of cmds) {
            if (c.op === 'up') {
              const dev = DEVS[c.dev] as string;
              const time = T0 + c.dt;
              const values: Record<string, ReadingValue> = { fill_pct: c.fill };
              if (c.full !== undefined) values['alarm_full'] = c.full;
              if (c.fire !== undefined) values['alarm_fire'] = c.fire;
              const readingT = c.readingDt === undefined ? time : time + c.readingDt;
              const reading = c.readingDt === undefined ? { values } : { time: new Date(readingT).toISOString(), values };
              const rec = uplinkRecord(dev, { name: `bin-${c.dev}`, model: 'dingtek/df703', category: 'bin-fill', tags: { commune: 'c' } }, {
                time,
                fCnt: ++fCnt,
                decoded: { model: 'dingtek/df703', readings: [reading], warnings: [], errors: [], by: 'codec' },
              });
              store.apply([{ id: ++logId, value: rec }]);
              model.up(logId, dev, time, fCnt, readingT, values);
            } else if (c.op === 'join') {
              const dev = DEVS[c.dev] as string;
              const rec: PipelineRecord = { v: 1, kind: 'join', src: 'cs', id: `j${logId}`, time: T0 + c.dt, rxAt: T0, devEui: dev, devAddr: '26000001', device: { name: `bin-${c.dev}`, tags: {} } };
              store.apply([{ id: ++logId, value: rec }]);
              model.join(dev, T0 + c.dt);
            } else if (c.op === 'ack') {
              const a = model.alarms[c.pick % Math.max(1, model.alarms.length)];
              if (a) {
                const at = T0 + 10 * DAY;
                store.acknowledge(a.id, 'tester', at);
                a.ackedAt ??= at;
              } else expect(store.acknowledge(999, 'x', 0)).toBeUndefined();
            } else if (c.op === 'prune') {
              store.prune(T0 + c.dt);
              model.prune(T0 + c.dt);
            } else {
              store.close();
              store = new LocalStore(options(file));
            }
          }
          // A record delivered again (replay after a crash) changes nothing.
          if (logId > 0) expect(store.apply([{ id: logId, value: uplinkRecord(DEVS[0] as string, { name: 'x', tags: {} }) }])).toEqual([]);
          for (const dev of DEVS) {
            const m = model.devices.get(dev);
            const s = store.stateOf(dev);
            if (!m) {
              expect(s).toBeUndefined();
              continue;
            }
            expect(s?.uplinks).toBe(m.uplinks);
            expect(s?.lastUplink).toBe(m.lastUplink);
            expect(s?.fCnt).toBe(m.fCnt);
            expect(s?.joins).toBe(m.joins);
            expect(s?.joinedAt).toBe(m.joinedAt);
            expect(s?.readings).toEqual(Object.fromEntries(m.fields));
            const hist = [...(model.readings.get(dev) ?? new Map<number, Record<string, ReadingValue>>())].sort((a, b) => a[0] - b[0]).map(([time, values]) => ({ time, values }));
            expect(store.readings(dev, 0, Number.MAX_SAFE_INTEGER, 10_000)).toEqual(hist);
            expect(store.frames(dev, 100).map((f) => f.logId)).toEqual([...(model.frames.get(dev) ?? [])].reverse());
          }
          const alarms = store.alarms({ state: 'all', limit: 1000 }).sort((a, b) => a.id - b.id);
          expect(alarms.map((a) => ({ id: a.id, dev: a.devEui, kind: a.kind, raisedAt: a.raisedAt, lastAt: a.lastAt, clearedAt: a.clearedAt, ackedAt: a.ackedAt }))).toEqual(model.alarms);
          expect(store.alarms({ state: 'open', limit: 1000 }).map((a) => a.id).sort((a, b) => a - b)).toEqual(model.alarms.filter((a) => a.ackedAt === null).map((a) => a.id));
        } finally {
          store.close();
        }
      }),
      { seed: 1313, numRuns: 80 },
    );
  });

  it('lists registered and heard devices with their state, filters and counts', () => {
    const store = new LocalStore(options(':memory:'));
    store.syncRegistry([
      { dev_eui: DEVS[0] as string, name: 'bin-a', model: 'dingtek/df703', category: 'bin-fill', tags: { commune: 'north', lat: '52.1', lon: '5.1' }, interval_s: 3600 },
      { dev_eui: DEVS[1] as string, name: 'bin-b', model: 'dingtek/df703', category: 'bin-fill', tags: { commune: 'south' }, interval_s: 3600 },
      { dev_eui: DEVS[2] as string, name: 'water-c', model: 'kamstrup/flowiq2200', category: 'water-meter', tags: { commune: 'north' }, interval_s: 3600 },
    ]);
    const dev = { name: 'bin-a', tags: {} };
    // bin-a reports every 10 min; bin-b was heard once long ago; water-c never; a stranger is heard.
    const recs = [0, 1, 2, 3].map((i) => ({ id: i + 1, value: uplinkRecord(DEVS[0] as string, dev, { time: T0 + i * 600_000, fCnt: i }) }));
    recs.push({ id: 5, value: uplinkRecord(DEVS[1] as string, dev, { time: T0 - DAY }) });
    recs.push({ id: 6, value: uplinkRecord('00000000000000ff', { name: 'stranger', tags: { commune: 'north' } }, { time: T0 }) });
    store.apply(recs);
    const now = T0 + 3 * 600_000 + 60_000;
    const all = listDevices(store, { limit: 10, offset: 0 }, now);
    expect(all.total).toBe(4);
    expect(Object.fromEntries(all.devices.map((d) => [d.name, d.state]))).toEqual({ 'bin-a': 'reporting', 'bin-b': 'silent', 'water-c': 'never_joined', stranger: 'reporting' });
    expect(all.devices.find((d) => d.name === 'bin-a')).toMatchObject({ lat: 52.1, lon: 5.1, commune: 'north', intervalMs: 600_000, gatewayCount: 2, bestRssi: -70.4, registered: true });
    expect(listDevices(store, { state: 'silent', limit: 10, offset: 0 }, now).devices.map((d) => d.name)).toEqual(['bin-b']);
    expect(listDevices(store, { commune: 'north', category: 'bin-fill', limit: 10, offset: 0 }, now).devices.map((d) => d.name)).toEqual(['bin-a']);
    expect(listDevices(store, { text: 'BIN', limit: 1, offset: 1 }, now)).toMatchObject({ total: 2, devices: [{ name: 'bin-b' }] });
    expect(listDevices(store, { text: '100%', limit: 10, offset: 0 }, now).total).toBe(0);
    const o = overview(store, now);
    expect(o.devices).toEqual({ total: 4, reporting: 2, silent: 1, never_joined: 1 });
    expect(o.byCommune.find((c) => c.key === 'north')).toMatchObject({ reporting: 2, never_joined: 1, total: 3 });
    expect(o.gateways.map((g) => g.id)).toEqual(['g1', 'g2']);
    store.close();
  });

  it('prunes in bounded steps to the same result as one prune, and a reader connection sees what the writer committed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-store-steps-'));
    dirs.push(dir);
    const dev = { name: 'd', tags: {} };
    // 3 devices × 40 uplinks a day apart: half older than the history, and 36 frames each beyond the newest 4.
    const recs = Array.from({ length: 120 }, (_, i) => ({ id: i + 1, value: uplinkRecord(DEVS[i % 3] as string, dev, { id: `u${i}`, time: T0 + Math.floor(i / 3) * (DAY / 8), fCnt: i, decoded: { model: 'dingtek/df703', readings: [{ values: { fill_pct: i % 100 } }], warnings: [], errors: [], by: 'codec' } }) }));
    const now = T0 + 5 * DAY;
    const counts = (st: LocalStore): number[] => ['readings', 'frames'].map((t) => (st.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
    const whole = new LocalStore(options(join(dir, 'whole.sqlite')));
    whole.apply(recs);
    const gone = whole.prune(now);
    const stepped = new LocalStore(options(join(dir, 'steps.sqlite')));
    stepped.apply(recs);
    const reader = new LocalStore(options(join(dir, 'steps.sqlite')), 'reader');
    expect(reader.stateOf(DEVS[0] as string)).toEqual(stepped.stateOf(DEVS[0] as string));
    expect(reader.gatewaysOf(DEVS[1] as string)).toEqual(stepped.gatewaysOf(DEVS[1] as string));
    expect(reader.allGateways()).toEqual(stepped.allGateways());
    expect(() => reader.apply(recs)).toThrow(/reader/);
    let more = true;
    let steps = 0;
    let readings = 0;
    while (more && steps < 1000) {
      const step = stepped.pruneStep(now, { maxRows: 7, first: steps === 0, complete: true });
      expect(step.deleted).toBeLessThanOrEqual(7);
      readings += step.readings;
      more = step.more;
      steps++;
    }
    expect(steps).toBeGreaterThan(10);
    expect(gone).toBeGreaterThan(0);
    expect(readings).toBe(gone);
    expect(counts(stepped)).toEqual(counts(whole));
    expect(counts(reader)).toEqual(counts(whole));
    expect(counts(whole)[1]).toBe(3 * FRAMES);
    for (const s of [whole, stepped, reader]) s.close();
  });

  it('bounds a pruning by what it deletes: devices are visited only beyond N + slack frames, readings go by age without visits, and a reopen finds the same', () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-store-prune-index-'));
    dirs.push(dir);
    const file = join(dir, 'store.sqlite');
    const dev = { name: 'd', tags: {} };
    const reading = (i: number) => ({ model: 'dingtek/df703', readings: [{ values: { fill_pct: i % 100 } }], warnings: [], errors: [], by: 'codec' as const });
    const SLACK = 2;
    const opts = { ...options(file), frameSlack: SLACK };
    // 3,000 devices with FRAMES + SLACK frames each (at the threshold, not beyond it): more
    // devices than one step may visit (500), and nothing the periodic pruning has to do.
    const many = Array.from({ length: 3000 }, (_, i) => `70b3d5e75f${i.toString(16).padStart(6, '0')}`);
    let id = 0;
    let store = new LocalStore(opts);
    const recs: { id: number; value: PipelineRecord }[] = [];
    for (let k = 0; k < FRAMES + SLACK; k++) for (const [i, d] of many.entries()) recs.push({ id: ++id, value: uplinkRecord(d, dev, { id: `u${id}`, time: T0 + k * 1000 + i, decoded: reading(i) }) });
    store.apply(recs);
    const now = T0 + DAY;
    expect(store.framePruneBacklog).toBe(0);
    expect(store.pruneStep(now, { maxRows: 5000, first: true })).toEqual({ deleted: 0, readings: 0, devices: 0, more: false });
    // A backlog delivered late: 10 readings older than the history window on one device, and
    // one device with a frame beyond the threshold. The next pruning visits that one device.
    const old = many[700] as string;
    const chatty = many[1100] as string;
    const late: { id: number; value: PipelineRecord }[] = [];
    for (let k = 0; k < 10; k++) late.push({ id: ++id, value: uplinkRecord(old, dev, { id: `u${id}`, time: now - (HISTORY_DAYS + 1) * DAY + k, decoded: reading(k) }) });
    late.push({ id: ++id, value: uplinkRecord(chatty, dev, { id: `u${id}`, time: T0 + 100_000, decoded: reading(1) }) });
    store.apply(late);
    expect(store.framePruneBacklog).toBe(2); // `old` got 10 frames too
    store.close();
    // Reopened: the writer rebuilds which devices are due from the file.
    store = new LocalStore(opts);
    expect(store.framePruneBacklog).toBe(2);
    // Steps of 4 rows: readings first, oldest first (10 → 4 + 4 + 2), then the two devices' frames.
    const steps = [];
    for (let more = true, n = 0; more && n < 20; n++) {
      const step = store.pruneStep(now, { maxRows: 4, first: n === 0 });
      expect(step.deleted).toBeLessThanOrEqual(4);
      steps.push(step);
      more = step.more;
    }
    expect(steps.map((s) => s.readings).slice(0, 3)).toEqual([4, 4, 2]);
    expect(steps.length).toBe(Math.ceil((10 + 12 + 3) / 4));
    expect(steps.reduce((n, s) => n + s.readings, 0)).toBe(10);
    // `old`: 6 + 10 frames → 4 (12 deleted); `chatty`: 7 → 4 (3 deleted).
    expect(steps.reduce((n, s) => n + s.deleted - s.readings, 0)).toBe(12 + 3);
    expect(steps.reduce((n, s) => n + s.devices, 0)).toBe(2);
    expect(store.frames(chatty, 100)).toHaveLength(FRAMES);
    expect(store.frames(old, 100)).toHaveLength(FRAMES);
    expect(store.readings(old, 0, now, 100)).toHaveLength(FRAMES + SLACK);
    expect(store.framePruneBacklog).toBe(0);
    expect(store.pruneStep(now, { maxRows: 5000, first: true })).toEqual({ deleted: 0, readings: 0, devices: 0, more: false });
    // The complete pruning (tests, tools) takes every device beyond N: all 3,000, in steps of
    // at most 500 devices.
    const full: { devices: number }[] = [];
    for (let more = true, n = 0; more && n < 100; n++) {
      const step = store.pruneStep(now, { maxRows: 100_000, first: n === 0, complete: true });
      full.push(step);
      more = step.more;
    }
    expect(full.every((s) => s.devices <= 500)).toBe(true);
    expect(full.reduce((n, s) => n + s.devices, 0)).toBe(2998);
    expect((store.db.prepare('SELECT count(*) AS n FROM frames').get() as { n: number }).n).toBe(3000 * FRAMES);
    store.close();
  });

  it('estimates the reporting interval, leaving out missed uplinks', () => {
    let i: number | null = null;
    for (const gap of [600, 600, 1200, 600, 1300, 610]) i = nextInterval(i, gap);
    expect(i).toBeGreaterThan(590);
    expect(i).toBeLessThan(620);
  });
});
