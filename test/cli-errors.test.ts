/**
 * Every mistake a person can make answers with one line on stderr (the cause and what to do),
 * a documented exit code (cli/errors.ts EXIT, README "Exit codes") and never a stack trace.
 * Each case runs the real command as a child process, as a technician would.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../cli/errors.ts';
import { canMountTmpfs, mountTmpfs } from '../gateway/buffer/testing/tmpfs.ts';
import { REPO_ROOT } from '../codecs/testing/paths.ts';
import { freePort } from '../support/free-port.ts';

const BIN = join(REPO_ROOT, 'bin', 'lorawan-edge');
const work = mkdtempSync(join(tmpdir(), 'cli-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command; `env` extends the environment (e.g. a private TMPDIR to look for leftovers);
 * `wrap` runs it through another command (`setpriv …` to drop root).
 */
function cli(args: string[], env: Record<string, string> = {}, wrap: string[] = []): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [command = process.execPath, ...wrapArgs] = [...wrap, process.execPath];
    const child = spawn(command, [...wrapArgs, BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A hung command is a failure too (e.g. a half-started gateway that never exits).
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line on stderr, no stack frame, the documented code; returns the line. */
function oneLine(r: Run, code: number): string {
  // Warnings about the config (e.g. no registry) may precede the error; the error is one line.
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning: '));
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at |Error:|node:internal/m);
  expect(r.code, r.stderr).toBe(code);
  return lines[0] as string;
}

/**
 * `setpriv …` running a command as nobody, or [] when that user or setpriv is missing, or when
 * nobody cannot run the CLI from this checkout (a clone inside a 0700 folder, as `mktemp -d` makes).
 */
function nobody(): string[] {
  try {
    execFileSync('id', ['nobody'], { stdio: 'pipe', timeout: 10_000 });
    // (HOME: root's is not nobody's to read.)
    const wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', `HOME=${tmpdir()}`];
    execFileSync(wrap[0] as string, [...wrap.slice(1), process.execPath, BIN, '--version'], { stdio: 'pipe', timeout: 30_000 });
    return wrap;
  } catch {
    return [];
  }
}

describe('errors a person can cause: one line, a documented exit code', () => {
  it('gateway: the HTTP port is already in use → busy (75), names the address and http.listen', async () => {
    const taken: Server = createServer();
    const port = await freePort();
    await new Promise<void>((ok) => taken.listen(port, '127.0.0.1', ok));
    try {
      const dir = mkdtempSync(join(work, 'gw-'));
      const config = join(dir, 'gateway.yaml');
      const mqttPort = await freePort(); // nothing listens: the source reconnects in the background
      writeFileSync(config, `data_dir: ./data\nhttp:\n  listen: 127.0.0.1:${port}\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${mqttPort}\n`);
      const line = oneLine(await cli(['gateway', '--config', config]), EXIT.busy);
      expect(line).toContain(`127.0.0.1:${port} is already in use`);
      expect(line).toContain('http.listen');
    } finally {
      await new Promise<void>((ok) => taken.close(() => ok()));
    }
  }, 120_000);

  it.runIf(existsSync('/proc/self'))('gateway: a data_dir where mkdir says ENOENT under an existing folder (/proc) answers instead of spinning', async () => {
    const dir = mkdtempSync(join(work, 'gw-proc-'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(config, `data_dir: /proc/lorawan-edge-gw/data\nhttp:\n  listen: false\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${await freePort()}\n`);
    // Node 20's recursive mkdirSync never returns there; cli() kills a hung command (a failure).
    const line = oneLine(await cli(['gateway', '--config', config]), EXIT.io);
    expect(line).toContain('/proc/lorawan-edge-gw');
  }, 120_000);

  it.runIf(canMountTmpfs)('gateway: a disk full on the very first start → cannot create (73), naming the file, not a SQLite error', async () => {
    const fs = await mountTmpfs('1m');
    try {
      await fs.fill(0);
      const dir = mkdtempSync(join(work, 'gw-full-'));
      const config = join(dir, 'gateway.yaml');
      writeFileSync(config, `data_dir: ${join(fs.dir, 'data')}\nhttp:\n  listen: false\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${await freePort()}\n`);
      const line = oneLine(await cli(['gateway', '--config', config]), EXIT.cantCreate);
      expect(line).toContain(`cannot write ${join(fs.dir, 'data', 'buffer', 'LOCK')}: the disk is full`);
      expect(line).not.toMatch(/SQLITE|database or disk|internal error/);
    } finally {
      await fs.unmount();
    }
  }, 120_000);

  describe('a data_dir whose LOCK cannot be opened for writing: one line naming LOCK, not a SQLite message', () => {
    const isRoot = process.getuid?.() === 0;
    /** Runs the gateway on `dataDir` (config in `configDir`); returns its one line after checking the code. */
    async function gatewayOn(dataDir: string, code: number, wrap: string[] = [], configDir = mkdtempSync(join(work, 'gw-lock-'))): Promise<string> {
      const config = join(configDir, 'gateway.yaml');
      writeFileSync(config, `data_dir: ${dataDir}\nhttp:\n  listen: false\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${await freePort()}\n`, { mode: 0o644 });
      const line = oneLine(await cli(['gateway', '--config', config], {}, wrap), code);
      expect(line).not.toMatch(/SQLITE|database file|readonly database|internal error/);
      return line;
    }

    it('LOCK is a folder (SQLite CANTOPEN) → another file error (74)', async () => {
      const data = join(mkdtempSync(join(work, 'gw-lockdir-')), 'data');
      mkdirSync(join(data, 'buffer', 'LOCK'), { recursive: true });
      expect(await gatewayOn(data, EXIT.io)).toContain(`cannot open ${join(data, 'buffer', 'LOCK')}: it is a folder, not a file`);
    }, 120_000);

    it.runIf(canMountTmpfs)('data_dir on a read-only file system (SQLite CANTOPEN, EROFS) → cannot create (73)', async () => {
      const fs = await mountTmpfs('1m');
      try {
        mkdirSync(join(fs.dir, 'data', 'buffer'), { recursive: true });
        execFileSync('mount', ['-o', 'remount,ro', fs.dir], { stdio: 'pipe', timeout: 30_000 });
        expect(await gatewayOn(join(fs.dir, 'data'), EXIT.cantCreate)).toContain(`cannot open ${join(fs.dir, 'data', 'buffer', 'LOCK')}: the file system is read-only`);
      } finally {
        await fs.unmount();
      }
    }, 120_000);

    // chattr +i denies writing even to root (chmod does not): SQLite falls back to read-only.
    it.runIf(canMountTmpfs)('an immutable LOCK (SQLite READONLY, EPERM) → cannot create (73), as root too', async () => {
      const fs = await mountTmpfs('1m');
      const lock = join(fs.dir, 'data', 'buffer', 'LOCK');
      try {
        mkdirSync(join(fs.dir, 'data', 'buffer'), { recursive: true });
        writeFileSync(lock, ''); // an empty file is an empty SQLite database
        execFileSync('chattr', ['+i', lock], { stdio: 'pipe', timeout: 30_000 });
        expect(await gatewayOn(join(fs.dir, 'data'), EXIT.cantCreate)).toContain(`cannot open ${lock}: operation not permitted`);
      } finally {
        execFileSync('chattr', ['-i', lock], { stdio: 'pipe', timeout: 30_000 });
        await fs.unmount();
      }
    }, 120_000);

    // chmod denies nothing to root: as root the command runs as nobody (setpriv), in a folder
    // nobody owns, so the mode bits decide as they do for the gateway's own user.
    const dropRoot = isRoot ? nobody() : [];
    it.runIf(!isRoot || dropRoot.length > 0)('a buffer folder or LOCK without write permission (EACCES) → cannot create (73)', async () => {
      const top = mkdtempSync(join(tmpdir(), 'cli-errors-perm-'));
      const data = join(top, 'data');
      const buffer = join(data, 'buffer');
      try {
        mkdirSync(buffer, { recursive: true });
        if (isRoot) execFileSync('chown', ['-R', 'nobody', top], { stdio: 'pipe', timeout: 30_000 });
        chmodSync(top, 0o755);
        chmodSync(buffer, 0o555); // LOCK cannot be created
        expect(await gatewayOn(data, EXIT.cantCreate, dropRoot, top)).toContain(`cannot open ${join(buffer, 'LOCK')}: permission denied`);
        chmodSync(buffer, 0o755);
        writeFileSync(join(buffer, 'LOCK'), '');
        if (isRoot) execFileSync('chown', ['nobody', join(buffer, 'LOCK')], { stdio: 'pipe', timeout: 30_000 });
        chmodSync(join(buffer, 'LOCK'), 0o444); // LOCK cannot be written: SQLite opens it read-only
        expect(await gatewayOn(data, EXIT.cantCreate, dropRoot, top)).toContain(`cannot open ${join(buffer, 'LOCK')}: permission denied`);
      } finally {
        rmSync(top, { recursive: true, force: true });
      }
    }, 120_000);
  });

  // The local store (web.store, on by default) opens data_dir/local.sqlite after the log's LOCK:
  // SQLite's "unable to open database file" / "attempt to write a readonly database" becomes one
  // line naming the file and the key that chose it. Root is dropped to nobody as above.
  describe('a local.sqlite (or its folder) that cannot be written: one line naming the file and data_dir, not a SQLite message', () => {
    const isRoot = process.getuid?.() === 0;
    const dropRoot = isRoot ? nobody() : [];
    it.runIf(!isRoot || dropRoot.length > 0)('a read-only local.sqlite, a data_dir where it cannot be created (EACCES) → cannot create (73)', async () => {
      const top = mkdtempSync(join(tmpdir(), 'cli-errors-store-'));
      const data = join(top, 'data');
      const file = join(data, 'local.sqlite');
      const run = async (): Promise<string> => {
        const config = join(top, 'gateway.yaml');
        writeFileSync(config, `data_dir: ${data}\nhttp:\n  listen: false\nsources:\n  - type: chirpstack_mqtt\n    url: mqtt://127.0.0.1:${await freePort()}\n`, { mode: 0o644 });
        const line = oneLine(await cli(['gateway', '--config', config], {}, dropRoot), EXIT.cantCreate);
        expect(line).not.toMatch(/SQLITE|database file|readonly database|internal error/);
        expect(line).toContain('(data_dir)');
        return line;
      };
      try {
        // Everything else the gateway writes in data_dir exists and is writable (the log, the
        // planner's and flood watch's logs): only the store's file is refused.
        mkdirSync(data, { recursive: true });
        writeFileSync(file, ''); // an empty file is an empty SQLite database
        if (isRoot) execFileSync('chown', ['-R', 'nobody', top], { stdio: 'pipe', timeout: 30_000 });
        chmodSync(top, 0o755);
        chmodSync(file, 0o444);
        expect(await run()).toContain(`cannot write ${file} (the local store): permission denied`);
        rmSync(file);
        for (const d of readdirSync(data)) if (d.startsWith('local.sqlite')) rmSync(join(data, d));
        chmodSync(data, 0o555); // local.sqlite cannot be created (the log's folders exist already)
        expect(await run()).toContain(`cannot create ${file} (the local store) in ${data}: permission denied`);
      } finally {
        chmodSync(data, 0o755);
        rmSync(top, { recursive: true, force: true });
      }
    }, 180_000);
  });

  it('a reader that closes the pipe early (`… | head`) ends the command quietly: exit 0, no stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'decode', '--device', 'dingtek/df703', '--jsonl'], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // More lines than any pipe buffer holds, so the command is still writing when the reader goes.
    const line = `${JSON.stringify({ fPort: 3, bytesHex: '8000010201000c00200c7f7b0000000081' })}\n`;
    child.stdin.on('error', () => undefined); // the command may end before it read them all
    child.stdin.end(line.repeat(20_000));
    const first = await new Promise<string>((ok) => child.stdout.once('data', (d: Buffer) => ok(d.toString())));
    expect(first).toContain('"data"');
    child.stdout.destroy(); // what `head` does once it has its lines
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((ok) => child.once('close', ok));
    clearTimeout(timer);
    expect(stderr).not.toMatch(/EPIPE|^\s+at |Error|internal error/m);
    expect(code).toBe(EXIT.ok);
  }, 120_000);

  it('devices add --registry into a folder that does not exist → cannot create (73)', async () => {
    const registry = join(work, 'no-such-folder', 'devices.yaml');
    const line = oneLine(await cli(['devices', 'add', '--registry', registry, '--dev-eui', '70b3d57ed0001001', '--model', 'dingtek/df703', '--name', 'bin-1', '--var', 'container_depth_mm=1200']), EXIT.cantCreate);
    expect(line).toContain(`the folder ${join(work, 'no-such-folder')} does not exist`);
    expect(line).toContain('mkdir -p');
  }, 120_000);

  it('simulate --ledger / --keys into a missing folder → cannot create (73) before anything runs', async () => {
    for (const flag of ['--ledger', '--keys']) {
      const target = join(work, 'missing', flag === '--ledger' ? 'ledger.jsonl' : 'keys.json');
      const line = oneLine(await cli(['simulate', '--fleet', 'simulator/fleets/demo.yaml', '--dry-run', '--count', '5', flag, target]), EXIT.cantCreate);
      expect(line).toContain(`${flag} ${target}`);
      expect(line).toContain('does not exist');
    }
  }, 120_000);

  it('demo --dir that cannot be created → cannot create (73), and nothing is left in the temporary folder', async () => {
    const tmp = mkdtempSync(join(work, 'tmp-'));
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a folder\n');
    const line = oneLine(await cli(['demo', '--dir', join(file, 'demo'), '--duration', '1h'], { TMPDIR: tmp }), EXIT.cantCreate);
    expect(line).toContain('--dir');
    expect(line).toContain('cannot be created');
    // No private InfluxDB folder (lorawan-edge-influxd-*) or demo folder left behind.
    expect(readdirSync(tmp).filter((f) => f.startsWith('lorawan-edge-'))).toEqual([]);
  }, 120_000);

  it.runIf(existsSync('/proc/self'))('demo --dir where mkdir says ENOENT under an existing folder (/proc) answers instead of spinning', async () => {
    // Node 20's recursive mkdirSync loops forever there; the demo creates its folders itself.
    const line = oneLine(await cli(['demo', '--dir', '/proc/lorawan-edge-demo/x']), EXIT.cantCreate);
    expect(line).toContain('cannot be created');
  }, 120_000);

  it('an unknown option names the option and the --help to read, without Node\'s positional-argument advice', async () => {
    for (const [args, help] of [
      [['devices', 'add', '--bogus'], 'devices add --help'],
      [['decode', '--devce', 'x'], 'decode --help'],
      [['gateway', '--conifg', 'x'], 'gateway --help'],
    ] as const) {
      const line = oneLine(await cli([...args]), EXIT.usage);
      expect(line).toContain(`unknown option ${args.at(-1) === 'x' ? args.at(-2) : args.at(-1)}`);
      expect(line).toContain(help);
      expect(line).not.toContain('positional');
    }
  }, 120_000);

  it('an option without its value says which one', async () => {
    const line = oneLine(await cli(['decode', '--device']), EXIT.usage);
    expect(line).toContain('--device needs a value');
  }, 120_000);
});
