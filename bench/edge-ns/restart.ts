/**
 * bench/edge-ns/restart.ts — how long a restarted gateway keeps a packet forwarder waiting, with
 * the whole city fleet (10,000 devices in the registry and the keys file) and a sink backlog.
 *
 * A resending forwarder gives up on a PUSH_DATA after ~12 s; a stock one loses everything sent
 * while nobody answers. So what counts is the time from the process start (spawn) to
 *   - "UDP listening": the `Semtech UDP source listening` log line (pino's `time`), and
 *   - "first PUSH_ACK": this process, the forwarder, sends a PUSH_DATA every 5 ms from the spawn
 *     on and notes when the first PUSH_ACK comes back (the inbox journal's fsync included),
 *   - "started": the `gateway started` line (sinks, HTTP up).
 *
 * Set-up: 10,000 ABP devices (the bench fleet's catalogue models), a first run that stores
 * `--backlog` uplinks while the InfluxDB sink points at a port nobody listens on (so its cursor
 * stays behind: the backlog a real restart after a backhaul outage has), then `--restarts`
 * times: SIGKILL, start, measure. The gateway is the bundle with the systemd unit's node flags.
 *
 *   node --import tsx bench/edge-ns/restart.ts [--devices 10000] [--backlog 20000] [--restarts 5] [--compare dist/before.mjs]
 */
import { abpKeys, abpSessions } from './abp-fleet.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildDataFrame } from '../../lorawan/data-frame.ts';
import { writeDeviceKeysFile } from '../../gateway/registry/keys-file.ts';
import { freePorts } from '../../support/free-port.ts';
import { buildFleet, registryYaml } from '../gateway/fleet.ts';
import { buildBundle, deployedGateway, scrape, sleep, waitFor } from '../gateway/procs.ts';
import { quantile } from './answer-times.ts';
import { untilSettled } from './measure.ts';
import { buildPullData, pushDataFor } from './datagrams.ts';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' }, backlog: { type: 'string', default: '20000' }, restarts: { type: 'string', default: '5' }, 'no-build': { type: 'boolean', default: false }, compare: { type: 'string', default: '' } } });
/**
 * `--compare dist/other.mjs`: restarts alternate between that bundle ("before", e.g. built from
 * main and copied beside dist/lorawan-edge.mjs) and the working tree's, in the same run and load
 */
const COMPARE = values.compare ? resolve(values.compare as string) : '';
const N = Number(values.devices);
const BACKLOG = Number(values.backlog);
const RESTARTS = Number(values.restarts);
const GW = '0016c001f15e0002';

/** the log lines of the last start, ms after spawn (where the start's time goes) */
const phases: string[] = [];

interface Start {
  listeningMs: number;
  firstAckMs: number;
  startedMs: number;
}

