/**
 * Starts the intake worker (udp-intake-client.ts) with the V8 heap its `resourceLimits` ask for,
 * not the process's heap flags.
 *
 * Why: V8 lets the command-line flags `--max-old-space-size` and `--max-semi-space-size` win over
 * an isolate's own resource constraints (Heap::ConfigureHeap reads the flags after the
 * constraints), and a Worker's `resourceLimits` are such constraints. Under the systemd unit's
 * `--max-old-space-size=80 --max-semi-space-size=2` the intake worker got the main thread's heap
 * — a 2 × 2 MB young generation and an 80 MB old-space limit — whatever it asked for
 * (bench/RESULTS.md, "session 9, ns-intake-default": heap_size_limit 86 MB in the worker).
 *
 * How: the two flags are set to 0 (V8's "not set") just before the Worker is constructed and set
 * back to the values the process was started with once the worker runs JavaScript ('online':
 * its isolate and heap exist by then), or once it fails to start. The main thread's heap was
 * configured at process start and does not read these flags again. Another isolate created in
 * that window (a few ms during the source's start) would also get its own constraints or V8's
 * defaults; the gateway starts none then (the local store's worker and codec sandboxes start
 * after the source is running). Flags the process was not started with are not touched.
 */
import { setFlagsFromString } from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The V8 heap flags that override a Worker's resourceLimits, as the process was started. */
const OVERRIDING = ['max-old-space-size', 'max-semi-space-size'] as const;

/** `--name=value`, `--name value` and the underscore spellings, in execArgv and NODE_OPTIONS; the last one wins as in V8. */
export function heapFlagsOf(execArgv: readonly string[], nodeOptions: string | undefined): Map<string, string> {
  const args = [...(nodeOptions ?? '').split(/\s+/).filter(Boolean), ...execArgv];
  const found = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z_-]+)(?:=(.*))?$/.exec(args[i] as string);
    if (!m) continue;
    const name = (m[1] as string).replace(/_/g, '-');
    if (!(OVERRIDING as readonly string[]).includes(name)) continue;
    const value = m[2] ?? args[i + 1];
    if (value !== undefined && /^\d+$/.test(value)) found.set(name, value);
  }
  return found;
}

let starting = 0;

/** `new Worker(file, options)`, its `resourceLimits` in force even under the process's heap flags. */
export function workerWithOwnHeap(file: string | URL, options: WorkerOptions): Worker {
  const flags = heapFlagsOf(process.execArgv, process.env['NODE_OPTIONS']);
  if (flags.size === 0 || !options.resourceLimits) return new Worker(file, options);
  for (const name of flags.keys()) setFlagsFromString(`--${name}=0`);
  starting++;
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    // Two workers starting at once: the flags come back when the last of them runs.
    if (--starting > 0) return;
    for (const [name, value] of flags) setFlagsFromString(`--${name}=${value}`);
  };
  let worker: Worker;
  try {
    worker = new Worker(file, options);
  } catch (err) {
    restore();
    throw err;
  }
  worker.once('online', restore);
  worker.once('error', restore);
  worker.once('exit', restore);
  return worker;
}
