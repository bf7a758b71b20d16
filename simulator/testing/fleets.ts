/** Paths and a catalogue lookup shared by the simulator's tests. */
import { readdirSync } from 'node:fs';
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

/**
 * One fleet with every device type the project's fleet files use (simulator/fleets/*.yaml; each
 * type with the variables of its first group there), `count` devices per type and interval, in
 * the city's area and gateways. Short intervals put two reports into one clock hour and make
 * history restate instants often: what the ledger self-consistency check needs to bite.
 */
export async function everyFleetDeviceType(intervalsS: readonly number[], count: number): Promise<{ fleet: Fleet; lookup: DeviceLookup }> {
  const dir = join(PACKAGE_ROOT, 'simulator', 'fleets');
  const city = loadFleet(CITY_FLEET);
  const area = city.devices[0]?.area;
  const firstGroup = new Map<string, Fleet['devices'][number]>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const g of loadFleet(join(dir, file)).devices) if (!firstGroup.has(g.device)) firstGroup.set(g.device, g);
  }
  const devices = [...firstGroup.values()].flatMap((g) =>
    intervalsS.map((interval) => ({
      device: g.device,
      count,
      name: `${g.device.replace('/', '-')}-${interval}s-{n}`,
      activation: 'ABP' as const,
      interval,
      ...(g.variables ? { variables: g.variables } : {}),
      ...(area ? { area } : {}),
    })),
  );
  const fleet: Fleet = { ...city, name: 'every-device-type', devices };
  return { fleet, lookup: (await lookupForFleet(fleet)).lookup };
}
