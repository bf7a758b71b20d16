// The pages (gateway/web/pages/app.ts) bundled for the browser into dist/web/: app.js, app.css
// (uPlot's and Leaflet's stylesheets included) and the images those reference. No CDN at run
// time: the gateway serves these files itself (gateway/web/web-handler.ts).
// Used by scripts/build.mjs (`npm run build`, `npm ci`) and by the browser tests; run alone
// with `node scripts/build-web.mjs`.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const WEB_OUT = join(ROOT, 'dist', 'web');

export async function buildWeb(esbuild, outdir = WEB_OUT) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { app: 'gateway/web/pages/app.ts' },
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2020',
    minify: true,
    sourcemap: true,
    loader: { '.png': 'file', '.svg': 'file' },
    assetNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bytes = await buildWeb(await import('esbuild'));
  process.stdout.write(`dist/web: ${Math.round(bytes / 1024)} KB\n`);
}
