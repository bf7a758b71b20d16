// Builds the Node-RED package's runtime files (called by the root scripts/build.mjs, so `npm ci`'s
// prepare builds it too; or on its own: `node flows/build.mjs`).
//
// - dist/nodes/lorawan-edge.js: src/nodes/index.ts and every module of the root package it imports
//   (codecs, devices, gateway log/sink/schemas) bundled by esbuild into one CommonJS file with
//   `module.exports` = the register function — Node-RED 4.1 loads node files with require().
//   npm packages (cbor-x, ajv, js-yaml, quickjs-emscripten, @chirpstack/chirpstack-api…) stay
//   external and resolve from the lorawan-edge checkout's node_modules; the catalogue YAML and
//   the sandbox worker are read from the checkout too (codecs/package-root.ts walks up from the
//   bundle to the package named lorawan-edge). So the package is installed from its folder
//   (`npm install <checkout>/flows`, which npm links), not from a copied tarball.
// - dist/nodes/lorawan-edge.html: the editor file, the src/nodes/*.html concatenated (the loader
//   wants it next to the .js with the same base name), their shared form rows and script pieces
//   expanded (editor-html.mjs, src/nodes/fragments/).
import { readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandEditorHtml } from './editor-html.mjs';

const FLOWS = fileURLToPath(new URL('.', import.meta.url));
const OUT = join(FLOWS, 'dist', 'nodes');

export async function buildFlows(esbuild) {
  const started = Date.now();
  rmSync(join(FLOWS, 'dist'), { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  await esbuild.build({
    absWorkingDir: FLOWS,
    entryPoints: { 'lorawan-edge': 'src/nodes/index.ts' },
    outdir: OUT,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node18',
    packages: 'external',
    sourcemap: true,
    // CommonJS has no import.meta: the two modules that use import.meta.url get this file's URL.
    define: { 'import.meta.url': '__lorawanEdgeModuleUrl' },
    banner: {
      js: "// Built by flows/build.mjs from flows/src: edit the sources, not this file.\nconst __lorawanEdgeModuleUrl = require('node:url').pathToFileURL(__filename).href;",
    },
    // `export default` → module.exports = the function (node-red-node-test-helper does not unwrap .default).
    footer: { js: 'module.exports = module.exports.default;' },
    logLevel: 'warning',
  });
  const html = readdirSync(join(FLOWS, 'src', 'nodes'))
    .filter((f) => f.endsWith('.html'))
    .sort()
    .map((f) => `<!-- ${f} -->\n${expandEditorHtml(readFileSync(join(FLOWS, 'src', 'nodes', f), 'utf8').trim(), f, join(FLOWS, 'src', 'nodes', 'fragments'))}\n`)
    .join('\n');
  writeFileSync(join(OUT, 'lorawan-edge.html'), html);
  return `flows/dist/nodes/lorawan-edge.js + .html in ${Date.now() - started} ms`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${await buildFlows(await import('esbuild'))}\n`);
}
