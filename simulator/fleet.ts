/**
 * Fleet files (YAML): which devices a simulated city has, how they report, where they stand,
 * and which gateways hear them. A fleet expands deterministically (per seed) into concrete
 * devices with EUIs, keys, positions, installation variables and tags.
 *
 * ```yaml
 * name: demo
 * seed: 1                         # default seed (the CLI's --seed wins)
 * start: 2026-11-23T00:00:00Z     # simulated start time
 * utcOffsetHours: 1               # local time of the city (daily profiles)
 * gateways:
 *   - {id: 0016c001f1530001, name: gw-town-hall, lat: 52.0908, lon: 5.1222, alt: 30}
 * faults:                         # optional, probabilities per uplink (see faults.ts)
 *   loss: 0.01
 *   gatewayOutages: [{gateway: gw-town-hall, start: 2h, duration: 30m}]
 * devices:
 *   - device: dingtek/df703       # catalogue id
 *     count: 4
 *     name: bin-centre-{n}        # {n} = 1-based index within the group
 *     activation: OTAA            # or ABP
 *     interval: 1800              # seconds; default: the catalogue's reportingInterval
 *     variables: {container_depth_mm: 1200, sensor_offset_mm: 50}
 *     tags: {commune: centre, site: town-hall}
 *     area: {lat: 52.09, lon: 5.12, radiusM: 800}
 * ```
 */
import { Ajv, type ErrorObject } from 'ajv';
import { parseYaml, readYamlFile, YamlError } from '../devices/safe-yaml.ts';
import type { FaultOptions } from './faults.ts';

export interface FleetGateway {
  id: string;
  name?: string;
  lat: number;
  lon: number;
  alt?: number;
}

export interface FleetGroup {
  device: string;
  count: number;
  name?: string;
  activation?: 'OTAA' | 'ABP';
  interval?: number;
  fPort?: number;
  variables?: Record<string, unknown>;
  tags?: Record<string, string>;
  area?: { lat: number; lon: number; radiusM: number };
  devEuiPrefix?: string;
}

export interface Fleet {
  name: string;
  seed?: number;
  start?: string;
  utcOffsetHours?: number;
  gateways: FleetGateway[];
  devices: FleetGroup[];
  /** Fault injection defaults (see faults.ts); command-line flags override them. */
  faults?: FaultOptions;
}

const EUI = '^[0-9a-fA-F]{16}$';

export const FLEET_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'gateways', 'devices'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    seed: { type: 'integer', minimum: 0 },
    start: { type: 'string', format: 'date-time' },
    utcOffsetHours: { type: 'number', minimum: -12, maximum: 14 },
    gateways: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'lat', 'lon'],
        properties: {
          id: { type: 'string', pattern: EUI },
          name: { type: 'string' },
          lat: { type: 'number', minimum: -90, maximum: 90 },
          lon: { type: 'number', minimum: -180, maximum: 180 },
          alt: { type: 'number' },
        },
      },
    },
    faults: {
      type: 'object',
      additionalProperties: false,
      properties: {
        loss: { type: 'number', minimum: 0, maximum: 1 },
        corruptMic: { type: 'number', minimum: 0, maximum: 1 },
        duplicate: { type: 'number', minimum: 0, maximum: 1 },
        replay: { type: 'number', minimum: 0, maximum: 1 },
        fcntReset: { type: 'number', minimum: 0, maximum: 1 },
        gatewayOutages: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['gateway', 'start', 'duration'],
            properties: { gateway: { type: 'string' }, start: { type: ['string', 'number'] }, duration: { type: ['string', 'number'] } },
          },
        },
      },
    },
    devices: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['device', 'count'],
        properties: {
          device: { type: 'string', pattern: '^[a-z0-9-]+/[a-z0-9-]+$' },
          count: { type: 'integer', minimum: 1, maximum: 1_000_000 },
          name: { type: 'string', minLength: 1 },
          activation: { enum: ['OTAA', 'ABP'] },
          interval: { type: 'number', exclusiveMinimum: 0 },
          fPort: { type: 'integer', minimum: 1, maximum: 223 },
          variables: { type: 'object' },
          tags: { type: 'object', additionalProperties: { type: 'string' } },
          area: {
            type: 'object',
            additionalProperties: false,
            required: ['lat', 'lon', 'radiusM'],
            properties: { lat: { type: 'number' }, lon: { type: 'number' }, radiusM: { type: 'number', minimum: 0 } },
          },
          devEuiPrefix: { type: 'string', pattern: '^([0-9a-fA-F]{2}){1,6}$' },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^\d{4}-\d\d-\d\dT/.test(s));
const validateFleetSchema = ajv.compile(FLEET_SCHEMA);

export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.join('; ')}`);
  }
}

function describeError(e: ErrorObject): string {
  const path = e.instancePath
    .replace(/^\//, '')
    .replace(/\/(\d+)/g, '[$1]')
    .replace(/\//g, '.');
  if (e.keyword === 'required') return `${path ? `${path}.` : ''}${(e.params as { missingProperty: string }).missingProperty}: is required`;
  if (e.keyword === 'additionalProperties') return `${path ? `${path}.` : ''}${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
  return `${path || '(root)'}: ${e.message ?? e.keyword}`;
}

/** Parses and validates a fleet; problems name the key (e.g. `devices[2].count: must be >= 1`). */
export function parseFleet(text: string, file = 'fleet'): Fleet {
  let doc: unknown;
  try {
    doc = parseYaml(text, file, FLEET_LIMITS);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new FleetError(file, [err.detail]);
  }
  return checkFleet(doc, file);
}

/** A fleet of a few hundred groups is a few tens of KB; an alias bomb is refused before Ajv walks it. */
const FLEET_LIMITS = { maxBytes: 4 * 1024 * 1024, maxNodes: 200_000 };

function checkFleet(doc: unknown, file: string): Fleet {
  // YAML 1.1 timestamps (`start: 2026-11-23T00:00:00Z` unquoted) load as Date objects.
  if (doc && typeof doc === 'object') {
    const d = doc as { start?: unknown; faults?: { gatewayOutages?: unknown } };
    if (d.start instanceof Date) d.start = d.start.toISOString();
    const outages = d.faults?.gatewayOutages;
    if (Array.isArray(outages)) {
      for (const o of outages as { start?: unknown }[]) if (o && o.start instanceof Date) o.start = o.start.toISOString();
    }
  }
  if (!validateFleetSchema(doc)) throw new FleetError(file, (validateFleetSchema.errors ?? []).map(describeError));
  const fleet = doc as Fleet;
  const ids = new Set<string>();
  const problems: string[] = [];
  fleet.gateways.forEach((g, i) => {
    if (ids.has(g.id.toLowerCase())) problems.push(`gateways[${i}].id: duplicate gateway id ${g.id}`);
    ids.add(g.id.toLowerCase());
  });
  if (problems.length) throw new FleetError(file, problems);
  return fleet;
}

export function loadFleet(path: string): Fleet {
  let doc: unknown;
  try {
    doc = readYamlFile(path, FLEET_LIMITS);
  } catch (err) {
    if (!(err instanceof YamlError)) throw err;
    throw new FleetError(path, [err.code === 'YAML_UNREADABLE' ? `cannot read: ${err.detail}` : err.detail]);
  }
  return checkFleet(doc, path);
}
