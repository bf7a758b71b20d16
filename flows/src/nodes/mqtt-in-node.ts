/**
 * `lorawan mqtt in`: ChirpStack's MQTT integration straight into a durable log drained into
 * InfluxDB, acknowledging each message to the broker only after the record is on disk (the
 * gateway's own source; see ../mqtt-ingest.ts). The core `mqtt in` node acknowledges on
 * receipt, so a message it holds when Node-RED stops is lost; with this node the broker keeps
 * it (persistent session: fixed client id, clean session off, QoS 1) and delivers it again.
 *
 * Output: each stored uplink as `lorawan decode` outputs it (`msg.payload` = {devEui, fPort,
 * readings, device …}, `msg.lorawan` = the record), sent after it is durable — for alarms and
 * dashboards; InfluxDB is written from the log, not from these messages.
 */
import type { UplinkRecord } from '../../../gateway/pipeline/record.ts';
import { decodedPayload } from '../decode.ts';
import { MqttIngest, prepareCodecs } from '../mqtt-ingest.ts';
import type { NodeAPI, NodeDef, RedNode } from '../red.ts';
import { catalogueOf } from './catalogue-node.ts';
import { openDurableLog } from './durable-setup.ts';
import { short } from './status-throttle.ts';

export const MQTT_IN_TYPE = 'lorawan mqtt in';

const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** The broker URL and topics from the node's settings; throws naming the setting. */
export function mqttSettings(def: NodeDef, nodeId: string): { url: string; topics: string[]; clientId: string; protocolVersion: 4 | 5 } {
  const url = text(def['broker']) || 'mqtt://127.0.0.1:1883';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`broker: not a URL (expected mqtt://host:port)`);
  }
  if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(parsed.protocol)) throw new Error(`broker: unsupported scheme "${parsed.protocol}" (mqtt:, mqtts:, ws:, wss:)`);
  if (parsed.username || parsed.password) throw new Error('broker: put the username and password in the credential fields, not in the URL');
  const topics = text(def['topic'] ?? 'application/+/device/+/event/+').split(/[\n,]/).map((t) => t.trim()).filter(Boolean);
  if (topics.length === 0) throw new Error('topic: at least one topic filter is needed');
  // A wildcard fills a whole level, and `#` only the last one (MQTT 3.1.1 §4.7.1).
  for (const t of topics) if (t.length > 1024 || /[#+][^/]|[^/][#+]|#./.test(t)) throw new Error(`topic: "${short(t, 40)}" is not a valid MQTT topic filter`);
  const clientId = text(def['clientId']) || `node-red-lorawan-${nodeId.replace(/[^A-Za-z0-9]/g, '')}`;
  if (clientId.length > 128) throw new Error('clientId: at most 128 characters');
  const protocolVersion = String(def['protocolVersion'] ?? '4') === '5' ? 5 : 4;
  return { url, topics, clientId, protocolVersion };
}

export function registerMqttIn(RED: NodeAPI): void {
  RED.nodes.registerType(
    MQTT_IN_TYPE,
    function (this: RedNode, def: NodeDef) {
      RED.nodes.createNode(this, def);
      const node: RedNode = this as RedNode;
      const fail = (reason: string): void => {
        node.status({ fill: 'red', shape: 'ring', text: short(reason) });
        node.error(`lorawan mqtt in: ${reason}`);
      };
      let settings: ReturnType<typeof mqttSettings>;
      try {
        settings = mqttSettings(def, this.id);
      } catch (err) {
        fail((err as Error).message);
        return;
      }
      const found = catalogueOf(RED, def['catalogue']);
      if ('failure' in found) return fail(found.failure);
      const log = openDurableLog(RED, this, def);
      if ('failure' in log) return fail(log.failure);
      const creds = this.credentials ?? {};
      let stored = 0;
      const ingest = new MqttIngest({
        ...settings,
        ...(creds['username'] ? { username: creds['username'] } : {}),
        ...(creds['password'] ? { password: creds['password'] } : {}),
        catalogue: found.catalogue,
        durable: log.durable,
        dir: log.dir,
        logger: { info: (m) => node.log(m), warn: (m) => node.warn(m), error: (m) => node.error(m) },
        onStored: (records) => {
          for (const r of records) {
            stored++;
            if (r.kind !== 'up') continue;
            node.send({ topic: r.devEui, payload: decodedPayload(r as UplinkRecord), lorawan: r });
          }
        },
      });
      // The source decodes synchronously: the script codecs it may meet are loaded first.
      const started = Promise.all([log.ready, prepareCodecs(found.catalogue)]).then(() => ingest.start());
      started.catch((err: unknown) => fail(`not started: ${(err as Error).message}`));

      const render = (): void => {
        const s = ingest.status();
        const base = log.status([`${stored} stored`, s.pendingAcks ? `${s.pendingAcks} unacked` : '', s.rejected ? `${s.rejected} rejected` : '']);
        if (s.state !== 'running') node.status({ fill: 'yellow', shape: 'ring', text: short(`${s.state}${s.detail ? `: ${s.detail}` : ''} · ${base.text ?? ''}`) });
        else node.status(base);
      };
      const statusTimer = setInterval(render, 1000);

      this.on('close', (removed, done) => {
        clearInterval(statusTimer);
        // Stop taking messages and let the acks of what is durable go out, then close the log.
        // What arrived and was not acknowledged stays with the broker for the next run.
        void started
          .then(() => ingest.stop(Date.now() + 5_000), () => ingest.stop(Date.now() + 1_000))
          .catch((err: unknown) => node.error(`lorawan mqtt in: stopping: ${(err as Error).message}`))
          .then(() => log.close(removed))
          .then(done);
      });
    },
    { credentials: { username: { type: 'text' }, password: { type: 'password' } } },
  );
}
