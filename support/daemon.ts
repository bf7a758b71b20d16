// A child server process for tests: spawn, keep the tail of its output for error messages,
// wait until it is ready (bounded), stop it with SIGTERM (then SIGKILL after a grace period),
// and never leave it behind when the test process exits.
import { spawn, type ChildProcess } from 'node:child_process';

const TAIL_CHARS = 8_000;

export interface DaemonSpec {
  /** Name used in error messages, e.g. "influxd". */
  name: string;
  command: string;
  args: readonly string[];
  cwd?: string;
}

export class Daemon {
  readonly spec: DaemonSpec;
  private child: ChildProcess | undefined;
  private exitPromise: Promise<void> | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private output = '';
  private readonly killOnExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  constructor(spec: DaemonSpec) {
    this.spec = spec;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** The last few KB the process printed (stdout and stderr interleaved). */
  get outputTail(): string {
    return this.output;
  }

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    this.exitInfo = undefined;
    this.output = '';
    const child = spawn(this.spec.command, [...this.spec.args], {
      cwd: this.spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exitPromise = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        process.removeListener('exit', this.killOnExit);
        resolve();
      });
      child.once('error', (err) => {
        this.output += `\nspawn error: ${err.message}`;
        this.exitInfo = { code: null, signal: null };
        process.removeListener('exit', this.killOnExit);
        resolve();
      });
    });
    process.on('exit', this.killOnExit);
  }

  /** Rejects (with the output tail) if the process exits before `ready()` holds or time runs out. */
  async waitUntil(ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = 20;
    for (;;) {
      if (!this.running) throw new Error(`${this.spec.name} exited before ${what} (${this.describeExit()}):\n${this.output}`);
      if (await ready()) return;
      if (Date.now() >= deadline) {
        throw new Error(`${this.spec.name}: ${what} did not happen within ${timeoutMs} ms:\n${this.output}`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 200);
    }
  }

  /** SIGTERM, wait up to `graceMs`, then SIGKILL. Resolves once the process has exited. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exitPromise?.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) await this.kill();
  }

  /** SIGKILL: a crash, nothing saved on the way out. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    child.kill('SIGKILL');
    await this.exitPromise;
  }

  describeExit(): string {
    const info = this.exitInfo;
    if (info === undefined) return 'still running';
    return info.signal !== null ? `signal ${info.signal}` : `exit code ${String(info.code)}`;
  }
}

/** Whether the output says the listening address was taken (a free-port race lost). */
export function lostPortRace(output: string): boolean {
  return /address already in use|EADDRINUSE/i.test(output);
}

/** What every test server offers around its daemon: state, stop/start/restart, crash, cleanup. */
export interface ServerLifecycle {
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly outputTail: string;
  /** SIGTERM and wait for exit. Data stays for `start()`. */
  stop(): Promise<void>;
  /** Start again on the same port and data folder. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Stop and remove the temp folder. */
  dispose(): Promise<void>;
}

/** The lifecycle shared by the test servers; `launch` starts the daemon and waits until ready. */
export function serverLifecycle(daemon: Daemon, launch: () => Promise<void>, dir: string, removeDir: (dir: string) => Promise<void>): ServerLifecycle {
  const life: ServerLifecycle = {
    get pid() {
      return daemon.pid;
    },
    get running() {
      return daemon.running;
    },
    get outputTail() {
      return daemon.outputTail;
    },
    stop: () => daemon.stop(),
    start: async () => {
      if (daemon.running) return;
      try {
        await launch();
      } catch (err) {
        await daemon.kill();
        throw err;
      }
    },
    restart: async () => {
      await daemon.stop();
      await life.start();
    },
    kill: () => daemon.kill(),
    dispose: async () => {
      await daemon.stop();
      await removeDir(dir);
    },
  };
  return life;
}
