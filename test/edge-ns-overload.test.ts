/**
 * An overloaded gateway sheds load instead of running out of heap (gateway/ns/overload.ts).
 * The gateway as deployed (the bundle with the systemd unit's heap flags and environment,
 * `deployedGateway()`), a `semtech_udp` source with the inbox journal (the default) and 10,000
 * ABP sessions; several virtual forwarders flood it over real UDP with PUSH_DATA of 100 rxpk each
 * (~23 KB: lora_pkt_fwd's backlog datagrams, above the old 16,384-byte `max_datagram_bytes`),
 * far faster than it can take them (bounded: 60,000 frames in ~2.5 s). Asserts: the gateway stays
 * up, its RSS stays under the unit's MemoryMax, and every frame sent is accounted for — accepted,
 * or counted under a reject reason (`overloaded` for the shed PUSH_DATA, which got no PUSH_ACK),
 * or a datagram the kernel dropped from the full receive buffer (its drop counter in
 * /proc/net/udp, never hidden). Before the bounds the gateway died with "JavaScript heap out of
 * memory" here (bench/RESULTS.md, "session 8, ns-overload"). Both intakes: on the main thread and
 * on the worker thread (`intake_thread`), where the worker journals and acknowledges and so has to
 * shed itself, told by the main thread when it is over its budget, and past its backlog bound.
 */
import { abpKeys, abpSessions } from '../bench/edge-ns/abp-fleet.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { writeDeviceKeysFile } from '../gateway/registry/keys-file.ts';
import { buildDataFrame } from '../lorawan/data-frame.ts';
import { buildPushData, rxpkFor } from '../lorawan/udp/gateway.ts';
import { freePorts } from '../support/free-port.ts';
import { buildFleet, registryYaml } from '../bench/gateway/fleet.ts';
import { buildBundle, deployedGateway, metricsText, sleep, waitFor } from '../bench/gateway/procs.ts';

const DEVICES = 10_000;
const FORWARDERS = 6;
const RXPK_PER_DATAGRAM = 100;
const DATAGRAMS_PER_FORWARDER = 100;
const SENT = FORWARDERS * RXPK_PER_DATAGRAM * DATAGRAMS_PER_FORWARDER;
/** how long the flood takes: ~24,000 frames/s, three to four times what the gateway processes */
const FLOOD_MS = 2_500;

const root = mkdtempSync(join(tmpdir(), 'edge-ns-overload-'));
const procs: ChildProcess[] = [];
const sockets: Socket[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const s of sockets) s.close();
  rmSync(root, { recursive: true, force: true });
});

/** `MemoryMax=300M` of the shipped unit, in bytes. */
function unitMemoryMax(): number {
  const unit = readFileSync(join(REPO_ROOT, 'gateway', 'deploy', 'lorawan-edge.service'), 'utf8');
  const m = /^MemoryMax=(\d+)M$/m.exec(unit);
  if (!m) throw new Error('gateway/deploy/lorawan-edge.service: no MemoryMax=<n>M');
  return Number(m[1]) * 1024 * 1024;
}

/** The kernel's drop counter of the UDP socket bound to `port` on 127.0.0.1 (/proc/net/udp). */
function kernelDrops(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === `0100007F:${hexPort}`) return Number(f[12]);
  }
  throw new Error(`no UDP socket on 127.0.0.1:${port} in /proc/net/udp`);
}

function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0; // exited: alive() reports it
  }
}

/** `name{reason="x"} v` lines of a counter, by label value. */
function byReason(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^lorawan_edge_ns_rejected_total\{reason="([^"]+)"\} (\S+)$/gm)) out.set(m[1] as string, Number(m[2]));
  return out;
}

