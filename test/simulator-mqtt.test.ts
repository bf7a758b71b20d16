/**
 * The simulator as ChirpStack v4's MQTT integration, against a real Mosquitto: the events
 * parse with the ChirpStack definitions (JSON and protobuf), their data decodes to the ledger's
 * readings, every heard ledger line arrives exactly once, and each OTAA device's join is
 * announced.
 */
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventJson, parseEventProtobuf, parseEventTopic, type JoinEvent, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import type { LedgerEntry } from '../simulator/ledger.ts';
import { createSimulation } from '../simulator/simulation.ts';
import { demoFleet } from '../simulator/testing/fleets.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

let broker: MosquittoServer;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(async () => {
  await broker?.dispose();
});

interface Received {
  topic: string;
  payload: Buffer;
}

async function subscribe(url: string, topic: string): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = connect(url, { clientId: `sim-test-${process.pid}-${Math.random().toString(36).slice(2)}`, clean: true });
  const messages: Received[] = [];
  client.on('message', (t, payload) => messages.push({ topic: t, payload }));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(err) : resolve())));
    client.once('error', reject);
  });
  return { client, messages };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

describe.each(['chirpstack-json', 'chirpstack-protobuf'] as const)('simulator → ChirpStack MQTT (%s)', (format) => {
  it('publishes up and join events exactly as the ledger says', async () => {
    const { fleet, lookup } = await demoFleet();
    const applicationId = format === 'chirpstack-json' ? '795179d5-60fa-43b6-b34b-56c1ad33a55c' : undefined;
    const sub = await subscribe(broker.url, 'application/+/device/+/event/+');
    const ledger: LedgerEntry[] = [];
    const sim = await createSimulation({
      fleet,
      lookup,
      seed: 9,
      speed: 'max',
      output: { type: 'mqtt', url: broker.url, format },
      faults: { duplicate: 0.05, replay: 0.05, corruptMic: 0.05 },
      onUplink: (e) => ledger.push(e),
      ...(applicationId ? { chirpstack: { applicationId } } : {}),
    });
    try {
      await sim.run({ count: 250, realTimeMs: 30_000 });
      const stats = await sim.stop();
      // What ChirpStack would publish: heard frames with a good MIC; a duplicate twice; a replay
      // republishes the original event (same deduplicationId).
      const published = (e: LedgerEntry): number =>
        e.gateways.length === 0 || e.faults.includes('corrupt-mic') ? 0 : e.faults.includes('duplicate') ? 2 : 1;
      const perId = new Map<string, number>();
      for (const e of ledger) perId.set(e.deduplicationId, (perId.get(e.deduplicationId) ?? 0) + published(e));
      const heard = ledger.filter((e) => published(e) > 0 && !e.faults.includes('replay'));
      const otaa = sim.devices.filter((d) => d.keys.activation === 'OTAA').length;
      const expectedMessages = [...perId.values()].reduce((a, b) => a + b, 0) + otaa;
      expect(ledger.filter((e) => e.faults.includes('replay') && published(e) > 0).length).toBeGreaterThan(0);
      expect(ledger.filter((e) => e.faults.includes('corrupt-mic')).length).toBeGreaterThan(0);
      await waitFor(() => sub.messages.length >= expectedMessages, 10_000);
      expect(sub.messages).toHaveLength(expectedMessages);
      expect(stats.output.counters['acked']).toBe(expectedMessages);

      const ups: UplinkEvent[] = [];
      const joins: JoinEvent[] = [];
      for (const m of sub.messages) {
        const topic = parseEventTopic(m.topic);
        expect(topic).toBeDefined();
        if (!topic) continue;
        const parsed = format === 'chirpstack-json' ? parseEventJson(topic.kind, m.payload) : parseEventProtobuf(topic.kind, m.payload);
        expect(parsed.ok, parsed.ok ? '' : parsed.error).toBe(true);
        if (!parsed.ok) continue;
        expect(parsed.event.deviceInfo.devEui).toBe(topic.devEui);
        expect(topic.applicationId).toBe(applicationId ?? sim.identity.applicationId);
        if (parsed.event.kind === 'up') ups.push(parsed.event);
        if (parsed.event.kind === 'join') joins.push(parsed.event);
      }
      expect(joins).toHaveLength(otaa);
      // Each heard uplink once (twice when duplicated), matched by deduplicationId.
      const byId = new Map<string, UplinkEvent[]>();
      for (const u of ups) byId.set(u.deduplicationId, [...(byId.get(u.deduplicationId) ?? []), u]);
      expect(byId.size).toBe([...perId.values()].filter((n) => n > 0).length);
      for (const [id, n] of perId) expect(byId.get(id)?.length ?? 0, id).toBe(n);
      for (const e of heard) {
        const got = byId.get(e.deduplicationId) ?? [];
        // Duplicates and replays are the same message again.
        for (const again of got) expect(again).toEqual(got[0]);
        const u = got[0] as UplinkEvent;
        expect(u).toMatchObject({ fCnt: e.fCnt, fPort: e.fPort, dr: e.dr, devAddr: e.devAddr, adr: true, regionConfigId: 'eu868', time: Date.parse(e.time) });
        expect(u.object).toBeUndefined();
        expect(u.deviceInfo).toMatchObject({ deviceName: e.device, deviceProfileName: e.catalogueId, tags: e.tags, applicationName: 'demo' });
        expect(u.txInfo).toMatchObject({ frequency: e.frequency, bandwidth: 125_000, codeRate: 'CR_4_5' });
        expect(u.rxInfo.map((r) => ({ id: r.gatewayId, rssi: r.rssi, snr: r.snr }))).toEqual(e.gateways);
        expect(u.rxInfo.every((r) => r.gwTime === u.time && (r.nsTime ?? 0) > u.time)).toBe(true);
        for (const r of u.rxInfo) expect(r.crcStatus).toBe('CRC_OK');
        // The data decodes to the ledger's readings.
        expect(Buffer.from(u.data).toString('hex')).toBe(e.payloadHex);
        const found = lookup(e.catalogueId);
        const recvTime = new Date(u.time);
        const dec = found?.codec.decodeUplink({ bytes: u.data, fPort: u.fPort, variables: e.variables, recvTime });
        expect(found?.codec.normalizeUplink(dec?.data ?? {}, { variables: e.variables, recvTime }).readings).toEqual(e.readings);
      }
    } finally {
      await sim.stop();
      await new Promise<void>((resolve) => sub.client.end(false, {}, () => resolve()));
    }
  });
});
