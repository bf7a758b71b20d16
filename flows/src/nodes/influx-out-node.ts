/**
 * `lorawan influxdb out` (durable): appends `msg.lorawan` (the pipeline record from
 * `lorawan decode`) to its own durable log and calls `done()` only when the record is on disk;
 * the gateway's InfluxDB sink drains the log in batches and the cursor moves only over what
 * InfluxDB confirmed. Status: records buffered and how long the sink has been behind.
 *
 * The log lives in `<userDir>/lorawan-edge/influxdb-<node id>/` unless the node sets a folder;
 * it survives redeploys and restarts (the next instance of the node continues from the cursor)
 * and is kept when the node is deleted, so nothing unsent is thrown away silently.
 */
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from '../red.ts';
import { checkRecord } from '../record-check.ts';
import { openDurableLog } from './durable-setup.ts';
import { short } from './status-throttle.ts';

export const INFLUX_OUT_TYPE = 'lorawan influxdb out';

export function registerInfluxOut(RED: NodeAPI): void {
  RED.nodes.registerType(INFLUX_OUT_TYPE, function (this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const log = openDurableLog(RED, this, def);
    if ('failure' in log) {
      const reason = log.failure;
      this.status({ fill: 'red', shape: 'ring', text: short(reason) });
      this.on('input', (_msg, _send, done) => done(new Error(reason)));
      return;
    }
    // The callbacks below run outside the constructor; they use the node through this name.
    const node: RedNode = this as RedNode;
    let rejected = 0;
    let lastError = '';
    const render = (): void => node.status(log.status([rejected ? `${rejected} rejected` : '', lastError ? short(lastError, 30) : '']));
    const statusTimer = setInterval(render, 1000);
    render();

    this.on('input', (msg: NodeMessage, _send, done) => {
      const checked = checkRecord(msg['lorawan']);
      if (!checked.ok) {
        rejected++;
        lastError = checked.reason;
        done(new Error(checked.reason));
        return;
      }
      log.ready.then(() => log.durable.append(checked.record)).then(
        () => done(),
        (err: unknown) => {
          rejected++;
          lastError = (err as Error).message;
          done(err as Error);
        },
      );
    });

    this.on('close', (removed, done) => {
      clearInterval(statusTimer);
      void log.close(removed).then(done);
    });
  });
}
