/**
 * The MQTT source's message size bound through a real Mosquitto (whose default lets a client
 * publish up to 256 MB): a 64 MiB message, published by another process, is cut from the
 * gateway's connection before mqtt.js collects it — the gateway's memory never holds it (a
 * 150 MB one used to take it to 411 MB RSS) — counted as `oversized`, kept as a bounded head in
 * the rejects file, acknowledged; the valid uplink published right after it is stored, and
 * the connection is never dropped.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { nativeCodec } from '../codecs/registry.ts';
import { eventToJson, eventTopic } from '../lorawan/chirpstack/events.ts';
import { chirpstackUplink, waitFor } from '../support/gateway-kit.ts';
import { startMqttGatewayRig, type MqttGatewayRig } from './gateway-rig.ts';

const BIN = { dev_eui: '70b3d5e75e000201', name: 'bin-size', model: 'dingtek/df703', tags: {}, variables: { container_depth_mm: 1200, sensor_offset_mm: 50 } };
const BIG = 64 * 1024 * 1024;
const T0 = Date.UTC(2026, 11, 7, 8, 0, 0);


/** Publishes `bytes` bytes (`{"big":"xxx…`) at QoS 1 from a child process, so this process never holds them. */
function publishBigElsewhere(url: string, topic: string, bytes: number): Promise<void> {
  const script = `
    const mqtt = require('mqtt');
    const c = mqtt.connect(${JSON.stringify(url)}, { clientId: 'size-publisher' });
    c.on('connect', () => {
      const p = Buffer.alloc(${bytes}, 0x78);
      p.write('{"big":"', 0);
      c.publish(${JSON.stringify(topic)}, p, { qos: 1 }, (err) => { if (err) { console.error(err.message); process.exit(1); } c.end(false, {}, () => process.exit(0)); });
    });
    c.on('error', (e) => { console.error(e.message); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`publisher exited ${code}: ${err}`));
    });
  });
}

describe.each([4, 5] as const)('MQTT source: message size bound (MQTT %s)', (version) => {
  let rig: MqttGatewayRig;

  beforeAll(async () => {
    rig = await startMqttGatewayRig({ name: `size${version}`, devices: [BIN], source: { max_payload_bytes: 4096, protocol_version: version }, sinks: [{ type: 'file', name: 'file' }] });
  }, 120_000);

  afterAll(async () => {
    await rig?.dispose();
  });

  it('a 64 MiB message is cut before it is read whole, counted, kept as a head; the next message arrives', async () => {
    const df703 = nativeCodec('dingtek/df703');
    const enc = df703?.encodeUplink({ readings: [{ values: { distance_mm: 321, temperature_c: 12 } }] });
    if (!enc?.bytes) throw new Error('df703 codec missing');
    const valid = chirpstackUplink({ devEui: BIN.dev_eui, name: BIN.name, fCnt: 1, fPort: 3, data: Uint8Array.from(enc.bytes), time: T0 });
    const topic = eventTopic(valid);

    // What this process holds while the message passes: Buffers (arrayBuffers) and the heap.
    const base = process.memoryUsage();
    let peak = 0;
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peak = Math.max(peak, m.arrayBuffers - base.arrayBuffers + Math.max(0, m.heapUsed - base.heapUsed));
    }, 5);
    try {
      await publishBigElsewhere(rig.broker.url, topic, BIG);
      const pub = await mqtt.connectAsync(rig.broker.url, { clientId: 'size-valid' });
      await pub.publishAsync(topic, eventToJson(valid), { qos: 1 });
      await pub.endAsync();
      const value = async (re: RegExp): Promise<number> => Number(re.exec(await rig.gateway.metrics.registry.metrics())?.[1] ?? '0');
      await waitFor('the oversized message counted', async () => (await value(/lorawan_edge_uplinks_rejected_total\{reason="oversized"\} (\d+)/)) === 1, 120_000);
      await waitFor('the valid uplink written by the file sink', () => {
        const dir = join(rig.dir, 'data', 'points');
        let files: string[] = [];
        try {
          files = readdirSync(dir);
        } catch {
          return false;
        }
        return files.some((f) => readFileSync(join(dir, f), 'utf8').includes(`dev_eui=${BIN.dev_eui}`));
      }, 60_000);
      expect(await value(/lorawan_edge_uplinks_rejected_total\{reason="oversized"\} (\d+)/)).toBe(1);
      expect(await value(/lorawan_edge_duplicates_total\{source="cs"\} (\d+)/)).toBe(0);
    } finally {
      clearInterval(sample);
    }
    // Collected whole, the message is held twice here while mqtt-packet copies the payload out
    // (measured: 134 MB above the start); cut, the socket's chunks pass and become garbage that
    // the next GC takes (measured: up to 34 MB, depending on when V8 collects). Below the message's
    // own size means it was never held whole.
    expect(peak).toBeLessThan(BIG);

    const rejects = readFileSync(rig.gateway.config.rejects.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; detail: string; topic?: string; payloadBase64?: string; payloadBytes?: number; payloadTruncated?: boolean });
    expect(rejects).toHaveLength(1);
    const [big] = rejects;
    expect(big?.reason).toBe('oversized');
    expect(big?.topic).toBe(topic);
    expect(big?.detail).toMatch(/^67108864 bytes > max_payload_bytes 4096: cut from the connection before it was read whole/);
    expect(big?.payloadBytes).toBe(BIG);
    expect(big?.payloadTruncated).toBe(true);
    const head = Buffer.from(big?.payloadBase64 ?? '', 'base64');
    expect(head.subarray(0, 10).toString()).toBe('{"big":"xx');
    expect(head.length).toBeLessThanOrEqual(rig.gateway.config.rejects.max_entry_bytes);

    // Acknowledged in its place, never by dropping the connection.
    expect(rig.logLines.join('')).not.toMatch(/dropping the connection|reconnecting|Keepalive/);
    expect(rig.gateway.health()['source:cs']?.state).toBe('running');
  }, 300_000);
});
