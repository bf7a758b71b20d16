/**
 * The one place that turns an error a person can cause into one line on stderr and a
 * documented exit code. Verbs throw (UsageError, OperatorError or whatever Node throws: a port in
 * use, a folder that does not exist); main() hands it to explainError() and never lets a stack
 * trace reach a technician's terminal. The table below is the contract the root README and
 * cli/README.md document; systemd's unit keys off 78 (RestartPreventExitStatus).
 */
import { dirname } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { UsageError } from './usage.ts';

/** Exit codes (sysexits.h where one fits). Keep README.md and cli/README.md in step. */
export const EXIT = {
  /** the command did what was asked */
  ok: 0,
  /** it ran, and what it processed had errors (a bad frame, a failing example, a rejected row) */
  errors: 1,
  /** the command line is wrong (unknown option or value, missing argument) */
  usage: 2,
  /** an internal error: a bug, reported in one line (LORAWAN_EDGE_DEBUG=1 prints the stack) */
  software: 70,
  /** an output file or folder cannot be created (missing folder, no permission, read-only disk) */
  cantCreate: 73,
  /** reading or writing a file failed for another reason */
  io: 74,
  /** a resource is busy (a port in use, a data folder held by another process): retry once it is free */
  busy: 75,
  /** the configuration (gateway.yaml, the registry) is invalid: fix it, a restart will not help */
  config: 78,
} as const;

/** An error with its own exit code and the hint that says what to do. */
export class OperatorError extends Error {
  override readonly name = 'OperatorError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** What main() prints and returns for an error. */
export interface Explained {
  line: string;
  code: number;
}

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number; dest?: string };

const WHY: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'it exists already',
};

/** The nearest existing ancestor of a path that is missing, for "create it with mkdir -p". */
function missingFolder(path: string): string | undefined {
  const dir = dirname(path);
  return existsSync(dir) ? undefined : dir;
}

function systemError(err: SystemError): Explained | undefined {
  const code = err.code ?? '';
  if (err.syscall === 'listen' || err.syscall === 'bind') {
    const where = `${err.address ?? '?'}:${err.port ?? '?'}`;
    if (code === 'EADDRINUSE') {
      return { line: `${where} is already in use by another program (another gateway?): stop it, or set another port (http.listen in the config)`, code: EXIT.busy };
    }
    if (code === 'EACCES') return { line: `cannot listen on ${where}: permission denied (ports below 1024 need root): choose a port above 1024`, code: EXIT.cantCreate };
    if (code === 'EADDRNOTAVAIL') return { line: `cannot listen on ${where}: no network interface has that address: use 127.0.0.1 or an address of this machine`, code: EXIT.config };
  }
  if (!err.path || !WHY[code]) return undefined;
  const path = err.path;
  const writing = ['mkdir', 'open', 'rename', 'write', 'mkdtemp', 'copyfile', 'symlink', 'unlink', 'rmdir'].includes(err.syscall ?? '');
  if (code === 'ENOENT' && writing) {
    const folder = missingFolder(path);
    if (folder) return { line: `cannot create ${path}: the folder ${folder} does not exist: create it (mkdir -p ${folder}) or choose another path`, code: EXIT.cantCreate };
  }
  if (code === 'ENOENT') return { line: `${path}: no such file or folder: check the path`, code: EXIT.io };
  const cantCreate = ['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST'].includes(code);
  return { line: `cannot ${err.syscall ?? 'use'} ${path}: ${WHY[code]}`, code: cantCreate ? EXIT.cantCreate : EXIT.io };
}

/**
 * One line and an exit code for any error a verb throws. `command` is what the user typed
 * before the options ("devices add"), to point at its --help.
 */
export function explainError(err: unknown, command: string): Explained {
  const help = `run "lorawan-edge ${command} --help"`;
  if (err instanceof UsageError) return { line: err.message, code: EXIT.usage };
  if (err instanceof OperatorError) return { line: err.message, code: err.exitCode };
  const e = err as SystemError;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // Node's text goes on about positional arguments starting with '-': name the option only.
    const option = /'([^']+)'/.exec(e.message)?.[1] ?? e.message;
    return { line: `unknown option ${option} (${help} for the options)`, code: EXIT.usage };
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(e.message);
    return { line: m ? `${m[1]} needs a value (${help})` : `${e.message.split('\n')[0]} (${help})`, code: EXIT.usage };
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']+)'/.exec(e.message)?.[1] ?? '';
    return { line: `unexpected argument "${arg}" (${help})`, code: EXIT.usage };
  }
  if (code.startsWith('ERR_PARSE_ARGS')) return { line: `${e.message.split('\n')[0]} (${help})`, code: EXIT.usage };
  const sys = e instanceof Error ? systemError(e) : undefined;
  if (sys) return sys;
  const message = e instanceof Error ? e.message.split('\n')[0] : String(err);
  return { line: `internal error: ${message} (a bug: LORAWAN_EDGE_DEBUG=1 prints the stack trace to report)`, code: EXIT.software };
}

/**
 * Checks before any work that an output file can be created where the user asked: its folder
 * exists and is a folder. `flag` names the option in the message ("--ledger").
 */
export function checkOutputFile(path: string, flag: string): void {
  const dir = dirname(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new OperatorError(`${flag} ${path}: the folder ${dir} does not exist: create it (mkdir -p ${dir}) or choose another path`, EXIT.cantCreate);
  }
  if (!isDir) throw new OperatorError(`${flag} ${path}: ${dir} is a file, not a folder: choose another path`, EXIT.cantCreate);
}
