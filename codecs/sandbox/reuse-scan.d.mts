/** Types of reuse-scan.mjs (plain JavaScript, imported by the sandbox thread). */
export type ReuseVerdict = { reuse: true; names: string[]; reason?: undefined } | { reuse: false; reason: string; names?: undefined };
export function sourceWords(source: string): Set<string>;
export function reuseVerdict(source: string): ReuseVerdict;
