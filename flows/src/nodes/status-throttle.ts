/**
 * Node status at most every `intervalMs`: a decode node sees thousands of messages a second,
 * and each status() call is an event to every open editor. The timer is cleared on close.
 */
import type { NodeStatus, RedNode } from '../red.ts';

export class StatusThrottle {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly node: RedNode,
    private readonly render: () => NodeStatus,
    private readonly intervalMs = 500,
  ) {}

  /** Something changed: show it now if nothing is scheduled, else at the next tick. */
  changed(): void {
    if (this.timer || this.closed) return;
    this.node.status(this.render());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed) this.node.status(this.render());
    }, this.intervalMs);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A message for the status line: one line, at most 60 characters. */
export function short(text: string, max = 60): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
