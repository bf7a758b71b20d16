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
import { join } from 'node:path';
import { DurableInflux, type Schema } from '../durable-influx.ts';
import type { NodeAPI, NodeDef, NodeMessage, RedNode } from '../red.ts';
import { checkRecord } from '../record-check.ts';
import type { InfluxConfigNode } from './influx-config-node.ts';
import { short } from './status-throttle.ts';

export const INFLUX_OUT_TYPE = 'lorawan influxdb out';
const MiB = 1024 * 1024;

export function registerInfluxOut(RED: NodeAPI): void {
  RED.nodes.registerType(INFLUX_OUT_TYPE, function (this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const server = typeof def['server'] === 'string' ? (RED.nodes.getNode(def['server']) as InfluxConfigNode | null) : null;
    const failure = !server ? 'no InfluxDB config node' : server.failure ? server.failure : !server.influx ? 'InfluxDB config not loaded' : undefined;
    if (failure || !server?.influx) {
      const reason = failure ?? 'InfluxDB config not loaded';
      this.status({ fill: 'red', shape: 'ring', text: short(reason) });
      this.on('input', (_msg, _send, done) => done(new Error(reason)));
      return;
    }
    const schema: Schema = def['schema'] === 'chirpstack' ? 'chirpstack' : 'native';
    const userDir = typeof RED.settings.userDir === 'string' ? RED.settings.userDir : process.cwd();
    const dir = typeof def['dir'] === 'string' && def['dir'].trim() ? def['dir'].trim() : join(userDir, 'lorawan-edge', `influxdb-${this.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    const maxMb = Number(def['maxMb'] ?? 1024);
    // The callbacks below run outside the constructor; they use the node through this name.
    const node: RedNode = this as RedNode;
    const durable = new DurableInflux({
      dir,
      influx: server.influx,
      schema,
      log: {
        max_bytes: Number.isFinite(maxMb) && maxMb >= 1 ? Math.round(maxMb * MiB) : 1024 * MiB,
        when_full: def['whenFull'] === 'block' ? 'block' : 'drop_oldest',
      },
      logger: { info: (m) => node.log(m), warn: (m, d) => node.warn(d ? `${m} ${JSON.stringify(d)}` : m), error: (m, d) => node.error(d ? `${m} ${JSON.stringify(d)}` : m) },
    });
    let rejected = 0;
    let lastError = '';
    let startError: string | undefined;
    const ready = durable.start().catch((err: unknown) => {
      startError = `durable log ${dir}: ${(err as Error).message}`;
      node.error(startError);
      throw err;
    });
    ready.catch(() => undefined);

    const render = (): void => {
      if (startError) return node.status({ fill: 'red', shape: 'ring', text: short(startError) });
      const s = durable.status();
      const fill = s.state === 'running' ? (s.buffered > 0 && s.lagSeconds > 5 ? 'yellow' : 'green') : s.state === 'failed' ? 'red' : 'yellow';
      const extra = [rejected ? `${rejected} rejected` : '', s.dropped ? `${s.dropped} dropped` : '', s.state !== 'running' && s.detail ? short(s.detail, 40) : lastError ? short(lastError, 30) : '']
        .filter(Boolean)
        .join(' · ');
      node.status({ fill, shape: 'dot', text: `${s.buffered} buffered · lag ${s.lagSeconds} s${extra ? ` · ${extra}` : ''}` });
    };
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
      ready.then(() => durable.append(checked.record)).then(
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
      const finish = (): void => {
        const left = startError ? 0 : durable.status().buffered;
        if (removed && left > 0) node.warn(`node removed with ${left} records not yet in InfluxDB; they stay in ${dir}`);
        done();
      };
      ready.then(
        () => durable.close(Date.now() + 5_000).then(finish, (err: unknown) => {
          node.error(`closing the durable log: ${(err as Error).message}`);
          done();
        }),
        () => done(),
      );
    });
  });
}