function counter(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

describe.each([false, true])('intake_thread: %s', (intakeThread) => {
  it('sheds a flood of many-rxpk PUSH_DATA it cannot keep up with: stays up, under MemoryMax, every frame accounted for', async () => {
    buildBundle();
    const dir = mkdtempSync(join(root, `intake-${intakeThread}-`));
    const fleet = buildFleet(DEVICES);
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
        name: 'overload',
        data_dir: './data',
        http: { listen: `127.0.0.1:${httpPort}` },
        log: { level: 'warn' },
        registry: { devices_file: 'devices.yaml' },
        // max_datagram_bytes left at its default: the 100-rxpk datagrams must pass it.
        sources: [{ type: 'semtech_udp', name: 'udp', listen: `127.0.0.1:${udpPort}`, keys_file: 'keys.json', intake_thread: intakeThread }],
        // Nobody listens there: records stay in the log (no InfluxDB needed for this question).
        sinks: [{ type: 'influxdb', name: 'influx', url: `http://127.0.0.1:${deadPort}`, database: 'x', retry_max_backoff_ms: 1000 }],
      }),
    );

    // Every frame its own device and counter: nothing is a duplicate or a replay of another.
    const datagrams: Buffer[][] = [];
    let n = 0;
    const t0 = Date.UTC(2026, 0, 1);
    for (let g = 0; g < FORWARDERS; g++) {
      const eui = `00800000a0${g.toString(16).padStart(6, '0')}`;
      const list: Buffer[] = [];
      for (let k = 0; k < DATAGRAMS_PER_FORWARDER; k++) {
        const rxpk = [];
        for (let r = 0; r < RXPK_PER_DATAGRAM; r++, n++) {
          const d = abp[n % DEVICES] as (typeof abp)[number];
          const payload = d.payloads[0] as Uint8Array;
          const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: d.devAddr, fCnt: Math.floor(n / DEVICES), fCtrl: { adr: false }, fPort: d.fPort, payload }, { nwkSKey: d.nwkSKey, appSKey: d.appSKey });
          rxpk.push(rxpkFor({ phyPayload: phy, tmst: (n * 997) >>> 0, frequencyHz: 868_100_000, datr: 'SF9BW125', rssi: -90, lsnr: 4, time: new Date(t0 + n) }));
        }
        list.push(buildPushData({ gatewayEui: eui, rxpk }).bytes);
      }
      datagrams.push(list);
    }
    expect(n).toBe(SENT);
    expect(datagrams[0]?.[0]?.length).toBeGreaterThan(16_384);

    const deployed = deployedGateway();
    const proc = spawn(process.execPath, [...deployed.nodeFlags, deployed.script, 'gateway', '--config', join(dir, 'gateway.yaml')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...deployed.env },
    });
    procs.push(proc);
    let out = '';
    proc.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-6_000)));
    proc.stderr?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-6_000)));
    const alive = (): void => {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`the gateway died (${proc.exitCode ?? proc.signalCode}): ${out}`);
    };
    await waitFor('the gateway', 60_000, 50, async () => {
      alive();
      try {
        const body = (await (await fetch(`http://127.0.0.1:${httpPort}/healthz`)).json()) as { components: Record<string, { state: string }> };
        return body.components['source:udp']?.state === 'running' ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const pid = proc.pid as number;
    let peakRss = rssBytes(pid);
    const sampler = setInterval(() => {
      if (proc.exitCode === null) peakRss = Math.max(peakRss, rssBytes(pid));
    }, 50);

    // The flood: each forwarder sends its datagrams evenly over FLOOD_MS, not waiting for PUSH_ACKs
    // and never resending (a stock lora_pkt_fwd): what is shed stays shed.
    let acks = 0;
    const mine: Socket[] = [];
    for (let g = 0; g < FORWARDERS; g++) {
      const s = createSocket('udp4');
      sockets.push(s);
      mine.push(s);
      s.on('message', (m) => {
        if (m[3] === 0x01) acks++;
      });
      s.on('error', () => undefined);
      await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    }
    const started = Date.now();
    for (let k = 0; k < DATAGRAMS_PER_FORWARDER; ) {
      const due = Math.min(DATAGRAMS_PER_FORWARDER, Math.ceil(((Date.now() - started) / FLOOD_MS) * DATAGRAMS_PER_FORWARDER));
      for (; k < due; k++) for (let g = 0; g < FORWARDERS; g++) (mine[g] as Socket).send(datagrams[g]?.[k] as Buffer, udpPort, '127.0.0.1');
      await sleep(5);
      alive();
    }

    // Settled: every frame accepted or counted (bounded wait; the gateway drains what it took).
    const tally = async (): Promise<{ accepted: number; rejected: Map<string, number>; dropped: number; total: number }> => {
      const text = await metricsText(httpPort).catch(async (err: unknown) => {
        await sleep(500); // a dying gateway: its exit says why
        alive();
        throw err;
      });
      const accepted = counter(text, 'lorawan_edge_ns_uplinks_total') + counter(text, 'lorawan_edge_ns_mac_only_uplinks_total');
      const rejected = byReason(text);
      const dropped = kernelDrops(udpPort) * RXPK_PER_DATAGRAM;
      return { accepted, rejected, dropped, total: accepted + [...rejected.values()].reduce((a, b) => a + b, 0) + dropped };
    };
    let last: Awaited<ReturnType<typeof tally>> | undefined;
    try {
      await waitFor('every frame accepted or counted', 40_000, 200, async () => {
        alive();
        // A gateway busy draining may answer /metrics late: asked again until the deadline.
        last = await tally().catch((err: unknown) => {
          if ((err as Error).name === 'TimeoutError') return last;
          throw err;
        });
        return last && last.total >= SENT ? true : undefined;
      });
    } finally {
      clearInterval(sampler);
    }
    alive();
    if (!last) throw new Error('no /metrics answer');
    const shed = last.rejected.get('overloaded') ?? 0;
    console.log(
      `intake_thread ${intakeThread}: sent ${SENT} frames in ${FORWARDERS * DATAGRAMS_PER_FORWARDER} PUSH_DATA (${datagrams[0]?.[0]?.length} bytes each): accepted ${last.accepted}, shed ${shed} (overloaded), other rejects ${JSON.stringify(Object.fromEntries([...last.rejected].filter(([r]) => r !== 'overloaded')))}, kernel drops ${last.dropped} frames, PUSH_ACKs ${acks}, peak RSS ${(peakRss / 1048576).toFixed(0)} MB`,
    );
    expect(peakRss).toBeLessThan(unitMemoryMax());
    expect(last.total).toBe(SENT);
    // Every rxpk of an acknowledged PUSH_DATA was accepted (nothing acknowledged is lost); shed ones got no PUSH_ACK.
    expect(last.accepted).toBe(acks * RXPK_PER_DATAGRAM);
    expect(shed + last.accepted + last.dropped).toBe(SENT);
    proc.kill('SIGKILL');
  }, 120_000);
});
