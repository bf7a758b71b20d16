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
import { accessSync, constants, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { CODECS_DIR } from '../codecs/location.ts';
import { checkConfig } from '../gateway/config.ts';
import { createGateway } from '../gateway/gateway.ts';
import { makeFolders } from '../gateway/make-folders.ts';
import { renderRegistry } from '../gateway/registry/devices-file.ts';
import { createSimulation, parseDuration } from '../simulator/index.ts';
import { which } from '../support/binaries.ts';
import { startInfluxd, type InfluxdServer } from '../support/influxd.ts';
import { demoFleet } from './demo-fleet.ts';
import { latestFromLines, progressText, summaryLines, type LatestPoint } from './demo-summary.ts';
import { demoCollectionList } from './demo-collect.ts';
import { pagesUrl } from './demo-pages.ts';
import { EXIT, OperatorError } from './errors.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const DEMO_HELP = `Usage: lorawan-edge demo [--fleet demo|perpignan|dijon|<file>] [--duration 2d] [--speed 20000] [--dir <folder>] [--no-influxdb] [--keep]

Runs simulator → MQTT broker (in-process) → gateway → InfluxDB (private, if influxd is
installed) or line-protocol files, on the demo fleet (simulator/fleets/demo.yaml: bins, water
meters, air probes), then prints what arrived. No server or radio needed.
  --fleet <f>      the fleet to simulate (default demo): perpignan (drop-off points in eight
                   communes of Perpignan Méditerranée Métropole, water meters, air probes),
                   dijon (household-waste bins, river level stations on the Ouche and the
                   Suzon), or a fleet file of your own
  --duration <d>   simulated time to run (default 2d)
  --speed <x>      simulated seconds per real second (default 20000)
  --dir <folder>   where the gateway keeps its data, created if missing and kept afterwards
                   (default: a temporary folder, removed at the end unless --keep)
  --no-influxdb    use the file sink even when influxd is installed
  --keep           keep the temporary folder, the gateway with its pages and the private
                   InfluxDB running until Ctrl-C, so the pages and the printed query can be used`;

/** The registry CSV the next steps point at (same columns as the user's own). */
export const SAMPLE_CSV = resolve(CODECS_DIR, '..', 'gateway', 'registry', 'devices.sample.csv');

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

/** A path as the user can type it from where they are. */
function shown(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : p;
}

/** A program path a shell runs: `bin/x` would be looked up in $PATH, `./bin/x` is not. */
const runnable = (p: string): string => (isAbsolute(p) ? p : `./${p}`);

/** The demo's folder: the user's (created when missing) or a new temporary one. */
function demoDir(asked: string | undefined): { dir: string; temporary: boolean } {
  if (!asked) return { dir: mkdtempSync(join(tmpdir(), 'lorawan-edge-demo-')), temporary: true };
  const dir = resolve(asked);
  try {
    makeFolders(dir);
    accessSync(dir, constants.W_OK); // an existing folder we may not write to
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'ENOTDIR' || e.code === 'EEXIST' ? 'a part of the path is a file' : e.code === 'EROFS' ? 'read-only file system' : (e.code ?? e.message);
    throw new OperatorError(`--dir ${asked} cannot be created (${why}): choose a folder you can write, or leave --dir out for a temporary one`, EXIT.cantCreate);
  }
  return { dir, temporary: false };
}

/** The latest points of the bin, meter and air measurements, from the private InfluxDB. */
async function latestFromInflux(influx: InfluxdServer): Promise<LatestPoint[]> {
  const out: LatestPoint[] = [];
  for (const measurement of ['bin_fill', 'water_meter', 'air_quality']) {
    const rows = await influx.rows(`SELECT * FROM ${measurement} GROUP BY device ORDER BY time DESC LIMIT 1`, 'lorawan');
    for (const r of rows) {
      const tags: Record<string, string> = {};
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) {
        if (k === 'time') continue;
        if (typeof v === 'string' && k !== 'device') tags[k] = v;
        fields[k] = v;
      }
      out.push({ measurement, device: String(r['device'] ?? ''), tags, fields, timeMs: Number(r['time'] ?? 0) });
    }
  }
  return out;
}

/** Waits for Ctrl-C (or SIGTERM). */
function untilInterrupted(): Promise<void> {
  return new Promise((ok) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      ok();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export async function runDemo(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      fleet: { type: 'string' },
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
  const chosen = demoFleet(values.fleet);
  // The folder first: nothing (no InfluxDB, no broker) is started for a folder that cannot exist.
  const { dir, temporary } = demoDir(values.dir);
  const keepDir = !temporary || values.keep;
  const say = (s = ''): void => void io.stdout.write(`${s}\n`);

  let broker: Awaited<ReturnType<typeof startBroker>> | undefined;
  let influx: InfluxdServer | undefined;
  let gateway: ReturnType<typeof createGateway> | undefined;
  const logFile = join(dir, 'gateway.log');
  const logOut = createWriteStream(logFile);
  let code = EXIT_OK;
  try {
    say('lorawan-edge demo: simulator → MQTT (in-process broker) → gateway → storage');
    broker = await startBroker();
    say(`  broker   ${broker.url} (aedes, in-process)`);
    const influxd = which('influxd');
    if (!values['no-influxdb'] && influxd) {
      influx = await startInfluxd({ database: 'lorawan' });
      say(`  influxdb ${influx.url} (private influxd, data in ${influx.dataDir})`);
    } else if (values['no-influxdb']) {
      say('  storage  line-protocol files (--no-influxdb)');
    } else {
      say('  storage  line-protocol files: influxd is not installed (apt-get install influxdb to see InfluxDB)');
    }

    // The simulated period ends now, so the pages show the fleet as reporting.
    const sim = await createSimulation({ fleet: chosen.fleet, start: Date.now() - durationMs, speed, output: { type: 'mqtt', url: broker.url, format: 'chirpstack-json' }, ledger: join(dir, 'ledger.jsonl') });
    // The gateway's registry: the fleet's devices with their models, installation tags and variables.
    writeFileSync(
      join(dir, 'devices.yaml'),
      // Coordinates as lat/lon tags: the pages' map places the devices by them.
      renderRegistry(sim.devices.map((d) => ({ dev_eui: d.devEui, name: d.name, model: d.catalogueId, tags: { ...d.tags, lat: d.position.lat.toFixed(5), lon: d.position.lon.toFixed(5) }, variables: d.variables }))),
    );
    const config = checkConfig(
      {
        name: 'demo',
        data_dir: './data',
        http: { listen: `127.0.0.1:${await freeLocalPort()}` },
        // info: gateway.log tells what the gateway did (start, log open, sinks, stop).
        log: { level: 'info' },
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
    gateway = createGateway(config, { logStream: logOut });
    await gateway.start();
    say(`  gateway  data in ${config.data_dir}, health http://${config.http.listen}/healthz`);
    const pages = pagesUrl(config.http.listen);
    if (pages) say(`  pages    ${pages} (supervision overview; /devices, /map)`);
    if (pages) say(`  planner  ${pages}planner (tomorrow's collection list, printable, CSV)`);
    say(`  fleet    ${sim.devices.length} devices (${shown(chosen.path)}), ${values.duration} of simulated time at ${speed}× speed`);
    say('');

    // Progress: rewritten in place on a terminal; in a log, a line every few seconds and a last one.
    const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
    const showProgress = (): void => {
      const s = sim.stats();
      io.stderr.write(`${tty ? '\r' : ''}  ${progressText(s.simElapsedMs, durationMs, s.realElapsedMs, s.uplinks)}${tty ? '\x1b[K' : '\n'}`);
    };
    const progress = setInterval(showProgress, tty ? 500 : 5000);
    const stats = await sim.run({ durationMs, realTimeMs: 10 * 60_000 });
    clearInterval(progress);
    showProgress();
    if (tty) io.stderr.write('\n');
    await sim.stop();

    // Wait until every heard uplink is in the log and every sink has caught up.
    const until = Date.now() + 60_000;
    const metric = async (name: string): Promise<number> => {
      const m = await gateway!.metrics.registry.getSingleMetric(name)?.get();
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
    say('');

    const pointsDir = join(config.data_dir, 'points');
    const toCollect = await demoCollectionList(gateway, config.web.store.enabled ? config.web.store.file : undefined);
    if (influx) {
      for (const l of summaryLines(await latestFromInflux(influx), 'InfluxDB', toCollect)) say(l);
    } else {
      const files = existsSync(pointsDir) ? readdirSync(pointsDir).sort() : [];
      const lines = files.flatMap((f) => readFileSync(join(pointsDir, f), 'utf8').split('\n'));
      for (const l of summaryLines(latestFromLines(lines), 'the line-protocol files', toCollect)) say(l);
      say('');
      const count = lines.filter((l) => l.trim() !== '').length;
      say(`Data went to ${keepDir ? shown(pointsDir) : 'line-protocol files'} (${files.length} file(s), ${count} points, InfluxDB line protocol, ms precision).`);
    }
    say('');
    if (influx) {
      say(`Data went to a private InfluxDB ${influx.url}, database "lorawan" (measurements bin_fill, water_meter, air_quality, lorawan_uplink, device_status).`);
      if (!values.keep) say('  It stops with the demo; run with --keep to query it while it keeps running.');
    }
    if (keepDir) {
      say(`Ground truth of every uplink sent: ${shown(join(dir, 'ledger.jsonl'))}`);
      say(`Gateway config used: ${shown(join(dir, 'gateway.yaml'))}   log: ${shown(logFile)}`);
    } else {
      say('The demo folder is removed at the end; run with --keep or --dir <folder> to keep the ledger, config and log.');
    }
    say('');
    const bin = runnable(shown(resolve(CODECS_DIR, '..', 'bin', 'lorawan-edge')));
    say('Next: point it at your own ChirpStack and InfluxDB —');
    say(`  cp ${shown(resolve(CODECS_DIR, '..', 'gateway', 'gateway.sample.yaml'))} gateway.yaml   # set sources[0].url (your broker, ChirpStack qos=1) and sinks[0] (InfluxDB)`);
    say(`  ${bin} devices import ${shown(SAMPLE_CSV)} --registry devices.yaml   # then your own CSV, same columns`);
    say(`  ${bin} gateway --config gateway.yaml`);
    if (received === 0) code = EXIT_ERRORS;

    if (values.keep) {
      // Listen for Ctrl-C before saying so: a Ctrl-C right after the hint must stop cleanly.
      const interrupted = untilInterrupted();
      say('');
      say(`The gateway keeps running until Ctrl-C${pages ? `: its pages at ${pages}` : ''}.`);
      if (influx) {
        say('The private InfluxDB too. Try:');
        const q = 'SELECT * FROM bin_fill LIMIT 5';
        say(`  curl -sG ${influx.url}/query --data-urlencode db=lorawan --data-urlencode "q=${q}"`);
        if (which('influx')) say(`  influx -port ${influx.port} -database lorawan -execute '${q}'`);
      }
      await interrupted;
      say('stopped');
    }
  } finally {
    await gateway?.stop();
    await new Promise<void>((ok) => logOut.end(ok));
    await broker?.close();
    await influx?.dispose();
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  }
  return code;
}
