/**
 * The demo's pages: after the run, `--keep` keeps the gateway (and so the pages at the printed
 * URL) up until Ctrl-C, so the demo fleet can be looked at.
 */
import type { Io } from './usage.ts';

export function pagesUrl(listen: string | false): string | undefined {
  return listen === false ? undefined : `http://${listen}/`;
}

/** Resolves on SIGINT or SIGTERM (then the demo stops the gateway as usual). */
export async function keepServing(io: Io, url: string | undefined): Promise<void> {
  io.stdout.write(`\nPages stay up at ${url ?? '(no HTTP listener)'} — Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
