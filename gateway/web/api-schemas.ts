/**
 * JSON Schemas (draft 2020-12 subset, as ajv checks them) of the read API's responses: the
 * contract the pages and any other client rely on. The tests validate every response against
 * them; gateway/web/README.md shows examples.
 */
const num = { type: 'number' } as const;
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;
const nullable = (s: object): object => ({ anyOf: [s, { type: 'null' }] });
const value = { type: ['number', 'boolean', 'string'] } as const;
const obj = (properties: Record<string, object>, extra = false): object => ({ type: 'object', required: Object.keys(properties), properties, additionalProperties: extra });

export const errorSchema = obj({ error: obj({ code: str, message: str }) });

export const deviceSummarySchema = obj({
  devEui: { type: 'string', pattern: '^[0-9a-f]{16}$' },
  name: str,
  model: nullable(str),
  category: nullable(str),
  commune: nullable(str),
  lat: nullable(num),
  lon: nullable(num),
  registered: { type: 'boolean' },
  state: { enum: ['reporting', 'silent', 'never_joined'] },
  lastSeen: nullable(int),
  intervalMs: nullable(int),
  gatewayCount: nullable(int),
  bestRssi: nullable(num),
  bestSnr: nullable(num),
  batteryPct: nullable(num),
  uplinks: int,
  readings: { type: 'object', additionalProperties: value },
});

export const alarmSchema = obj({ id: int, devEui: str, kind: str, raisedAt: int, lastAt: int, clearedAt: nullable(int), ackedAt: nullable(int), ackedBy: nullable(str) });
const alarmWithDevice = obj({ ...(alarmSchema as { properties: Record<string, object> }).properties, device: nullable(str) });

const gatewayHeard = obj({ id: str, rssi: num, snr: num });
const reading = obj({ time: int, values: { type: 'object', additionalProperties: value } });

export const frameSchema = obj({
  logId: int,
  id: str,
  time: int,
  rxAt: int,
  fCnt: int,
  fPort: int,
  dr: int,
  sf: nullable(int),
  frequency: nullable(int),
  payloadHex: { type: 'string', pattern: '^([0-9a-f]{2})*$' },
  gateways: { type: 'array', items: gatewayHeard },
  model: nullable(str),
  readings: { type: 'array', items: reading },
  warnings: { type: 'array', items: str },
  errors: { type: 'array', items: str },
});

const countRow = obj({ key: nullable(str), reporting: int, silent: int, never_joined: int, total: int });

export const schemas = {
  session: obj({ gateway: str, who: str, csrfToken: str, communeTag: str, map: obj({ tiles: nullable(str), attribution: str }) }),
  devices: obj({ now: int, total: int, limit: int, offset: int, devices: { type: 'array', items: deviceSummarySchema } }),
  device: obj({
    now: int,
    device: deviceSummarySchema,
    state: nullable(
      obj({
        firstSeen: int,
        lastSeen: int,
        lastUplink: nullable(int),
        lastRxAt: nullable(int),
        devAddr: nullable(str),
        fCnt: nullable(int),
        fPort: nullable(int),
        dr: nullable(int),
        sf: nullable(int),
        frequency: nullable(int),
        gatewayCount: nullable(int),
        bestRssi: nullable(num),
        bestSnr: nullable(num),
        bestGateway: nullable(str),
        uplinks: int,
        decodeErrors: int,
        joinedAt: nullable(int),
        joins: int,
        statusAt: nullable(int),
        batteryPct: nullable(num),
        marginDb: nullable(num),
        externalPower: nullable({ type: 'boolean' }),
        intervalMs: nullable(int),
        readings: { type: 'object', additionalProperties: obj({ value, time: int }) },
        warnings: { type: 'array', items: str },
        errors: { type: 'array', items: str },
      }),
    ),
    gateways: { type: 'array', items: obj({ id: str, lastSeen: int, rssi: num, snr: num, uplinks: int }) },
    verdict: obj({ level: { enum: ['good', 'weak', 'not_heard', 'never_heard'] }, text: str, marginDb: nullable(num) }),
    alarms: { type: 'array', items: alarmSchema },
  }),
  frames: obj({ devEui: str, frames: { type: 'array', items: frameSchema } }),
  readings: obj({ devEui: str, since: int, readings: { type: 'array', items: reading } }),
  alarms: obj({ alarms: { type: 'array', items: alarmWithDevice } }),
  acknowledged: obj({ alarm: alarmSchema }),
  overview: obj({
    now: int,
    devices: obj({ total: int, reporting: int, silent: int, never_joined: int }),
    byCategory: { type: 'array', items: countRow },
    byCommune: { type: 'array', items: obj({ ...(countRow as { properties: Record<string, object> }).properties, openAlarms: int }) },
    alarms: obj({ open: int, active: int }),
    gateways: {
      type: 'array',
      items: obj({
        id: str,
        lastSeen: int,
        uplinks: int,
        devices: int,
        stat: nullable({ type: 'object', required: ['time'], properties: { time: int, rxnb: int, rxok: int, rxfw: int, ackr: num, dwnb: int, txnb: int, lat: num, lon: num, alt: num }, additionalProperties: false }),
      }),
    },
    openAlarms: { type: 'array', items: alarmWithDevice },
    health: obj({
      components: { type: 'array', items: obj({ name: str, kind: str, state: str, detail: nullable(str) }) },
      sinks: { type: 'array', items: obj({ name: str, lag: num, errors: num }) },
    }),
  }),
  planner: obj({
    now: int,
    date: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
    communes: { type: 'array', items: str },
    states: obj({ ok: int, collect_soon: int, full: int, overfull: int, fault: int, offline: int }),
    list: plannerListSchema(),
  }),
  error: errorSchema,
} as const;

/** The collection list (gateway/analytics/collection-list.ts) as the planner API returns it. */
function plannerListSchema(): object {
  const state = { enum: ['ok', 'collect_soon', 'full', 'overfull', 'fault', 'offline'] };
  const opt = (p: Record<string, object>, required: string[]): object => ({ type: 'object', required, properties: p, additionalProperties: false });
  const entry = opt({ devEui: str, name: str, site: str, state, fillPct: num, expectedFillPct: num, fillAtNextRoundPct: num, reason: str }, ['devEui', 'name', 'state', 'reason']);
  return obj({
    roundMs: int,
    nextRoundMs: int,
    thresholdPct: num,
    groupBy: str,
    groups: { type: 'array', items: obj({ key: str, bins: { type: 'array', items: entry } }) },
    check: { type: 'array', items: entry },
    skipped: { type: 'array', items: obj({ devEui: str, name: str, roundMs: int, detail: str }) },
    total: int,
  });
}
