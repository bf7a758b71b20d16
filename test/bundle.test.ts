/**
 * The compiled command: `npm run build` bundles it into dist/lorawan-edge.mjs, which must give
 * exactly the output of the TypeScript sources (data files are found from the package root, not
 * from the bundle's own URL), and bin/lorawan-edge runs that bundle only while no source file it
 * was built from is newer. Everything runs on a copy of the package (sources, node_modules
 * linked) so this checkout's own dist/ is never rebuilt under another test's feet.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../codecs/testing/paths.ts';

const COPIED = ['package.json', 'tsconfig.json', 'bin', 'cli', 'codecs', 'devices', 'gateway', 'lorawan', 'simulator', 'scripts', 'support', 'flows'];

let pkg: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: Record<string, string> = {}): Run {
  // From another folder: the paths must not depend on the working directory.
  const r = spawnSync(process.execPath, args, { cwd: tmpdir(), encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const bundle = (...args: string[]): Run => node([join(pkg, 'dist', 'lorawan-edge.mjs'), ...args]);
const bin = (args: string[], env: Record<string, string> = {}): Run => node([join(pkg, 'bin', 'lorawan-edge'), ...args], env);
const sources = (...args: string[]): Run => bin(args, { LORAWAN_EDGE_FROM_SOURCE: '1' });

beforeAll(() => {
  pkg = mkdtempSync(join(tmpdir(), 'lorawan-edge-bundle-'));
  for (const name of COPIED) cpSync(join(REPO_ROOT, name), join(pkg, name), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(pkg, 'node_modules'));
  const built = node([join(pkg, 'scripts', 'build.mjs')]);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
});

afterAll(() => {
  if (pkg) rmSync(pkg, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('writes the bundle, its source map and the metafile listing the sources it read', () => {
    const meta = JSON.parse(readFileSync(join(pkg, 'dist', 'lorawan-edge.meta.json'), 'utf8')) as { inputs: Record<string, unknown> };
    expect(Object.keys(meta.inputs)).toEqual(expect.arrayContaining(['cli/run.ts', 'cli/main.ts', 'codecs/package-root.ts', 'gateway/gateway.ts']));
    expect(statSync(join(pkg, 'dist', 'lorawan-edge.mjs.map')).size).toBeGreaterThan(0);
  });

  it.each([
    ['--help'],
    ['--version'],
    ['frobnicate'],
    ['decode', '--device', 'dingtek/df703', '--fport', '3', '--var', 'container_depth_mm=1200', '800001011107d000190000000000010081'],
    ['decode', '--device', 'dingtek/df703', '--fport', '3', '8000'],
    ['devices', '--json'],
    // The whole catalogue with every example, the QuickJS sandbox worker included.
    ['validate'],
  ])('the bundle answers %s exactly as the sources do', (...args) => {
    const fromBundle = bundle(...args);
    expect(fromBundle).toEqual(sources(...args));
    expect(fromBundle.stdout.length + fromBundle.stderr.length).toBeGreaterThan(0);
  });
});

describe('bin/lorawan-edge', () => {
  const SENTINEL = "process.stdout.write('from the bundle\\n'); process.exitCode = 3;\n";

  it('runs the bundle while it is fresh, the sources once a source file is newer or when asked to', () => {
    // A stand-in bundle that says where it ran, as old as the real one.
    const out = join(pkg, 'dist', 'lorawan-edge.mjs');
    const built = statSync(out).mtime;
    writeFileSync(out, SENTINEL);
    utimesSync(out, built, built);
    expect(bin(['--version'])).toEqual({ code: 3, stdout: 'from the bundle\n', stderr: '' });
    expect(bin(['--version'], { LORAWAN_EDGE_FROM_SOURCE: '1' }).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);

    const edited = join(pkg, 'codecs', 'api.ts');
    const { atime, mtime } = statSync(edited);
    utimesSync(edited, atime, new Date(built.getTime() + 1000));
    const stale = bin(['--version']);
    expect(stale.code).toBe(0);
    expect(stale.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);

    utimesSync(edited, atime, mtime);
    expect(bin(['--version']).stdout).toBe('from the bundle\n');
  });

  it('runs the sources when there is no metafile (a bundle of unknown age)', () => {
    rmSync(join(pkg, 'dist', 'lorawan-edge.meta.json'));
    expect(bin(['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('an install without devDependencies (no esbuild, no tsx)', () => {
  let bare: string;
  beforeAll(() => {
    bare = mkdtempSync(join(tmpdir(), 'lorawan-edge-no-dev-'));
    for (const name of ['package.json', 'bin', 'scripts']) cpSync(join(REPO_ROOT, name), join(bare, name), { recursive: true });
    mkdirSync(join(bare, 'node_modules'));
  });
  afterAll(() => {
    if (bare) rmSync(bare, { recursive: true, force: true });
  });

  it('the prepare script skips the build with a note; `npm run build` fails', () => {
    const prepare = node([join(bare, 'scripts', 'build.mjs'), '--if-available']);
    expect(prepare.code).toBe(0);
    expect(prepare.stdout).toContain('esbuild is not installed');
    expect(node([join(bare, 'scripts', 'build.mjs')]).code).not.toBe(0);
  });

  it('bin/lorawan-edge without a bundle says what to do', () => {
    const r = node([join(bare, 'bin', 'lorawan-edge'), '--version']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `npm ci` or `npm run build`');
  });
});
