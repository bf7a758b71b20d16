/**
 * Child process of the crash test: appends records as fast as group commit allows (singles and
 * batches, many in flight) while a consumer reads and commits, and prints on stdout
 *   start <next id>      once the log is open
 *   ack <first> <last>   when appends covering those ids resolved (they are durable)
 *   commit <id>          when the consumer's cursor commit resolved
 * until it is killed. Every record is uplinkFor(id): the ids are predicted, since they are
 * assigned in call order, and a mismatch exits with code 3. Stdout is a pipe, which Node writes
 * synchronously on Linux, so a printed line was printed before the kill.
 *
 *   node --import tsx gateway/buffer/testing/crash-writer.ts <dir> <segment_bytes> <fsync_interval_ms> [cursor_interval_ms]
 */
import { DurableLog } from '../log.ts';
import { uplinkFor } from './records.ts';
import type { TestUplink } from './records.ts';

const [dir, segmentArg, intervalArg, cursorIntervalArg] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: crash-writer.ts <dir> <segment_bytes> <fsync_interval_ms>\n');
  process.exit(2);
}
// Never outlive a test that died.
setTimeout(() => process.exit(0), 20_000).unref();

const log = await DurableLog.open<TestUplink>({
  dir,
  segment_bytes: Number(segmentArg ?? 65536),
  fsync_interval_ms: Number(intervalArg ?? 5),
  cursor_interval_ms: Number(cursorIntervalArg ?? 0),
  sinks: ['consumer'],
});
let next = log.nextId;
process.stdout.write(`start ${next}\n`);

function mismatch(expected: number, got: number): never {
  process.stderr.write(`id mismatch: expected ${expected}, got ${got}\n`);
  process.exit(3);
}

async function writer(lane: number): Promise<void> {
  for (let round = 0; ; round++) {
    if ((round + lane) % 3 === 0) {
      const n = 1 + ((round * 7 + lane) % 20);
      const first = next;
      next += n;
      const values = Array.from({ length: n }, (_, i) => uplinkFor(first + i));
      const ids = await log.appendBatch(values);
      if (ids[0] !== first || ids.length !== n) mismatch(first, ids[0] ?? -1);
      process.stdout.write(`ack ${first} ${first + n - 1}\n`);
    } else {
      const id = next++;
      const got = await log.append(uplinkFor(id));
      if (got !== id) mismatch(id, got);
      process.stdout.write(`ack ${id} ${id}\n`);
    }
  }
}

/** Reads more slowly than the writers append and commits one batch behind, so segments are
 * deleted while plenty of uncommitted records stay for the parent to check. */
async function consumer(): Promise<void> {
  const reader = log.reader('consumer');
  let previous = 0;
  for (;;) {
    const batch = await reader.read(100, 1000);
    if (previous > 0) {
      await log.commit('consumer', previous);
      process.stdout.write(`commit ${previous}\n`);
    }
    previous = batch[batch.length - 1]?.id ?? previous;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

await Promise.all([...Array.from({ length: 32 }, (_, lane) => writer(lane)), consumer()]);
