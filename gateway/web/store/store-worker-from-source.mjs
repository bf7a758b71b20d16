// Entry of the store worker when the gateway runs from the TypeScript sources (tsx, vitest): a
// worker thread does not inherit vitest's transform, so it registers tsx's loader itself. The
// bundle (`npm run build`) has its own entry, dist/store-worker.mjs.
const tsx = await import('tsx/esm/api');
tsx.register();
await import('./store-worker.ts');
