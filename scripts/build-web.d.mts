// Types of build-web.mjs for the TypeScript that imports it (the browser tests).
export declare const WEB_OUT: string;
/** Bundles the pages into `outdir` (default dist/web); resolves to the bytes written. */
export declare function buildWeb(esbuild: unknown, outdir?: string): Promise<number>;
