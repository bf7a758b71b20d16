import { spawn } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { classifyThreads, groupCpu, parseSchedstat, parseTaskStat, ThreadSampler, threadSchedstat, waitsInEpoll } from './threads.ts';

// A line of /proc/<pid>/task/<tid>/stat; comm with a space and a parenthesis, utime 1234, stime 56.
const STAT = '4242 (node (x) y) S 4200 4242 13451 0 -1 4194368 2361 0 0 0 1234 56 0 0 20 0 12 0 6140232 1183449088 24575 18446744073709551615';

describe('bench/edge-ns per-thread CPU', () => {
  it('reads utime + stime and the name from a stat line whose comm holds spaces and parentheses', () => {
    expect(parseTaskStat(STAT)).toEqual({ comm: 'node (x) y', ticks: 1290 });
    expect(parseTaskStat('garbage')).toBeUndefined();
  });

  it('reads the time on a core and the time waiting for one from schedstat', () => {
    expect(parseSchedstat('161925111 446952784 525\n')).toEqual({ runNs: 161925111, waitNs: 446952784 });
    expect(parseSchedstat('')).toBeUndefined();
    expect(threadSchedstat(process.pid)?.runNs).toBeGreaterThan(0);
  });

  it('tells an epoll wait from a futex wait', () => {
    expect(waitsInEpoll('do_epoll_wait')).toBe(true);
    expect(waitsInEpoll('ep_poll')).toBe(true);
    expect(waitsInEpoll('futex_do_wait')).toBe(false);
    expect(waitsInEpoll('0')).toBe(false);
  });

  it('names main, the platform threads started first, later event-loop threads (workers) and the libuv pool', () => {
    // main 100; 101–106 the platform (101 the delayed-task scheduler, in epoll); 107 a Worker; 108–111 the pool.
    const tids = [111, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110];
    const g = classifyThreads(100, tids, new Set([100, 101, 107]), 6);
    expect(g.get(100)).toBe('main');
    expect([101, 102, 103, 104, 105, 106].map((t) => g.get(t))).toEqual(Array(6).fill('V8 platform'));
    expect(g.get(107)).toBe('worker threads');
    expect([108, 109, 110, 111].map((t) => g.get(t))).toEqual(Array(4).fill('libuv pool'));
  });

  it('sums CPU per group between two snapshots, a thread born in between from zero', () => {
    const groups = classifyThreads(1, [1, 2, 3], new Set(), 1);
    const cpu = groupCpu(new Map([[1, 100], [2, 10]]), new Map([[1, 250], [2, 15], [3, 40]]), groups);
    expect(cpu).toEqual([
      { group: 'main', threads: 1, cpuS: 1.5 },
      { group: 'V8 platform', threads: 1, cpuS: 0.05 },
      { group: 'worker threads', threads: 0, cpuS: 0 },
      { group: 'libuv pool', threads: 1, cpuS: 0.4 },
    ]);
  });

  it('samples this process: the thread running this test is the one that burns the CPU', { timeout: 60_000 }, () => {
    const s = new ThreadSampler(process.pid, 1000);
    const a = s.snapshot();
    // Burn 200 ms of CPU (not of wall time: the machine may be loaded), bounded at 30 s.
    const cpu0 = process.cpuUsage();
    const until = performance.now() + 30_000;
    let x = 0;
    while (process.cpuUsage(cpu0).user < 200_000 && performance.now() < until) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i);
    const b = s.snapshot();
    s.stop();
    // vitest runs this file in a child process (forks, its default) or in a worker thread
    // (threads: seen busy, never in epoll, so counted with the pool).
    const cpu = groupCpu(a, b, s.groups());
    const mine = cpu.filter((g) => (isMainThread ? g.group === 'main' : g.group === 'worker threads' || g.group === 'libuv pool')).reduce((t, g) => t + g.cpuS, 0);
    expect(x).toBeGreaterThan(0);
    expect(mine).toBeGreaterThanOrEqual(0.15);
  });

  it('counts the CPU of a Worker (as a UDP intake worker would be) under worker threads, not main', { timeout: 60_000 }, async () => {
    // A child whose Worker is busy 50 ms of every 100 ms (and waits in its event loop between);
    // its main thread only keeps the process alive.
    const worker = 'setInterval(() => { const t = Date.now() + 50; while (Date.now() < t); }, 100);';
    const child = spawn(process.execPath, ['-e', `new (require('node:worker_threads').Worker)(${JSON.stringify(worker)}, { eval: true }); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
    try {
      const s = new ThreadSampler(child.pid as number, 20);
      const a = s.snapshot();
      const until = performance.now() + 30_000;
      let cpu = groupCpu(a, s.snapshot(), s.groups());
      const of = (g: string): number => cpu.find((x) => x.group === g)?.cpuS ?? 0;
      while (of('worker threads') < 0.3 && performance.now() < until) {
        await new Promise((r) => setTimeout(r, 200));
        cpu = groupCpu(a, s.snapshot(), s.groups());
      }
      s.stop();
      expect(of('worker threads')).toBeGreaterThanOrEqual(0.3);
      expect(cpu.find((x) => x.group === 'worker threads')?.threads).toBe(1);
      expect(of('main')).toBeLessThan(of('worker threads') / 2);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
