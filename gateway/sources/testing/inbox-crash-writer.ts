/**
 * The child of udp-inbox.test.ts's crash test: opens the inbox journal in `dir`, replays what is
 * after its cursor, then appends datagrams (content derived from a counter) as fast as it can and
 * marks entries done in a shuffled order, printing what it did before it is SIGKILLed:
 *   start <firstCounter>        open, replay taken
 *   replay <id> <counter>       an entry handed over again
 *   ack <id> <counter>          append resolved (the PUSH_ACK would leave now)
 *   done <id>                   printed before done(id) is called
 *
 *   node --import tsx inbox-crash-writer.ts <dir> <firstCounter> <seed>
 */
import { Registry } from 'prom-client';
import { inboxMetrics } from '../inbox-metrics.ts';
import { UdpInbox } from '../udp-inbox.ts';
import { inboxDatagram, counterOf } from './inbox-datagrams.ts';

const [dir, firstArg, seedArg] = process.argv.slice(2);
let counter = Number(firstArg);
let seed = Number(seedArg) >>> 0;
const rnd = (): number => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const out: string[] = [];
const flush = (): void => {
  if (out.length) process.stdout.write(`${out.join('\n')}\n`);
  out.length = 0;
};

const inbox = await UdpInbox.open({ dir: dir as string, fsync_interval_ms: 2, cursor_interval_ms: 10 }, inboxMetrics(new Registry()), (err) => process.stderr.write(`${err.message}\n`));
const open: number[] = [];
for (const { id, entry } of inbox.takeReplay()) {
  inbox.track(id, 1);
  open.push(id);
  out.push(`replay ${id} ${counterOf(entry.datagram)}`);
}
out.push(`start ${counter}`);
flush();

const doneSome = (): void => {
  // Entries finish out of order, as frames of different dedup windows and batches do.
  while (open.length > 8 || (open.length > 0 && rnd() < 0.3)) {
    const k = Math.floor(rnd() * open.length);
    const id = open.splice(k, 1)[0] as number;
    out.push(`done ${id}`);
    flush();
    inbox.done([id]);
  }
};

for (let i = 0; i < 1_000_000; i++) {
  const burst = 1 + Math.floor(rnd() * 20);
  const acks: Promise<void>[] = [];
  for (let j = 0; j < burst; j++) {
    const c = counter++;
    const d = inboxDatagram(c);
    acks.push(
      inbox.append(`00000000000000${(c % 7).toString(16).padStart(2, '0')}`, d).then((id) => {
        out.push(`ack ${id} ${c}`);
        inbox.track(id, 1);
        open.push(id);
      }),
    );
  }
  await Promise.all(acks);
  flush();
  doneSome();
}
