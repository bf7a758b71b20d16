/**
 * A local store holding a small bin fleet whose answer is known, for the `collect` CLI and the
 * planner page tests: hourly fill readings over five days up to `now`, written through
 * LocalStore.apply() as the gateway writes them.
 *
 * - north-full     (north): 95 % now                              → listed, "full now"
 * - north-filling  (north): 10 %/day, 84 % now                    → listed, passes 90 % before the round after
 * - south-slow     (south): 4 %/day, 30 % now                     → not listed
 * - south-skipped  (south): full (≥ 90 %) since before yesterday's round, never emptied → listed and a skipped collection
 */
import { LocalStore } from './local-store.ts';
import { uplinkRecord } from '../../schema/testing.ts';

const H = 3_600_000;
const D = 24 * H;

export interface FixtureBin {
  devEui: string;
  name: string;
  commune: string;
  /** fill at time t (ms before now) */
  fill: (agoMs: number) => number;
}

export const FIXTURE_BINS: FixtureBin[] = [
  { devEui: '70b3d5e75e00a001', name: 'north-full', commune: 'north', fill: (ago) => Math.max(5, 95 - (ago / D) * 15) },
  { devEui: '70b3d5e75e00a002', name: 'north-filling', commune: 'north', fill: (ago) => Math.max(5, 84 - (ago / D) * 10) },
  { devEui: '70b3d5e75e00a003', name: 'south-slow', commune: 'south', fill: (ago) => Math.max(5, 30 - (ago / D) * 4) },
  { devEui: '70b3d5e75e00a004', name: 'south-skipped', commune: 'south', fill: (ago) => Math.min(97, Math.max(5, 97 - (ago / D - 2) * 20)) },
];

/** Writes the fleet's readings (hourly, five days up to `now`) into a store file. */
export function writeFixtureStore(file: string, now: number): void {
  const store = new LocalStore({ file, historyDays: 90, framesPerDevice: 5, communeTag: 'commune', locationTags: { lat: 'lat', lon: 'lon' } });
  try {
    store.syncRegistry(FIXTURE_BINS.map((b) => ({ dev_eui: b.devEui, name: b.name, model: 'dingtek/df703', category: 'bin-fill', tags: { commune: b.commune }, interval_s: 3600 })));
    let id = store.appliedId;
    const records = [];
    for (let ago = 5 * D; ago >= 0; ago -= H) {
      for (const b of FIXTURE_BINS) {
        const t = now - ago;
        const fill = Math.round(b.fill(ago) * 10) / 10;
        records.push({
          id: ++id,
          value: uplinkRecord(b.devEui, { name: b.name, model: 'dingtek/df703', category: 'bin-fill', tags: { commune: b.commune } }, {
            id: `${b.devEui}-${t}`,
            time: t,
            rxAt: t,
            fCnt: Math.round((5 * D - ago) / H),
            decoded: { model: 'dingtek/df703', readings: [{ values: { fill_pct: fill, distance_mm: Math.round(1000 - fill * 8) } }], warnings: [], errors: [], by: 'codec' },
          }),
        });
      }
    }
    store.apply(records);
  } finally {
    store.close();
  }
}
