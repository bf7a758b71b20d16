import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoServer } from './mosquitto.ts';
import { MqttTestClient } from './mqtt-client.ts';

describe('startMosquitto', () => {
  let broker: MosquittoServer;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('accepts connections and delivers a QoS 1 publish', async () => {
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
    const sub = await MqttTestClient.connect({ port: broker.port, clientId: 'sub-basic' });
    const pub = await MqttTestClient.connect({ port: broker.port, clientId: 'pub-basic' });
    try {
      await sub.subscribe('t/basic', 1);
      await pub.publish('t/basic', 'hello', 1);
      const [msg] = await sub.waitForMessages(1);
      expect(msg?.payload.toString()).toBe('hello');
      expect(msg?.qos).toBe(1);
    } finally {
      sub.destroy();
      pub.destroy();
    }
  });

  it('keeps a persistent session and its queued messages across a broker restart', async () => {
    const first = await MqttTestClient.connect({ port: broker.port, clientId: 'gw-persistent', clean: false });
    await first.subscribe('t/persist', 1);
    await first.disconnect();

    const pub = await MqttTestClient.connect({ port: broker.port, clientId: 'pub-persistent' });
    const count = 300;
    await Promise.all(Array.from({ length: count }, (_, i) => pub.publish('t/persist', `m${i}`, 1)));
    pub.destroy();

    await broker.restart();

    const again = await MqttTestClient.connect({ port: broker.port, clientId: 'gw-persistent', clean: false });
    try {
      expect(again.sessionPresent).toBe(true);
      const got = await again.waitForMessages(count);
      expect(new Set(got.map((m) => m.payload.toString())).size).toBe(count);
    } finally {
      again.destroy();
    }
  });
});

describe('startMosquitto with a small max_queued_messages', () => {
  let broker: MosquittoServer;
  beforeAll(async () => {
    broker = await startMosquitto({ maxQueuedMessages: 10, persistence: false });
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('drops what exceeds the queue for an offline persistent subscriber (why the default is raised)', async () => {
    const first = await MqttTestClient.connect({ port: broker.port, clientId: 'slow-sub', clean: false });
    await first.subscribe('t/q', 1);
    await first.disconnect();
    const pub = await MqttTestClient.connect({ port: broker.port, clientId: 'pub-q' });
    for (let i = 0; i < 50; i++) await pub.publish('t/q', `m${i}`, 1);
    pub.destroy();
    const again = await MqttTestClient.connect({ port: broker.port, clientId: 'slow-sub', clean: false });
    try {
      await again.waitForMessages(10);
      await new Promise((r) => setTimeout(r, 300));
      expect(again.messages.length).toBe(10);
    } finally {
      again.destroy();
    }
  });
});
