/**
 * What `lorawan influxdb out` and `lorawan mqtt in` share: the InfluxDB config node lookup, the
 * durable log's folder and size settings, opening it, its status line and closing it. Both
 * nodes own one DurableInflux (a log + the gateway's InfluxDB sink) built from the same
 * editor fields (server, schema, dir, maxMb, whenFull).
 */
import { join } from 'node:path';
import { DurableInflux, type Schema } from '../durable-influx.ts';
import type { NodeAPI, NodeDef, NodeStatus, RedNode } from '../red.ts';
import type { InfluxConfigNode } from './influx-config-node.ts';
import { short } from './status-throttle.ts';

const MiB = 1024 * 1024;

export interface DurableNodeLog {
  durable: DurableInflux;
  dir: string;
  /** resolves when the log is open and the sink started (rejects when it cannot open) */
  ready: Promise<void>;
  /** the status line: buffered, lag, the sink's state, plus the node's own counts in `extra` */
  status(extra: string[]): NodeStatus;
  /** closes the log (InfluxDB may confirm what it can for 5 s); warns if removed with records unsent */
  close(removed: boolean): Promise<void>;
}

/** Opens the node's durable log, or returns why it cannot (shown as the node's status). */
export function openDurableLog(RED: NodeAPI, node: RedNode, def: NodeDef): DurableNodeLog | { failure: string } {
  const server = typeof def['server'] === 'string' ? (RED.nodes.getNode(def['server']) as InfluxConfigNode | null) : null;
  if (!server) return { failure: 'no InfluxDB config node' };
  if (server.failure || !server.influx) return { failure: server.failure ?? 'InfluxDB config not loaded' };
  const schema: Schema = def['schema'] === 'chirpstack' ? 'chirpstack' : 'native';
  const userDir = typeof RED.settings.userDir === 'string' ? RED.settings.userDir : process.cwd();
  const dir = typeof def['dir'] === 'string' && def['dir'].trim() ? def['dir'].trim() : join(userDir, 'lorawan-edge', `influxdb-${node.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
  const maxMb = Number(def['maxMb'] ?? 1024);
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
  let startError: string | undefined;
  const ready = durable.start().catch((err: unknown) => {
    startError = `durable log ${dir}: ${(err as Error).message}`;
    node.error(startError);
    throw err;
  });
  ready.catch(() => undefined);
  return {
    durable,
    dir,
    ready,
    status(extra) {
      if (startError) return { fill: 'red', shape: 'ring', text: short(startError) };
      const s = durable.status();
      const fill = s.state === 'running' ? (s.buffered > 0 && s.lagSeconds > 5 ? 'yellow' : 'green') : s.state === 'failed' ? 'red' : 'yellow';
      const parts = [...extra, s.dropped ? `${s.dropped} dropped` : '', s.state !== 'running' && s.detail ? short(s.detail, 40) : ''].filter(Boolean).join(' · ');
      return { fill, shape: 'dot', text: `${s.buffered} buffered · lag ${s.lagSeconds} s${parts ? ` · ${parts}` : ''}` };
    },
    async close(removed) {
      try {
        await ready;
      } catch {
        return;
      }
      const left = durable.status().buffered;
      try {
        await durable.close(Date.now() + 5_000);
      } catch (err) {
        node.error(`closing the durable log: ${(err as Error).message}`);
        return;
      }
      if (removed && left > 0) node.warn(`node removed with up to ${left} records not yet in InfluxDB; they stay in ${dir}`);
    },
  };
}