async function main(): Promise<void> {
  const loadBefore = loadavg().map((x) => x.toFixed(1)).join(' ');
  if (!values['no-build']) {
    console.error('building the bundle …');
    buildBundle();
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-ns-restart-'));
  const fleet = buildFleet(N);
  const abp = abpSessions(fleet);
  writeDeviceKeysFile(
    join(dir, 'keys.json'),
    abpKeys(abp),
  );
  writeFileSync(join(dir, 'devices.yaml'), registryYaml(fleet));
  const [udpPort, httpPort, deadPort] = (await freePorts(3)) as [number, number, number];
  writeFileSync(
    join(dir, 'gateway.yaml'),
    JSON.stringify({
      name: 'bench-restart',
      data_dir: './data',
      http: { listen: `127.0.0.1:${httpPort}` },
      log: { level: 'info' },
      registry: { devices_file: 'devices.yaml' },
      sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json' }],
      // Nobody listens there: the sink's cursor stays behind, a backlog to read at each start.
      sinks: [{ type: 'influxdb', name: 'influx', url: `http://127.0.0.1:${deadPort}`, database: 'edge_ns' }],
    }),
  );
  const deployed = deployedGateway();
  let proc: ChildProcess | undefined;
  process.on('exit', () => proc?.kill('SIGKILL'));

  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.on('error', () => undefined); // ICMP port unreachable while the gateway is down
  let acks = 0;
  let lastAckAt = 0;
  sock.on('message', (msg) => {
    if (msg[3] === 0x01) {
      acks++;
      lastAckAt = performance.now();
    }
  });
  const send = (b: Buffer): void => sock.send(b, udpPort, '127.0.0.1');
  let next = 0;
  const t0 = Date.UTC(2026, 0, 1);
  const frame = (): Buffer => {
    const i = next++;
    const d = abp[i % N] as (typeof abp)[number];
    const payload = d.payloads[Math.floor(i / N) % d.payloads.length] as Uint8Array;
    const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: d.devAddr, fCnt: Math.floor(i / N), fCtrl: { adr: false }, fPort: d.fPort, payload }, { nwkSKey: d.nwkSKey, appSKey: d.appSKey });
    return pushDataFor(GW, phy, (i * 1000) >>> 0, t0 + i);
  };

  /** Spawns the gateway; resolves with the three times (ms after spawn). */
  const start = async (script = deployed.script): Promise<Start> => {
    const spawnWall = Date.now();
    const spawnMono = performance.now();
    const ackBefore = acks;
    let firstAck = 0;
    const probe = frame();
    const prober = setInterval(() => {
      if (acks > ackBefore && !firstAck) firstAck = lastAckAt - spawnMono;
      else if (!firstAck) send(probe);
    }, 5);
    const p = spawn(process.execPath, [...deployed.nodeFlags, script, 'gateway', '--config', join(dir, 'gateway.yaml')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let out = '';
    let listening = 0;
    let started = 0;
    let partial = '';
    phases.length = 0;
    p.stdout?.on('data', (b: Buffer) => {
      const lines = (partial + b.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        out = (out + line + '\n').slice(-4000);
        if (!line.startsWith('{')) continue;
        try {
          const o = JSON.parse(line) as { msg?: string; time?: number };
          if (o.time && o.msg) phases.push(`${o.time - spawnWall} ms ${o.msg.slice(0, 60)}`);
          if (o.msg === 'Semtech UDP source listening' && o.time) listening = o.time - spawnWall;
          if (o.msg === 'gateway started' && o.time) started = o.time - spawnWall;
        } catch {
          // not a log line
        }
      }
    });
    p.stderr?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-4000)));
    await waitFor('the gateway', 120_000, 20, () => {
      if (p.exitCode !== null) throw new Error(`gateway exited: ${out}`);
      if (acks > ackBefore && !firstAck) firstAck = lastAckAt - spawnMono;
      return listening && started && firstAck ? true : undefined;
    });
    clearInterval(prober);
    return { listeningMs: listening, firstAckMs: firstAck, startedMs: started };
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  };

  console.error(`first start, then ${BACKLOG} uplinks into the log (the InfluxDB sink cannot deliver: its backlog) …`);
  await start();
  send(buildPullData(GW));
  const sent0 = performance.now();
  for (let k = 0; k < BACKLOG; ) {
    const due = Math.min(BACKLOG, Math.floor(((performance.now() - sent0) / 1000) * 1000));
    for (; k < due; k++) send(frame());
    await sleep(10);
  }
  // Whatever the loaded machine's socket buffer let through: the backlog is what was stored.
  const { value: stored } = await untilSettled(async () => (await scrape(httpPort))['lorawan_edge_ns_uplinks_total'] ?? 0, 1500, 120_000, 250);
  console.error(`${stored} uplinks stored`);
  const runs: Start[] = [];
  const before: Start[] = [];
  for (let r = 0; r < RESTARTS; r++) {
    for (const which of COMPARE ? (['before', 'after'] as const) : (['after'] as const)) {
      await kill();
      const s = await start(which === 'before' ? COMPARE : deployed.script);
      console.error(`restart ${r + 1}${COMPARE ? ` (${which})` : ''}: UDP listening ${s.listeningMs} ms, first PUSH_ACK ${s.firstAckMs.toFixed(0)} ms, started ${s.startedMs} ms`);
      (which === 'before' ? before : runs).push(s);
    }
  }
  console.error(`log lines of the last start:\n  ${phases.join('\n  ')}`);
  await kill();
  sock.close();
  rmSync(dir, { recursive: true, force: true });
  const med = (xs: number[]): string => quantile(xs, 0.5).toFixed(0);
  const max = (xs: number[]): string => Math.max(...xs).toFixed(0);
  console.log(
    `bench/edge-ns/restart.ts: ${N.toLocaleString('en')} ABP devices (registry + keys file), a backlog of ${stored.toLocaleString('en')} uplinks for the InfluxDB sink, ${RESTARTS} restarts after SIGKILL; ` +
      `${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average before ${loadBefore}, after ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`,
  );
  const row = (label: string, f: (x: Start) => number): string =>
    `| ${label} | ${COMPARE ? `${med(before.map(f))} | ${max(before.map(f))} | ` : ''}${med(runs.map(f))} | ${max(runs.map(f))} |`;
  console.log(COMPARE ? `| from spawn to | before: median ms | max ms | after: median ms | max ms |\n|---|---|---|---|---|` : '| from spawn to | median ms | max ms |\n|---|---|---|');
  console.log(row('UDP listening', (x) => x.listeningMs));
  console.log(row('first PUSH_ACK', (x) => x.firstAckMs));
  console.log(row('gateway started', (x) => x.startedMs));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
