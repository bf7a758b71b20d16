#!/usr/bin/env node
// `npm run build`: bundles the command (cli/run.ts and every module of ours it imports) into
// dist/lorawan-edge.mjs with esbuild, so the gateway runs as plain JavaScript without tsx's
// loader thread and esbuild process. npm packages stay external: they load from node_modules.
// Modules imported with import() (each verb, the sandbox) go to chunks in dist/chunks/: in one
// file, esbuild would hoist their packages' imports to the top, and `gateway` would load the
// demo's MQTT broker again.
// Data files (catalogue YAML, examples, the sandbox worker) are read at run time from the
// package folder, so the bundle only works inside it (codecs/package-root.ts).
//
// dist/lorawan-edge.meta.json is esbuild's metafile: its `inputs` are the source files the bundle
// was built from, and bin/lorawan-edge runs the bundle only while none of them is newer.
//
// `--if-available` (the prepare script, run by `npm ci`): when esbuild is not installed (an
// install without devDependencies), say so and exit 0 instead of failing the install.
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'lorawan-edge.mjs');

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !process.argv.includes('--if-available')) throw err;
  process.stdout.write('lorawan-edge: esbuild is not installed (no devDependencies), dist/lorawan-edge.mjs not built\n');
  process.exit(0);
}

const started = new Date();
rmSync(DIST, { recursive: true, force: true }); // chunk names change with their content
const result = await esbuild.build({
  absWorkingDir: ROOT,
  // The local store's writer runs in a worker thread of its own (gateway/web/store/store-worker.ts),
  // so does the semtech_udp source's intake with `intake_thread: true` (gateway/sources/udp-intake-worker.ts).
  entryPoints: { 'lorawan-edge': 'cli/run.ts', 'store-worker': 'gateway/web/store/store-worker.ts', 'udp-intake-worker': 'gateway/sources/udp-intake-worker.ts' },
  outdir: DIST,
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  metafile: true,
  banner: { js: '// Built by `npm run build` (scripts/build.mjs) from cli/run.ts: edit the sources, not this file.' },
  logLevel: 'warning',
});
writeFileSync(join(DIST, 'lorawan-edge.meta.json'), JSON.stringify(result.metafile));
// The bundle is as old as the sources it read: a file saved while esbuild ran makes it stale.
utimesSync(OUT, started, started);

// The Node-RED package in flows/ (its own CommonJS bundle; see flows/build.mjs).
const { buildFlows } = await import('../flows/build.mjs');
const flowsBuilt = await buildFlows(esbuild);
// The pages the gateway serves (dist/web/), bundled for the browser.
const { buildWeb } = await import('./build-web.mjs');
await buildWeb(esbuild);

const { inputs, outputs } = result.metafile;
const js = Object.entries(outputs).filter(([file]) => file.endsWith('.mjs'));
const kb = Math.round(js.reduce((sum, [, o]) => sum + o.bytes, 0) / 1024);
process.stdout.write(
  `${relative(ROOT, OUT)}: ${kb} KB in ${js.length} files from ${Object.keys(inputs).length} source files in ${Date.now() - started.getTime()} ms; ${flowsBuilt}\n`,
);
