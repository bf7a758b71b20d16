/** Paths and a catalogue lookup shared by the simulator's tests. */
import { fileURLToPath } from 'node:url';
import { lookupForFleet, type DeviceLookup } from '../lookup.ts';
import { loadFleet, type Fleet } from '../fleet.ts';

export const DEMO_FLEET = fileURLToPath(new URL('../fleets/demo.yaml', import.meta.url));
export const CITY_FLEET = fileURLToPath(new URL('../fleets/city.yaml', import.meta.url));

let demo: { fleet: Fleet; lookup: DeviceLookup } | undefined;

/** The demo fleet and its resolved catalogue lookup (loaded once per test file). */
export async function demoFleet(): Promise<{ fleet: Fleet; lookup: DeviceLookup }> {
  if (!demo) {
    const fleet = loadFleet(DEMO_FLEET);
    demo = { fleet, lookup: (await lookupForFleet(fleet)).lookup };
  }
  return demo;
}
