// A real Mosquitto broker (Debian's `mosquitto` package, 2.0.x) for tests: a free port on
// 127.0.0.1, a config and persistence folder in a temp dir, readiness = the port accepts TCP.
//
// `max_queued_messages` defaults to 1,000,000 here, not Mosquitto's 1000: with the default the
// broker silently drops QoS 1 messages queued for a slow or restarting persistent subscriber
// (DESIGN.md, "Broker settings that decide whether data is lost"). Tests that want to show that
// loss pass a small value explicitly.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { requireBinary } from './binaries.ts';
import { Daemon, lostPortRace, serverLifecycle, type ServerLifecycle } from './daemon.ts';
import { freePort } from './free-port.ts';

export interface StartMosquittoOptions {
  /** Per-client queue limit for offline/in-flight-blocked QoS>0 messages. Default 1,000,000. */
  maxQueuedMessages?: number;
  /** Per-client QoS>0 messages in flight at once. Default 100 (Mosquitto's own default: 20). */
  maxInflightMessages?: number;
  /** persistence true + persistence_location in the temp dir. Default true. */
  persistence?: boolean;
  /** `log_dest stderr` (kept in `outputTail`). Default false (`log_dest none`). */
  log?: boolean;
  /** More raw config lines appended at the end. */
  extraConfig?: readonly string[];
  startTimeoutMs?: number;
}

/**
 * stop() is SIGTERM, on which Mosquitto saves its persistence file; kill() is a crash: nothing
 * saved since the last autosave.
 */
export interface MosquittoServer extends ServerLifecycle {
  /** mqtt://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly configPath: string;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

function configText(dir: string, port: number, opts: StartMosquittoOptions): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `max_queued_messages ${opts.maxQueuedMessages ?? 1_000_000}`,
    `max_inflight_messages ${opts.maxInflightMessages ?? 100}`,
    // Mosquitto started as root drops privileges to "mosquitto", which cannot write our
    // temp folder; naming the current user keeps it as is (no effect for a non-root user).
    `user ${userInfo().username}`,
  ];
  if (opts.persistence ?? true) {
    lines.push('persistence true', `persistence_location ${dir}/`, 'persistence_file mosquitto.db');
  } else {
    lines.push('persistence false');
  }
  lines.push(opts.log ? 'log_dest stderr' : 'log_dest none');
  lines.push(...(opts.extraConfig ?? []));
  return lines.join('\n') + '\n';
}

export async function startMosquitto(opts: StartMosquittoOptions = {}): Promise<MosquittoServer> {
  const binary = requireBinary('mosquitto');
  const dir = await mkdtemp(join(tmpdir(), 'lorawan-edge-mosquitto-'));
  const configPath = join(dir, 'mosquitto.conf');
  const startTimeoutMs = opts.startTimeoutMs ?? 15_000;
  const daemon = new Daemon({ name: 'mosquitto', command: binary, args: ['-c', configPath], cwd: dir });
  let port = 0;

  const launch = async (): Promise<void> => {
    daemon.start();
    await daemon.waitUntil(() => accepts(port), startTimeoutMs, `port ${port} accepting TCP`);
  };

  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    await writeFile(configPath, configText(dir, port, opts));
    try {
      await launch();
      break;
    } catch (err) {
      // With `log_dest none` a bind failure may print nothing; an early exit is the sign.
      const exitedEarly = !daemon.running;
      await daemon.kill();
      if (attempt < 3 && (lostPortRace(daemon.outputTail) || exitedEarly)) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  const server: MosquittoServer = Object.assign(serverLifecycle(daemon, launch, dir, (d) => rm(d, { recursive: true, force: true })), {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    configPath,
  });
  return server;
}
