/**
 * CPU per thread of a process, from /proc/<pid>/task/<tid>/stat (utime + stime per thread) and
 * /proc/<pid>/task/<tid>/wchan (where a sleeping thread waits): which thread of the gateway
 * saturates first. A process total above 1 core says nothing about whether the main thread — the
 * one every uplink passes — is at 100 % of its core.
 *
 * Node 20 names every thread "node" (`comm`; Node 22 names them), so the threads are told apart
 * by what they are:
 * - `main`: tid == pid, the event loop of the JS that runs the gateway;
 * - `V8 platform`: the first `platformThreads` threads created after it (tids are handed out
 *   in creation order), started before any JS runs: V8's worker threads (`--v8-pool-size`, 4 by
 *   default: concurrent marking, parallel scavenge, compilation), Node's delayed-task scheduler,
 *   the inspector's signal thread — 6 in all by default (seen on this machine);
 * - `worker threads`: later threads seen waiting in epoll (a Worker's thread runs its own event
 *   loop, as the main thread does);
 * - `libuv pool`: the other later threads, waiting on a futex between jobs — the libuv
 *   threadpool (UV_THREADPOOL_SIZE, 4 by default: async fs, fsync, zlib, dns.lookup), started at
 *   its first job.
 * A thread that ends between two samples keeps the CPU it had at its last sample (the process
 * total from /proc/<pid>/stat counts it whole).
 *
 * On a shared machine a main thread below 100 % may be starved rather than idle: the scheduler's
 * own account (/proc/<pid>/task/<tid>/schedstat: ns running, ns runnable but waiting for a core)
 * tells them apart — running + waiting near 100 % is a thread that always had work.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux USER_HZ (/proc counts CPU in these ticks; 100 on every common kernel). */
export const CLK_TCK = 100;

/** Threads Node 20 starts before JS (4 V8 workers + delayed-task scheduler + signal thread). */
export const NODE_PLATFORM_THREADS = 6;

export type ThreadGroup = 'main' | 'V8 platform' | 'worker threads' | 'libuv pool';
export const THREAD_GROUPS: readonly ThreadGroup[] = ['main', 'V8 platform', 'worker threads', 'libuv pool'];

/** utime + stime ticks and the name of a line of /proc/<pid>[/task/<tid>]/stat. */
export function parseTaskStat(text: string): { comm: string; ticks: number } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  // After the ")" that closes comm (which may hold spaces and parentheses): state is field 3,
  // utime field 14, stime field 15.
  const f = text.slice(close + 2).split(' ');
  const u = Number(f[11]);
  const s = Number(f[12]);
  if (!Number.isFinite(u) || !Number.isFinite(s)) return undefined;
  return { comm: text.slice(open + 1, close), ticks: u + s };
}

/** Whether a wchan names an epoll wait (`do_epoll_wait`, `ep_poll` on older kernels). */
export function waitsInEpoll(wchan: string): boolean {
  return /epoll|ep_poll/.test(wchan);
}

/** The group of each thread: `tids` of the process, those ever seen in epoll, `platform` = NODE_PLATFORM_THREADS. */
export function classifyThreads(pid: number, tids: readonly number[], epoll: ReadonlySet<number>, platform = NODE_PLATFORM_THREADS): Map<number, ThreadGroup> {
  const out = new Map<number, ThreadGroup>();
  const later = tids.filter((t) => t !== pid).sort((a, b) => a - b);
  if (tids.includes(pid)) out.set(pid, 'main');
  later.forEach((t, i) => out.set(t, i < platform ? 'V8 platform' : epoll.has(t) ? 'worker threads' : 'libuv pool'));
  return out;
}

export interface GroupCpu {
  group: ThreadGroup;
  threads: number;
  /** CPU seconds between the two snapshots */
  cpuS: number;
}

/** CPU seconds per group between two snapshots (tid → ticks; a thread born in between starts at 0). */
export function groupCpu(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>, groups: ReadonlyMap<number, ThreadGroup>): GroupCpu[] {
  const by = new Map<ThreadGroup, GroupCpu>(THREAD_GROUPS.map((g) => [g, { group: g, threads: 0, cpuS: 0 }]));
  for (const [tid, ticks] of after) {
    const g = by.get(groups.get(tid) ?? 'libuv pool') as GroupCpu;
    g.threads++;
    g.cpuS += (ticks - (before.get(tid) ?? 0)) / CLK_TCK;
  }
  return [...by.values()];
}

/** /proc/<pid>/task/<tid>/schedstat: ns on a core, ns runnable but waiting in a run queue. */
export function parseSchedstat(text: string): { runNs: number; waitNs: number } | undefined {
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  return run !== undefined && wait !== undefined && Number.isFinite(run) && Number.isFinite(wait) ? { runNs: run, waitNs: wait } : undefined;
}

/** The schedstat of one thread (the main thread: tid = pid); undefined when gone or not kept by the kernel. */
export function threadSchedstat(pid: number, tid = pid): { runNs: number; waitNs: number } | undefined {
  try {
    return parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** utime + stime of a whole process (its threads, ended ones included), seconds; NaN when gone. */
export function processCpuS(pid: number): number {
  try {
    return (parseTaskStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.ticks ?? NaN) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Samples every thread of `pid` every `everyMs` (so a thread's epoll waits are seen, and a thread
 * that ends keeps its last CPU figure); `snapshot()` samples at once and gives tid → ticks.
 */
export class ThreadSampler {
  private readonly ticks = new Map<number, number>();
  private readonly epoll = new Set<number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    everyMs = 200,
    private readonly platform = NODE_PLATFORM_THREADS,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(): void {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`);
    } catch {
      return; // process gone
    }
    for (const t of tids) {
      const tid = Number(t);
      try {
        const s = parseTaskStat(readFileSync(`/proc/${this.pid}/task/${t}/stat`, 'utf8'));
        if (s) this.ticks.set(tid, s.ticks);
        if (waitsInEpoll(readFileSync(`/proc/${this.pid}/task/${t}/wchan`, 'utf8'))) this.epoll.add(tid);
      } catch {
        // thread ended between readdir and read
      }
    }
  }

  snapshot(): Map<number, number> {
    this.sample();
    return new Map(this.ticks);
  }

  groups(): Map<number, ThreadGroup> {
    return classifyThreads(this.pid, [...this.ticks.keys()], this.epoll, this.platform);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
