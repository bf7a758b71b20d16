/**
 * The setup gateway end-to-end tests share: real Mosquitto (and InfluxDB 1.6) on free ports, a
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

/** A started gateway reading ChirpStack events from a real Mosquitto, with no InfluxDB. */
export interface MqttGatewayRigOptions {
  /** The gateway's name; also the temp folder's prefix (`gw-<name>-`). */
  name: string;
  /** Registry entries, written to `devices.yaml` in the rig's folder. */
  devices: object[];
  /** Config keys on top of the rig's (data_dir, registry, one `cs` source, `sinks`). */
  config?: Record<string, unknown>;
  /** Settings of the `cs` ChirpStack MQTT source, beside its URL. */
  source?: Record<string, unknown>;
  /** Further sources after `cs` (e.g. ones that must fail to connect). */
  extraSources?: Record<string, unknown>[];
  /** The gateway's sinks; none given means the embedded default (the file sink). */
  sinks?: Record<string, unknown>[];
  /** A broker already started for the rig (it is disposed with the rig); else the rig starts one. */
  broker?: MosquittoServer;
}

export interface MqttGatewayRig {
  broker: MosquittoServer;
  /** The temp folder holding gateway.yaml's location, devices.yaml and data/. */
  dir: string;
  gateway: Gateway;
  /** Every log line the gateway wrote (pino JSON). */
  logLines: string[];
  /** Stops the gateway and the broker, removes the folder. */
  dispose(): Promise<void>;
}

export interface GatewayRigOptions extends Omit<MqttGatewayRigOptions, 'sinks' | 'broker'> {
  /** The InfluxDB database the rig creates and the `influx` sink writes to. */
  database: string;
}

export interface GatewayRig extends MqttGatewayRig {
  influx: InfluxdServer;
  /** Stops the gateway and both servers, removes the folder. */
  dispose(): Promise<void>;
}

/**
 * Real Mosquitto on a free port, a registry in a temp folder, and a started gateway reading
 * ChirpStack events from the broker (`cs`; 20 ms fsyncs, so tests wait on data rather than on
 * timers).
 */
export async function startMqttGatewayRig(o: MqttGatewayRigOptions): Promise<MqttGatewayRig> {
  const broker = o.broker ?? (await startMosquitto());
  const dir = mkdtempSync(join(tmpdir(), `gw-${o.name}-`));
  const logLines: string[] = [];
  let gateway: Gateway | undefined;
  const dispose = async (): Promise<void> => {
    await gateway?.stop();
    await broker.dispose();
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
        ...(o.sinks ? { sinks: o.sinks } : {}),
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
  return { broker, dir, gateway, logLines, dispose };
}

/**
 * The MQTT rig with a real InfluxDB 1.6 too: the gateway writes into the database (`influx`,
 * 100 ms flushes).
 */
export async function startGatewayRig(o: GatewayRigOptions): Promise<GatewayRig> {
  const [broker, influx] = await Promise.all([startMosquitto(), startInfluxd({ database: o.database })]);
  let rig: MqttGatewayRig;
  try {
    rig = await startMqttGatewayRig({ ...o, broker, sinks: [{ type: 'influxdb', name: 'influx', url: influx.url, database: o.database, flush_interval_ms: 100 }] });
  } catch (err) {
    await influx.dispose().catch(() => undefined);
    throw err;
  }
  return {
    ...rig,
    influx,
    async dispose() {
      await rig.dispose();
      await influx.dispose();
    },
  };
}
