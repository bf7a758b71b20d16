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

/**
 * A real slice of the city fleet (simulator/fleets/city.yaml): all 12 gateways, every device
 * group with 1/`divisor` of its devices (at least one; OTAA as in the file). Divisor 1 is the
 * whole fleet.
 */
export async function citySlice(divisor: number): Promise<{ fleet: Fleet; lookup: DeviceLookup }> {
  const city = loadFleet(CITY_FLEET);
  const fleet = { ...city, devices: city.devices.map((g) => ({ ...g, count: Math.max(1, Math.ceil(g.count / divisor)) })) };
  return { fleet, lookup: (await lookupForFleet(fleet)).lookup };
}
