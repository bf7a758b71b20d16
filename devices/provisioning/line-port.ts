/**
 * A serial port as a stream of text lines, the way every AT dialect frames its answers (CR LF).
 *
 * Bounds: a line longer than MAX_LINE bytes, or bytes that are not printable text, are not
 * lines — they are counted as garbage (wrong baud rate, wrong dialect, noise), and `readLine`
 * reports them so the caller can fail with a clear message instead of waiting. At most
 * MAX_QUEUED lines wait to be read; older ones are dropped (a device that floods the line).
 * Every read has a deadline. A port that closes (unplugged) ends every pending read.
 */
import { SerialPort } from 'serialport';
import { ProvisionError } from './errors.ts';

const MAX_LINE = 1024;
const MAX_QUEUED = 256;

export type LineEvent = { kind: 'line'; text: string } | { kind: 'garbage'; bytes: number } | { kind: 'closed' } | { kind: 'timeout' };

export interface LineChannel {
  writeLine(text: string): Promise<void>;
  /** The next line (or garbage/closed), or `timeout` after `timeoutMs`. */
  next(timeoutMs: number): Promise<LineEvent>;
  /** Drops queued lines (e.g. after a reset banner). */
  drain(): void;
  close(): Promise<void>;
  readonly path: string;
}

/** Splits bytes into lines and garbage; shared by the real port and the emulators. */
export class LineSplitter {
  private pending = '';
  constructor(private readonly emit: (e: LineEvent) => void) {}

  push(chunk: Buffer): void {
    let garbage = 0;
    let text = '';
    for (const b of chunk) {
      // Printable ASCII, tab, CR, LF and UTF-8 continuation-free Latin-1 range are text; the
      // rest (NUL, control bytes, 0x80+ noise) is what a wrong baud rate produces.
      if (b === 0x0a || b === 0x0d || b === 0x09 || (b >= 0x20 && b < 0x7f)) text += String.fromCharCode(b);
      else garbage++;
    }
    if (garbage > 0) this.emit({ kind: 'garbage', bytes: garbage });
    this.pending += text;
    for (;;) {
      const nl = this.pending.search(/[\r\n]/);
      if (nl < 0) break;
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (line !== '') this.emit({ kind: 'line', text: line });
    }
    if (this.pending.length > MAX_LINE) {
      this.emit({ kind: 'garbage', bytes: this.pending.length });
      this.pending = '';
    }
  }
}

function openError(path: string, err: Error): ProvisionError {
  const m = err.message;
  if (/No such file|ENOENT/i.test(m)) return new ProvisionError('PORT_MISSING', `no serial device at ${path} (is it plugged in? check the name with "ls /dev/tty*")`);
  if (/lock|busy|EBUSY|temporarily unavailable/i.test(m)) return new ProvisionError('PORT_BUSY', `${path} is in use by another program (close minicom/screen or another provisioning run)`);
  if (/EACCES|Permission denied/i.test(m)) return new ProvisionError('PORT_DENIED', `no permission to open ${path} (add your user to the "dialout" group, then log in again)`);
  return new ProvisionError('PORT_MISSING', `cannot open ${path}: ${m.split('\n')[0]}`);
}

/** Opens a serial port as a LineChannel; rejects with a ProvisionError naming the cause. */
export async function openLinePort(path: string, baudRate: number): Promise<LineChannel> {
  const port = new SerialPort({ path, baudRate, autoOpen: false, lock: true });
  await new Promise<void>((resolve, reject) => {
    port.open((err) => (err ? reject(openError(path, err)) : resolve()));
  });
  const queue: LineEvent[] = [];
  let waiter: ((e: LineEvent) => void) | undefined;
  let closed = false;
  const deliver = (e: LineEvent): void => {
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w(e);
      return;
    }
    queue.push(e);
    if (queue.length > MAX_QUEUED) queue.shift();
  };
  const splitter = new LineSplitter(deliver);
  port.on('data', (chunk: Buffer) => splitter.push(chunk));
  const onGone = (): void => {
    if (closed) return;
    closed = true;
    deliver({ kind: 'closed' });
  };
  port.on('close', onGone);
  // An unplugged device shows up as EIO on the next read or write, then `close`.
  port.on('error', onGone);

  return {
    path,
    async writeLine(text: string): Promise<void> {
      if (closed) throw new ProvisionError('PORT_CLOSED', `${path} went away (device unplugged?)`);
      await new Promise<void>((resolve, reject) => {
        port.write(`${text}\r\n`, (err) => {
          if (err) {
            onGone();
            reject(new ProvisionError('PORT_CLOSED', `${path} went away while writing (device unplugged?)`));
          } else port.drain(() => resolve());
        });
      });
    },
    next(timeoutMs: number): Promise<LineEvent> {
      const queued = queue.shift();
      if (queued) return Promise.resolve(queued);
      if (closed) return Promise.resolve({ kind: 'closed' });
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          resolve({ kind: 'timeout' });
        }, timeoutMs);
        waiter = (e) => {
          clearTimeout(timer);
          resolve(e);
        };
      });
    },
    drain(): void {
      queue.length = 0;
    },
    async close(): Promise<void> {
      closed = true;
      if (!port.isOpen) return;
      await new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}
