/**
 * `lorawan-edge demo` (what `npm run demo` runs): the whole chain on embedded defaults, no
 * server needed.
 *
 *   simulator (demo fleet, accelerated time) ─ChirpStack JSON over MQTT─► in-process broker
 *     (aedes) ─► gateway (decode, durable log) ─► a private InfluxDB (if `influxd` is installed)
 *     or rotated line-protocol files
 *
 * It ends with a summary: uplinks, readings per category, example readings, the bins to
 * collect, where the data went and how to point the gateway at a real ChirpStack and InfluxDB.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { CODECS_DIR } from '../codecs/location.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { createSimulation, parseDuration } from '../simulator/index.ts';
import { which } from '../support/binaries.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { keepServing, pagesUrl } from './demo-pages.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const DEMO_HELP = `Usage: lorawan-edge demo [--duration 2d] [--speed 20000] [--dir <folder>] [--no-influxdb]

Runs simulator → MQTT broker (in-process) → gateway → InfluxDB (private, if influxd is
installed) or line-protocol files, on the demo fleet (simulator/fleets/demo.yaml: bins, water
meters, air probes), then prints what arrived. No server or radio needed.
  --duration <d>   simulated time to run (default 2d)
  --speed <x>      simulated seconds per real second (default 20000)
  --dir <folder>   where the gateway keeps its data (default: a new temporary folder)
  --no-influxdb    use the file sink even when influxd is installed
  --keep           keep the gateway and its pages up after the summary, until Ctrl-C`;

const FLEET = resolve(CODECS_DIR, '..', 'simulator', 'fleets', 'demo.yaml');

async function freeLocalPort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => ok(port));
    });
  });
}

async function startBroker(): Promise<{ url: string; close: () => Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const server = createServer(aedes.handle);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const port = await freeLocalPort();
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
      await new Promise<void>((ok) => aedes.close(() => ok()));
    },
  };
}

function fmtValues(values: Record<string, unknown>, keys: string[]): string {
  return keys
    .filter((k) => values[k] !== undefined && values[k] !== null)
    .map((k) => `${k}=${String(values[k])}`)
    .join(' ');
}

export async function runDemo(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '2d' },
      speed: { type: 'string', default: '20000' },
      dir: { type: 'string' },
      'no-influxdb': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${DEMO_HELP}\n`);
    return EXIT_OK;
  }
  const durationMs = parseDuration(values.duration);
  if (durationMs === undefined) throw new UsageError(`--duration is not a duration (e.g. 6h, 2d): "${values.duration}"`);
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed must be a positive number, got "${values.speed}"`);
  const dir = values.dir ? resolve(values.dir) : mkdtempSync(join(tmpdir(), 'lorawan-edge-demo-'));
  const say = (s = ''): void => void io.stdout.write(`${s}\n`);

  say('lorawan-edge demo: simulator → MQTT (in-process broker) → gateway → storage');
  const broker = await startBroker();
  say(`  broker   ${broker.url} (aedes, in-process)`);
  let influx: InfluxdServer | undefined;
  if (!values['no-influxdb'] && which('influxd')) {
    influx = await startInfluxd({ database: 'lorawan' });
    say(`  influxdb ${influx.url} (private influxd, data in ${influx.dataDir})`);
  } else {
    say('  influxdb not installed: writing line-protocol files instead (apt-get install influxdb to see InfluxDB)');
  }

  // The simulated period ends now, so the pages show the fleet as reporting.
  const sim = await createSimulation({ fleet: FLEET, start: Date.now() - durationMs, speed, output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json' }, ledger: join(dir, 'ledger.jsonl') });
  // The gateway's registry: the fleet's devices with their models, installation tags and variables.
  writeFileSync(
    join(dir, 'devices.yaml'),
    renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: { ...d.tags, lat: d.position.lat.toFixed(5), lon: d.position.lon.toFixed(5) }, variables: d.variables }))),
  );
  const config = checkConfig(
    {
      name: 'demo',
      data_dir: './data',
      http: { listen: `127.0.0.1:${await freeLocalPort()}` },
      log: { level: 'warn' },
      registry: { devices_file: 'devices.yaml' },
      buffer: { fsync_interval_ms: 50 },
      sources: [{ type: 'chirpstack_mqtt', name: 'chirpstack', url: broker.url }],
      sinks: influx
        ? [{ type: 'influxdb', name: 'influx', url: influx.url, database: 'lorawan', flush_interval_ms: 200 }]
        : [{ type: 'file', name: 'file' }],
    },
    join(dir, 'gateway.yaml'),
    {},
  );
  writeFileSync(join(dir, 'gateway.yaml'), `${JSON.stringify({ ...config, file: undefined }, null, 2)}\n`);
  const logFile = join(dir, 'gateway.log');
  const logLines: string[] = [];
  const gateway = createGateway(config, {
    logStream: {
      write(chunk: string | Uint8Array) {
        logLines.push(String(chunk));
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  await gateway.start();
  say(`  gateway  data in ${config.data_dir}, health http://${config.http.listen}/healthz`);
  say(`  pages    ${pagesUrl(config.http.listen)} (supervision overview; /devices, /map)`);
  say(`  fleet    ${sim.devices.length} devices (${FLEET}), ${values.duration} of simulated time at ${speed}× speed`);
  say('');

  let code = EXIT_OK;
  try {
    // A live progress line on a terminal; a line every few seconds in a log.
    const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
    const progress = setInterval(
      () => {
        const s = sim.stats();
        io.stderr.write(`${tty ? '\r' : ''}  simulated ${s.simNow.slice(0, 16)}  uplinks sent ${s.uplinks}   ${tty ? '' : '\n'}`);
      },
      tty ? 500 : 5000,
    );
    const stats = await sim.run({ durationMs, realTimeMs: 10 * 60_000 });
    clearInterval(progress);
    if (tty) io.stderr.write('\n');
    await sim.stop();

    // Wait until every heard uplink is in the log and every sink has caught up.
    const until = Date.now() + 60_000;
    const metric = async (name: string): Promise<number> => {
      const m = await gateway.metrics.registry.getSingleMetric(name)?.get();
      return (m?.values ?? []).reduce((a, v) => a + v.value, 0);
    };
    for (;;) {
      const received = await metric('lorawan_edge_events_received_total');
      const lag = gateway.sinks.reduce((a, s) => a + s.pending(), 0);
      if ((received >= stats.heard + stats.joins.accepted && lag === 0) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const received = await metric('lorawan_edge_uplinks_received_total');
    const readingsMetric = await gateway.metrics.registry.getSingleMetric('lorawan_edge_readings_total')?.get();
    const written = await metric('lorawan_edge_sink_points_written_total');
    const rejected = await metric('lorawan_edge_uplinks_rejected_total');
    const decodeErrors = await metric('lorawan_edge_decode_errors_total');

    say('Summary');
    say(`  uplinks sent by the simulator     ${stats.uplinks} (${stats.heard} heard by a gateway; ${stats.joins.accepted} OTAA joins)`);
    say(`  uplinks received by the gateway   ${received}   rejected ${rejected}   decode errors ${decodeErrors}`);
    for (const v of readingsMetric?.values ?? []) say(`  readings ${String(v.labels['category']).padEnd(12)}            ${v.value}`);
    say(`  points written                    ${written}`);

    if (influx) {
      const last = async (measurement: string, fields: string[]): Promise<void> => {
        const rows = await influx!.rows(`SELECT last(*) FROM ${measurement} GROUP BY device`, 'lorawan');
        for (const r of rows.slice(0, 3)) {
          const vals: Record<string, unknown> = {};
          for (const f of fields) vals[f] = r[`last_${f}`];
          say(`    ${String(r['device'] ?? '').padEnd(18)} ${fmtValues(vals, fields)}`);
        }
      };
      say('');
      say('Example readings (latest per device, from InfluxDB):');
      await last('bin_fill', ['fill_pct', 'distance_mm', 'temperature_c', 'alarm_full']);
      await last('water_meter', ['volume_m3', 'flow_m3h', 'alarm_leak']);
      await last('air_quality', ['co2_ppm', 'pm2_5_ugm3', 'pm10_ugm3', 'temperature_c', 'humidity_pct']);
      const full = await influx.rows('SELECT last(fill_pct) AS fill_pct FROM bin_fill GROUP BY device, commune', 'lorawan');
      const toCollect = full.filter((r) => Number(r['fill_pct']) >= 75).sort((a, b) => Number(b['fill_pct']) - Number(a['fill_pct']));
      say('');
      say(`Bins to collect (fill ≥ 75 %): ${toCollect.length === 0 ? 'none right now' : ''}`);
      for (const r of toCollect) say(`    ${String(r['device']).padEnd(18)} ${String(r['commune'] ?? '').padEnd(8)} ${Number(r['fill_pct']).toFixed(1)} %`);
      say('');
      say(`Data went to InfluxDB ${influx.url}, database "lorawan" (measurements bin_fill, water_meter, air_quality, lorawan_uplink, device_status).`);
      say(`  e.g.  influx -port ${influx.port} -database lorawan -execute 'SELECT * FROM bin_fill LIMIT 5'`);
      say('  (this private InfluxDB stops with the demo; its folder is removed)');
    } else {
      const pointsDir = join(config.data_dir, 'points');
      const files = existsSync(pointsDir) ? readdirSync(pointsDir).sort() : [];
      const lines = files.flatMap((f) => readFileSync(join(pointsDir, f), 'utf8').trim().split('\n'));
      say('');
      say('Example points (line protocol):');
      for (const m of ['bin_fill', 'water_meter', 'air_quality']) {
        const line = lines.filter((l) => l.startsWith(`${m},`)).pop();
        if (line) say(`    ${line.length > 160 ? `${line.slice(0, 160)}…` : line}`);
      }
      say('');
      say(`Data went to ${pointsDir} (${files.length} file(s), ${lines.length} points, InfluxDB line protocol, ms precision).`);
    }
    say('');
    say(`Ground truth of every uplink sent: ${join(dir, 'ledger.jsonl')}`);
    say(`Gateway config used: ${join(dir, 'gateway.yaml')}   log: ${logFile}`);
    say('');
    say('Next: point it at your own ChirpStack and InfluxDB —');
    say('  cp gateway/gateway.sample.yaml gateway.yaml   # set sources[0].url (your broker, ChirpStack qos=1) and sinks[0] (InfluxDB)');
    say('  ./bin/lorawan-edge devices import my-devices.csv --registry devices.yaml');
    say('  ./bin/lorawan-edge gateway --config gateway.yaml');
    if (received === 0) code = EXIT_ERRORS;
    if (values.keep) await keepServing(io, pagesUrl(config.http.listen));
  } finally {
    await gateway.stop();
    writeFileSync(logFile, logLines.join(''));
    await broker.close();
    await influx?.dispose();
  }
  return code;
}
