/** Builds flows/dist (see build.mjs); `esbuild` is the imported esbuild module. Resolves with a one-line summary. */
export function buildFlows(esbuild: unknown): Promise<string>;
