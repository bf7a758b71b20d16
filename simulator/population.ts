/**
 * Expands a fleet file into concrete simulated devices: EUIs, names, keys (random per seed),
 * positions, installation variables, tags, the catalogue entry and codec, the behaviour model of
 * its category, and the gateways that can hear it (with the spreading factor ADR would pick).
 */
import { checkVariables, declaredVariables } from '../devices/variables.ts';
import type { Category, Codec } from '../codecs/api.ts';
import type { DeviceEntry } from '../devices/catalogue.ts';
import type { Fleet, FleetGateway } from './fleet.ts';
import { AirQualityModel } from './models/air-quality.ts';
import { BinFillModel } from './models/bin-fill.ts';
import type { BehaviourModel } from './models/model.ts';
import { RiverLevelModel } from './models/river-level.ts';
import { WaterMeterModel } from './models/water-meter.ts';
import { chooseSpreadingFactor, distanceM, randomPosition, type Position } from './radio.ts';
import { devEuiCollisionRisk, simulatedDevEui } from './dev-eui.ts';
import { Rng } from './rng.ts';

export interface OtaaKeys {
  activation: 'OTAA';
  joinEui: string;
  appKey: string;
}

export interface AbpKeys {
  activation: 'ABP';
  devAddr: string;
  nwkSKey: string;
  appSKey: string;
}

export interface SimDevice {
  index: number;
  devEui: string;
  name: string;
  catalogueId: string;
  category: Category;
  codec: Codec;
  fPort: number;
  intervalS: number;
  variables: Record<string, unknown>;
  tags: Record<string, string>;
  position: Position;
  keys: OtaaKeys | AbpKeys;
  /** Distance in metres to each fleet gateway, in fleet order. */
  gatewayDistances: number[];
  spreadingFactor: number;
  model: BehaviourModel;
  rng: Rng;
}

export interface Population {
  devices: SimDevice[];
  gateways: FleetGateway[];
  startMs: number;
  /** Why this fleet's DevEUIs could collide with another seed's (or repeat), one line each. */
  warnings: string[];
}

export type CodecResolver = (entry: DeviceEntry) => Codec;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A distance sensor installed as a river level station (see devices/README.md). */
export function isRiverStation(variables: Record<string, unknown>): boolean {
  const mount = variables['mount_height_mm'];
  return typeof mount === 'number' && Number.isFinite(mount) && mount > 0;
}

function modelFor(category: Category, rng: Rng, variables: Record<string, unknown>, utcOffsetHours: number, startMs: number): BehaviourModel {
  switch (category) {
    case 'bin-fill':
      // The same distance sensor, installed over a river (a mount height above the gauge datum).
      if (isRiverStation(variables)) return new RiverLevelModel(rng, { variables, startMs });
      return new BinFillModel(rng, { variables, utcOffsetHours, startMs });
    case 'water-meter':
      return new WaterMeterModel(rng, { utcOffsetHours, startMs });
    case 'air-quality':
    case 'generic':
      return new AirQualityModel(rng, { utcOffsetHours, startMs });
  }
}

export interface ExpandOptions {
  seed?: number;
  /** Catalogue lookup; throws for unknown ids so the fleet error names the group. */
  lookup: (id: string) => { entry: DeviceEntry; codec: Codec } | undefined;
}

const DEFAULT_EUI_PREFIX = '70b3d5';

export function expandFleet(fleet: Fleet, options: ExpandOptions): Population {
  const seed = options.seed ?? fleet.seed ?? 1;
  const root = new Rng(seed);
  const startMs = fleet.start ? Date.parse(fleet.start) : Date.UTC(2026, 0, 1);
  const utc = fleet.utcOffsetHours ?? 0;
  const devices: SimDevice[] = [];
  const usedEui = new Set<string>();
  const usedAddr = new Set<string>();
  fleet.devices.forEach((group, gi) => {
    const found = options.lookup(group.device);
    if (!found) throw new Error(`devices[${gi}].device: unknown catalogue id "${group.device}" (run "lorawan-edge devices")`);
    const { entry, codec } = found;
    // A fleet is written by a person: an unknown or mistyped variable is an error, like `--var`.
    const checked = checkVariables(group.variables ?? {}, declaredVariables(entry), 'write', entry.id);
    if (checked.problems.length) throw new Error(checked.problems.map((p) => `devices[${gi}].variables.${p.name}: ${p.message}`).join('; '));
    const fPort = group.fPort ?? entry.fPorts[0] ?? 1;
    const groupRng = root.fork(`group-${gi}`);
    const centre = group.area ?? { lat: fleet.gateways[0]?.lat ?? 0, lon: fleet.gateways[0]?.lon ?? 0, radiusM: 1000 };
    for (let n = 1; n <= group.count; n++) {
      const rng = groupRng.fork(`dev-${n}`);
      // Derived from (seed, index), not drawn: other seeds of this fleet never share it.
      const prefix = group.devEuiPrefix ?? DEFAULT_EUI_PREFIX;
      let devEui = simulatedDevEui(prefix, seed, devices.length);
      // Only when the prefix leaves too few bits (warned below): draw until unused.
      for (let tries = 0; usedEui.has(devEui) && tries < 1000; tries++) devEui = (prefix + hex(rng.bytes(8))).slice(0, 16);
      if (usedEui.has(devEui)) throw new Error(`devices[${gi}]: no unused DevEUI left under prefix ${prefix}`);
      usedEui.add(devEui);
      const activation = group.activation ?? 'OTAA';
      let keys: OtaaKeys | AbpKeys;
      if (activation === 'OTAA') {
        keys = { activation, joinEui: '70b3d57ed0000000', appKey: hex(rng.bytes(16)) };
      } else {
        let devAddr: string;
        do devAddr = `26${hex(rng.bytes(3))}`; // NetID 0x13 style prefix (TTN 0x26…), unique per fleet
        while (usedAddr.has(devAddr));
        usedAddr.add(devAddr);
        keys = { activation, devAddr, nwkSKey: hex(rng.bytes(16)), appSKey: hex(rng.bytes(16)) };
      }
      const position = randomPosition(rng, centre, 'radiusM' in centre ? centre.radiusM : 1000);
      const gatewayDistances = fleet.gateways.map((g) => Math.round(distanceM(position, g)));
      const variables = { ...defaultsOf(entry), ...checked.values };
      devices.push({
        index: devices.length,
        devEui,
        name: (group.name ?? `${entry.id.split('/')[1] ?? 'device'}-{n}`).replace('{n}', String(n)),
        catalogueId: entry.id,
        category: entry.category,
        codec,
        fPort,
        intervalS: group.interval ?? entry.reportingInterval,
        variables,
        tags: { ...(group.tags ?? {}) },
        position,
        keys,
        gatewayDistances,
        spreadingFactor: chooseSpreadingFactor(gatewayDistances),
        model: modelFor(entry.category, rng.fork('model'), variables, utc, startMs),
        rng,
      });
    }
  });
  const warnings: string[] = [];
  const total = fleet.devices.reduce((n, g) => n + g.count, 0);
  for (const prefix of new Set(fleet.devices.map((g) => g.devEuiPrefix ?? DEFAULT_EUI_PREFIX))) {
    const risk = devEuiCollisionRisk(prefix, seed, total);
    if (risk) warnings.push(risk);
  }
  return { devices, gateways: fleet.gateways, startMs, warnings };
}

function defaultsOf(entry: DeviceEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry.variables ?? {})) if (v.default !== undefined) out[k] = v.default;
  return out;
}
