/**
 * `lorawan encode downlink`: `{devEui|model, command, args}` or `{devEui|model, data}` →
 * the catalogue codec's encodeDownlink → a ChirpStack `command/down` message (topic + JSON
 * payload, for `mqtt out`) or an edge-gateway queue entry. Failures go to output 2 with
 * `msg.error` = {reason}.
 */
import { encodeDownlinkMessage, type DownlinkTarget } from '../downlink.ts';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from '../red.ts';
import { catalogueOf } from './catalogue-node.ts';
import { short, StatusThrottle } from './status-throttle.ts';

export const ENCODE_TYPE = 'lorawan encode downlink';

export function registerEncode(RED: NodeAPI): void {
  RED.nodes.registerType(ENCODE_TYPE, function (this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const found = catalogueOf(RED, def['catalogue']);
    let encoded = 0;
    let failed = 0;
    let lastError = '';
    const status = new StatusThrottle(this, () => ({
      fill: lastError ? 'yellow' : 'green',
      shape: 'dot',
      text: `${encoded} encoded, ${failed} failed${lastError ? ` · ${short(lastError, 40)}` : ''}`,
    }));
    if ('failure' in found) {
      this.status({ fill: 'red', shape: 'ring', text: short(found.failure) });
      this.on('input', (_msg, _send, done) => done(new Error(found.failure)));
      return;
    }
    const target: DownlinkTarget = def['target'] === 'edge' ? 'edge' : 'chirpstack';
    const opts = {
      catalogue: found.catalogue,
      target,
      ...(typeof def['model'] === 'string' && def['model'] ? { model: def['model'] } : {}),
      confirmed: def['confirmed'] === true,
    };
    this.on('input', (msg: NodeMessage, send, done) => {
      // The ChirpStack application id is a typed input: a string, an env variable or msg.<property>.
      const appRaw = typeof def['applicationId'] === 'string' ? def['applicationId'] : '';
      const appType = typeof def['applicationIdType'] === 'string' ? def['applicationIdType'] : 'str';
      const app = appRaw ? RED.util.evaluateNodeProperty(appRaw, appType, this, msg) : undefined;
      encodeDownlinkMessage(msg.payload, { ...opts, ...(typeof app === 'string' && app ? { applicationId: app } : {}) }).then((out) => {
        if (out.ok) {
          encoded++;
          if (out.topic) msg.topic = out.topic;
          msg.payload = out.payload;
          msg['downlink'] = { model: out.model, fPort: out.fPort, bytes: out.bytes, warnings: out.warnings };
          send([msg, null]);
        } else {
          failed++;
          lastError = out.reason;
          msg['error'] = { reason: out.reason };
          send([null, msg]);
        }
        status.changed();
        done();
      }, (err: unknown) => done(err as Error));
    });
    this.on('close', (_removed, done) => {
      status.close();
      done();
    });
  });
}
