/**
 * `lorawan decode`: output 1 the decoded uplink (`msg.payload` = {data, readings, warnings,
 * errors, device, …}, `msg.lorawan` = the gateway's pipeline record for `lorawan influxdb out`);
 * output 2 what could not be decoded, with `msg.error` = {reason, code} and the input untouched.
 */
import { decodeMessage } from '../decode.ts';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from '../red.ts';
import { catalogueOf } from './catalogue-node.ts';
import { short, StatusThrottle } from './status-throttle.ts';

export const DECODE_TYPE = 'lorawan decode';

export function registerDecode(RED: NodeAPI): void {
  RED.nodes.registerType(DECODE_TYPE, function (this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const found = catalogueOf(RED, def['catalogue']);
    const fallbackModel = typeof def['model'] === 'string' && def['model'] ? def['model'] : undefined;
    let decoded = 0;
    let failed = 0;
    let lastError = '';
    const status = new StatusThrottle(this, () => ({
      fill: lastError ? 'yellow' : 'green',
      shape: 'dot',
      text: `${decoded} decoded, ${failed} failed${lastError ? ` · ${short(lastError, 40)}` : ''}`,
    }));
    if ('failure' in found) {
      this.status({ fill: 'red', shape: 'ring', text: short(found.failure) });
      this.on('input', (_msg, _send, done) => done(new Error(found.failure)));
      return;
    }
    const catalogue = found.catalogue;
    if (fallbackModel && !catalogue.entries.has(fallbackModel)) {
      this.status({ fill: 'red', shape: 'ring', text: `unknown codec "${fallbackModel}"` });
      this.error(`lorawan decode: model: unknown catalogue id "${fallbackModel}"`);
    }
    const context = catalogue.decodeContext(fallbackModel);
    // Where the uplink is read from (a typed input, msg.<property>; default msg.payload).
    const property = typeof def['property'] === 'string' && def['property'] ? def['property'] : 'payload';
    const opts = { catalogue, context, ...(fallbackModel ? { fallbackModel } : {}), source: `node-red:${this.id}` };
    this.on('input', (msg: NodeMessage, send, done) => {
      decodeMessage(property === 'payload' ? msg.payload : RED.util.getMessageProperty(msg, property), msg.topic, opts).then(
        (out) => {
          if (out.ok) {
            decoded++;
            msg.payload = out.payload;
            msg['lorawan'] = out.record;
            send([msg, null]);
          } else {
            failed++;
            lastError = out.reason;
            msg['error'] = { reason: out.reason, code: out.code };
            if (out.record) msg['lorawan'] = out.record;
            send([null, msg]);
          }
          status.changed();
          done();
        },
        (err: unknown) => {
          failed++;
          lastError = (err as Error).message;
          status.changed();
          done(err as Error);
        },
      );
    });
    this.on('close', (_removed, done) => {
      status.close();
      done();
    });
  });
}
