/**
 * Config node `lorawan-influxdb-config`: where the durable output writes. URL, API version and
 * database/bucket live in the flow; username, password and token only in Node-RED's
 * credential store (flows_cred.json, encrypted; never exported with the flow).
 * The settings are checked by the gateway's own InfluxDB sink config (errors name the setting).
 */
import { resolveInfluxSinkConfig, type InfluxSinkConfigInput } from '../../../gateway/sinks/influxdb/config.ts';
import type { NodeAPI, NodeDef, RedNode } from '../red.ts';

export const INFLUX_CONFIG_TYPE = 'lorawan-influxdb-config';

export interface InfluxConfigNode extends RedNode {
  influx?: InfluxSinkConfigInput;
  failure?: string;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The sink configuration from the node's settings and credentials; throws naming the setting. */
export function influxFromSettings(def: NodeDef, creds: Record<string, string | undefined> = {}): InfluxSinkConfigInput {
  const version = String(def['version'] ?? '1');
  if (!['1', '2', '3'].includes(version)) throw new Error(`version: expected 1, 2 or 3, got ${JSON.stringify(def['version'])}`);
  // Backoff capped at 5 s (the sink's own default is 30 s): Node-RED usually sits next to its
  // InfluxDB, and after an outage the buffer should start draining within seconds.
  const input: InfluxSinkConfigInput = { url: text(def['url']) ?? '', retry_max_backoff_ms: 5_000 };
  if (version === '1') {
    input.version = 1;
    const db = text(def['database']);
    if (db) input.database = db;
    const rp = text(def['retentionPolicy']);
    if (rp) input.retention_policy = rp;
    const user = text(creds['username']);
    if (user) input.username = user;
    if (creds['password']) input.password = creds['password'];
  } else {
    input.version = 2;
    // InfluxDB 3 takes the v2 write API with a Bearer token.
    input.auth_scheme = version === '3' ? 'Bearer' : 'Token';
    const org = text(def['org']);
    if (org) input.org = org;
    const bucket = text(def['bucket']);
    if (bucket) input.bucket = bucket;
    if (creds['token']) input.token = creds['token'];
  }
  try {
    resolveInfluxSinkConfig(input);
  } catch (err) {
    const e = err as Error & { key?: string };
    const setting: Record<string, string> = { url: 'URL', database: 'database', bucket: 'bucket', org: 'organisation', retention_policy: 'retention policy', token: 'token', password: 'password', username: 'username' };
    throw new Error(`${(e.key && setting[e.key]) ?? e.key ?? 'settings'}: ${e.message.replace(/^influxdb sink config: [^:]+: /, '')}`);
  }
  return input;
}

export function registerInfluxConfig(RED: NodeAPI): void {
  RED.nodes.registerType(
    INFLUX_CONFIG_TYPE,
    function (this: InfluxConfigNode, def: NodeDef) {
      RED.nodes.createNode(this, def);
      try {
        this.influx = influxFromSettings(def, this.credentials ?? {});
      } catch (err) {
        this.failure = (err as Error).message;
        this.error(`lorawan-influxdb-config: ${this.failure}`);
      }
    },
    { credentials: { username: { type: 'text' }, password: { type: 'password' }, token: { type: 'password' } } },
  );
}
