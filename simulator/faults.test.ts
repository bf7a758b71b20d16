import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, parseInstant } from './duration.ts';
import { FaultSpecError, mergeFaults, parseOutageSpec, parseProbability, resolveOutages } from './faults.ts';
import { FleetError, parseFleet } from './fleet.ts';

const GATEWAYS = [
  { id: '0016C001F1530001', name: 'gw-town-hall', lat: 52, lon: 5 },
  { id: '0016c001f1530002', name: 'gw-station', lat: 52, lon: 5 },
];
const START = Date.UTC(2026, 10, 23);

describe('durations', () => {
  it('parses units, combinations and bare seconds; rejects the rest', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('2.5')).toBe(2_500);
    for (const bad of ['', 'h', '1x', '1h 30m', '-1s', 'soon']) expect(parseDuration(bad)).toBeUndefined();
    expect(formatDuration(93_784_000)).toBe('1d 2h');
    expect(formatDuration(850)).toBe('850ms');
  });

  it('instants are durations after the start or ISO times', () => {
    expect(parseInstant('2h', START)).toBe(START + 7_200_000);
    expect(parseInstant('2026-11-23T05:00:00Z', START)).toBe(START + 5 * 3_600_000);
    expect(parseInstant('tomorrow', START)).toBeUndefined();
  });
});

describe('fault settings', () => {
  it('probabilities: fractions or percentages, never above 1', () => {
    expect(parseProbability('0.05')).toBe(0.05);
    expect(parseProbability('5%')).toBeCloseTo(0.05);
    expect(parseProbability('0')).toBe(0);
    expect(() => parseProbability('5')).toThrow(/5%/);
    expect(() => parseProbability('-1')).toThrow(FaultSpecError);
    expect(() => parseProbability('lots')).toThrow(FaultSpecError);
  });

  it('outage specs name the gateway by id or name and resolve against the start', () => {
    const spec = parseOutageSpec('gw-station@2h+30m');
    expect(spec).toEqual({ gateway: 'gw-station', start: '2h', duration: '30m' });
    const iso = parseOutageSpec('0016c001f1530001@2026-11-23T01:00:00+01:00+1h');
    expect(iso.start).toBe('2026-11-23T01:00:00+01:00');
    const [a, b] = resolveOutages([spec, iso], GATEWAYS, START);
    expect(a).toEqual({ gatewayIndex: 1, gatewayId: '0016c001f1530002', startMs: START + 7_200_000, endMs: START + 9_000_000 });
    expect(b).toEqual({ gatewayIndex: 0, gatewayId: '0016c001f1530001', startMs: START, endMs: START + 3_600_000 });
    expect(() => parseOutageSpec('gw-station')).toThrow(/<gateway>@<start>\+<duration>/);
    expect(() => parseOutageSpec('gw@2h+soon')).toThrow(/not a duration/);
    expect(() => resolveOutages([{ gateway: 'nope', start: '1h', duration: '1h' }], GATEWAYS, START)).toThrow(/no gateway with id or name "nope"/);
    expect(() => resolveOutages([{ gateway: 'gw-station', start: 'later', duration: '1h' }], GATEWAYS, START)).toThrow(/start "later"/);
  });

  it('explicit settings override the fleet file, outages add up', () => {
    const merged = mergeFaults(
      { loss: 0.1, replay: 0.2, gatewayOutages: [{ gateway: 'gw-station', start: 0, duration: 60 }] },
      { loss: 0, gatewayOutages: [{ gateway: 'gw-town-hall', start: '1h', duration: '1h' }] },
    );
    expect(merged).toMatchObject({ loss: 0, replay: 0.2, corruptMic: 0, duplicate: 0, fcntReset: 0 });
    expect(merged.gatewayOutages).toHaveLength(2);
  });
});

describe('faults in the fleet file', () => {
  const base = `name: f
start: 2026-11-23T00:00:00Z
gateways: [{id: 0016c001f1530001, name: gw-a, lat: 52, lon: 5}]
devices: [{device: dingtek/df703, count: 1}]
`;
  it('are read with unquoted times, and unknown keys are named', () => {
    const fleet = parseFleet(`${base}faults:\n  loss: 0.02\n  gatewayOutages:\n    - {gateway: gw-a, start: 2026-11-23T02:00:00Z, duration: 30m}\n    - {gateway: gw-a, start: 3600, duration: 600}\n`);
    expect(fleet.start).toBe('2026-11-23T00:00:00.000Z');
    expect(fleet.faults?.loss).toBe(0.02);
    const [a, b] = resolveOutages(fleet.faults?.gatewayOutages ?? [], fleet.gateways, Date.parse(fleet.start as string));
    expect(a?.startMs).toBe(START + 2 * 3_600_000);
    expect(b).toMatchObject({ startMs: START + 3_600_000, endMs: START + 4_200_000 });
    expect(() => parseFleet(`${base}faults: {lost: 0.1}\n`)).toThrow(FleetError);
    expect(() => parseFleet(`${base}faults: {lost: 0.1}\n`)).toThrow(/faults.lost: unknown key/);
    expect(() => parseFleet(`${base}faults: {loss: 2}\n`)).toThrow(/faults.loss: must be <= 1/);
  });
});
