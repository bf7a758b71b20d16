/** Paths and a catalogue lookup shared by the simulator's tests. */
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../codecs/package-root.ts';
import { lookupForFleet, type DeviceLookup } from '../lookup.ts';
import { loadFleet, type Fleet } from '../fleet.ts';

export const DEMO_FLEET = join(PACKAGE_ROOT, 'simulator', 'fleets', 'demo.yaml');
export const CITY_FLEET = join(PACKAGE_ROOT, 'simulator', 'fleets', 'city.yaml');

let demo: { fleet: Fleet; lookup: DeviceLookup } | undefined;

/** The demo fleet and its resolved catalogue lookup (loaded once per test file). */
export async function demoFleet(): Promise<{ fleet: Fleet; lookup: DeviceLookup }> {
  if (!demo) {
    const fleet = loadFleet(DEMO_FLEET);
    demo = { fleet, lookup: (await lookupForFleet(fleet)).lookup };
  }
  return demo;
}
