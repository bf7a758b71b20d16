// Entry of the UDP intake worker when the gateway runs from the TypeScript sources (tsx, vitest):
// a worker thread does not inherit vitest's transform, so it registers tsx's loader itself. The
// bundle (`npm run build`) has its own entry, dist/udp-intake-worker.mjs.
const tsx = await import('tsx/esm/api');
tsx.register();
await import('./udp-intake-worker.ts');
