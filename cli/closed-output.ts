/**
 * `lorawan-edge … | head`: once the reader has what it wants it closes the pipe, and the next
 * write fails with EPIPE — asynchronously, as an 'error' event on process.stdout that nobody
 * listens to, which Node turns into a stack trace and exit 1. A closed output is not an error
 * of the command (cat, grep and jq end quietly too): the process ends at once with exit 0.
 */

/** True for the error a write to a pipe whose reader has gone away fails with. */
export function isClosedOutput(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'EPIPE';
}

/** Ends the process quietly (exit 0) when `stream`'s reader goes away; other errors rethrow. */
export function endQuietlyWhenClosed(stream: NodeJS.WriteStream, exit: (code: number) => never = process.exit): void {
  stream.on('error', (err) => {
    if (isClosedOutput(err)) exit(0);
    throw err;
  });
}
