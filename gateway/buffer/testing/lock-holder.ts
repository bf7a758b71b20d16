/**
 * Test helper run as a child process: opens the durable log in argv[2], prints "open", and keeps
 * it open until killed (the lock tests SIGKILL it, as a crash or power cut would end it).
 */
import { DurableLog } from '../index.ts';

const log = await DurableLog.open({ dir: process.argv[2] as string, fsync_interval_ms: 1 });
process.stdout.write(`open ${log.nextId}\n`);
setInterval(() => undefined, 60_000);
