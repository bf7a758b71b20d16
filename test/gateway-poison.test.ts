/**
 * Poison messages, one per pipeline stage, through real Mosquitto into real InfluxDB 1.6: each
 * bad message is followed by valid uplinks, which must all arrive, while the bad one is counted
 * once under its reason (and, where the gateway rejects it, kept in the rejects file, bounded)
 * and the MQTT connection is never dropped for it (no reconnect, so nothing is redelivered).
 *
 *   parse      malformed JSON, malformed protobuf                 → rejected (malformed_*)
 *   decode     a frame the device's codec cannot decode           → stored raw, decode_errors
 *   normalize  a frame that decodes to settings, no reading       → stored, undecoded codec_error
 *   encode     a ChirpStack `object` nested 2,500 arrays deep      → rejected alone (too_deep)
 *   append     a record larger than buffer.max_record_bytes         → rejected alone (record_too_large)
 *   schema     a time InfluxDB cannot store (year 2300)             → dead-lettered by the sink
 *   (size)     a 3 MB payload, above max_payload_bytes              → rejected, only a prefix kept
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeCodec } from '../codecs/registry.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { eventToJson, eventToProtobuf, eventTopic, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import { chirpstackUplink, waitFor } from '../support/gateway-kit.ts';
import type { InfluxdServer } from '../support/influxd.ts';
import { startGatewayRig, type GatewayRig } from './gateway-rig.ts';

let rig: GatewayRig;
let influx: InfluxdServer;
let dir: string;
let gateway: Gateway;
let logLines: string[];

const T0 = Date.UTC(2026, 10, 21, 8, 0, 0);
const BIN = { dev_eui: '70b3d5e75e000101', name: 'bin-p', model: 'dingtek/df703', tags: { commune: 'centre' }, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } };
const df703 = nativeCodec('dingtek/df703');

const uplink = (fCnt: number, data: Uint8Array, time: number): UplinkEvent =>
  chirpstackUplink({ devEui: BIN.dev_eui, name: BIN.name, fCnt, fPort: 3, data, time, deduplicationId: `poison-${fCnt}` });

function reading(distance: number): Uint8Array {
  const enc = df703?.encodeUplink({ readings: [{ values: { distance_mm: distance, temperature_c: 12 } }] });
  if (!enc?.bytes) throw new Error('df703 codec missing');
  return Uint8Array.from(enc.bytes);
}

beforeAll(async () => {
  rig = await startGatewayRig({ name: 'poison', database: 'poison', devices: [BIN], config: { buffer: { max_record_bytes: 16_384 } } });
  ({ influx, dir, gateway, logLines } = rig);
}, 120_000);

afterAll(async () => {
  await rig?.dispose();
});

describe('gateway: one poison message per stage never stops ingestion', () => {
  it('valid uplinks behind each poison message arrive; each poison message is counted once', async () => {
    const pub = await mqtt.connectAsync(rig.broker.url, { clientId: 'poison-publisher' });
    const topic = eventTopic(uplink(0, new Uint8Array(0), T0));
    let fCnt = 0;
    let valid = 0;
    const validTimes: number[] = [];
    const sendValid = async (n: number, bom = false): Promise<void> => {
      for (let k = 0; k < n; k++) {
        const ev = uplink(++fCnt, reading(200 + fCnt), T0 + fCnt * 60_000);
        validTimes.push(ev.time);
        valid++;
        const json = Buffer.from(eventToJson(ev));
        // JSON with a UTF-8 byte-order mark and protobuf are valid input too.
        const body = bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]) : k % 2 ? Buffer.from(eventToProtobuf(ev)) : json;
        await pub.publishAsync(topic, body, { qos: 1 });
      }
    };
    const deep = `${'['.repeat(2500)}1${']'.repeat(2500)}`;
    const withObject = (ev: UplinkEvent, objectJson: string): string => eventToJson(ev).replace(/}$/, `,"object":${objectJson}}`);

    await sendValid(3, true);
    await pub.publishAsync(topic, '{"deviceInfo": {"devEui": ', { qos: 1 }); // parse (JSON)
    await sendValid(3);
    await pub.publishAsync(topic, Buffer.from([0x0a, 0xff, 0xff, 0x03]), { qos: 1 }); // parse (protobuf)
    await sendValid(3);
    await pub.publishAsync(topic, eventToJson(uplink(++fCnt, Uint8Array.from([0x80, 0x00]), T0 + fCnt * 60_000)), { qos: 1 }); // decode
    await sendValid(3);
    const settings = Buffer.from('8000010319010418011e4b1e00000000000000000000000081', 'hex');
    await pub.publishAsync(topic, eventToJson(uplink(++fCnt, settings, T0 + fCnt * 60_000)), { qos: 1 }); // normalize
    await sendValid(3);
    await pub.publishAsync(topic, withObject(uplink(++fCnt, reading(999), T0 + fCnt * 60_000), `{"deep":${deep}}`), { qos: 1 }); // encode
    await sendValid(3);
    await pub.publishAsync(topic, withObject(uplink(++fCnt, reading(998), T0 + fCnt * 60_000), `{"note":"${'x'.repeat(30_000)}"}`), { qos: 1 }); // append
    await sendValid(3);
    const future = uplink(++fCnt, reading(997), Date.UTC(2300, 0, 1));
    await pub.publishAsync(topic, eventToJson(future), { qos: 1 }); // schema
    await sendValid(3);
    await pub.publishAsync(topic, Buffer.alloc(3_000_000, 0x7b), { qos: 1 }); // size
    await sendValid(3);
    await pub.endAsync();

    await waitFor(`${valid} valid readings in InfluxDB`, async () => (await influx.countPoints('bin_fill', 'poison')) >= valid);
    const rows = await influx.rows(`SELECT distance_mm FROM bin_fill WHERE dev_eui = '${BIN.dev_eui}'`, 'poison');
    // Exactly the valid ones (the decode/normalize/encode/append/schema ones have no reading there).
    expect(rows.map((r) => r['time']).sort()).toEqual([...validTimes].sort());

    const metrics = await gateway.metrics.registry.metrics();
    const value = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? '0');
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="malformed_json"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="malformed_protobuf"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_decode_errors_total\{model="dingtek\/df703"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_undecoded_total\{reason="codec_error"\} (\d+)/)).toBe(2); // decode + normalize
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="too_deep"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="record_too_large"\} (\d+)/)).toBe(1);
    expect(value(/lorawan_edge_uplinks_rejected_total\{reason="oversized"\} (\d+)/)).toBe(1);
    await waitFor('the schema poison dead-lettered', async () => Number(/lorawan_edge_sink_dead_lettered_total\{sink="influx"\} (\d+)/.exec(await gateway.metrics.registry.metrics())?.[1] ?? 0) >= 1);
    const deadLetters = readFileSync(join(dir, 'data', 'influx.dead-letter.jsonl'), 'utf8').trim().split('\n');
    expect(deadLetters.every((l) => l.includes('outside') && l.includes(BIN.dev_eui))).toBe(true);

    // Never a dropped connection: the source stayed connected, nothing was redelivered.
    expect(logLines.join('')).not.toMatch(/dropping the connection|reconnecting/);
    expect(value(/lorawan_edge_duplicates_total\{source="cs"\} (\d+)/)).toBe(0);
    expect(gateway.health()['source:cs']?.state).toBe('running');

    // The rejects file: every gateway-side rejection, with its reason; one bounded entry each.
    const lines = readFileSync(gateway.config.rejects.file, 'utf8').trim().split('\n');
    const rejects = lines.map((l) => JSON.parse(l) as { reason: string; detail: string; payloadBase64?: string; payloadBytes?: number; payloadTruncated?: boolean });
    expect(rejects.map((r) => r.reason).sort()).toEqual(['malformed_json', 'malformed_protobuf', 'oversized', 'record_too_large', 'too_deep']);
    for (const l of lines) expect(Buffer.byteLength(l)).toBeLessThanOrEqual(gateway.config.rejects.max_entry_bytes);
    const big = rejects.find((r) => r.reason === 'oversized');
    expect(big?.payloadBytes).toBe(3_000_000);
    expect(big?.payloadTruncated).toBe(true);
    expect(rejects.find((r) => r.reason === 'malformed_protobuf')?.detail).not.toContain('%s');
    const deepEntry = rejects.find((r) => r.reason === 'too_deep');
    expect(deepEntry?.detail).toMatch(/max_record_depth/);
    expect(Buffer.from(deepEntry?.payloadBase64 ?? '', 'base64').toString()).toContain('[[[[');
  }, 180_000);
});
