/**
 * The setup gateway end-to-end tests share: real Mosquitto and InfluxDB 1.6 on free ports, a
 * registry in a temp folder and a started gateway between them. It lives in test/ because
 * support/ may not import gateway/ (DESIGN.md); the small pieces are in support/gateway-kit.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfig } from '../gateway/config.ts';
import { createGateway, type Gateway } from '../gateway/gateway.ts';
import { memoryLogStream } from '../support/gateway-kit.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { startMosquitto, type MosquittoServer } from '../support/mosquitto.ts';

export interface GatewayRigOptions {
  /** The gateway's name; also the temp folder's prefix (`gw-<name>-`). */
  name: string;
  /** The InfluxDB database the rig creates and the `influx` sink writes to. */
  database: string;
  /** Registry entries, written to `devices.yaml` in the rig's folder. */
  devices: object[];
  /** Config keys on top of the rig's (data_dir, registry, one `cs` source, one `influx` sink). */
  config?: Record<string, unknown>;
  /** Settings of the `cs` ChirpStack MQTT source, beside its URL. */
  source?: Record<string, unknown>;
  /** Further sources after `cs` (e.g. ones that must fail to connect). */
  extraSources?: Record<string, unknown>[];
}

export interface GatewayRig {
  broker: MosquittoServer;
  influx: InfluxdServer;
  /** The temp folder holding gateway.yaml's location, devices.yaml and data/. */
  dir: string;
  gateway: Gateway;
  /** Every log line the gateway wrote (pino JSON). */
  logLines: string[];
  /** Stops the gateway and both servers, removes the folder. */
  dispose(): Promise<void>;
}

/**
 * Real Mosquitto and InfluxDB on free ports, a registry in a temp folder, and a started gateway
 * reading ChirpStack events from the broker (`cs`) into the database (`influx`, 100 ms flushes,
 * 20 ms fsyncs, so tests wait on data rather than on timers).
 */
export async function startGatewayRig(o: GatewayRigOptions): Promise<GatewayRig> {
  const [broker, influx] = await Promise.all([startMosquitto(), startInfluxd({ database: o.database })]);
  const dir = mkdtempSync(join(tmpdir(), `gw-${o.name}-`));
  const logLines: string[] = [];
  let gateway: Gateway | undefined;
  const dispose = async (): Promise<void> => {
    await gateway?.stop();
    await Promise.all([broker.dispose(), influx.dispose()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    writeFileSync(join(dir, 'devices.yaml'), `devices:\n${o.devices.map((d) => `  - ${JSON.stringify(d)}`).join('\n')}\n`);
    const { buffer, ...rest } = o.config ?? {};
    const config = checkConfig(
      {
        name: o.name,
        data_dir: './data',
        http: { listen: false },
        log: { level: 'info' },
        registry: { devices_file: 'devices.yaml' },
        ...rest,
        buffer: { fsync_interval_ms: 20, ...(buffer as object | undefined) },
        sources: [{ type: 'chirpstack_mqtt', name: 'cs', url: broker.url, ...o.source }, ...(o.extraSources ?? [])],
        sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: o.database, flush_interval_ms: 100 }],
      },
      join(dir, 'gateway.yaml'),
      {},
    );
    gateway = createGateway(config, { logStream: memoryLogStream(logLines) });
    await gateway.start();
  } catch (err) {
    await dispose().catch(() => undefined);
    throw err;
  }
  return { broker, influx, dir, gateway, logLines, dispose };
}
