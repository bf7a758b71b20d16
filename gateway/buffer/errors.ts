/** Errors of the durable log, each with a stable `code` so callers and logs need not parse messages. */

export type DurableLogErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_SINK_NAME'
  | 'LOG_LOCKED'
  | 'LOG_NOT_OPEN'
  | 'LOG_CLOSED'
  | 'LOG_FAILED'
  | 'LOG_FULL'
  | 'RECORD_TOO_LARGE'
  | 'UNENCODABLE_RECORD'
  | 'RECORD_TOO_DEEP'
  | 'COMMIT_OUT_OF_RANGE'
  | 'UNSUPPORTED_FORMAT';

export class DurableLogError extends Error {
  readonly code: DurableLogErrorCode;
  constructor(code: DurableLogErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DurableLogError';
    this.code = code;
  }
}

/** `when_full: 'block'` and no space became free within `block_timeout_ms`. */
export class LogFullError extends DurableLogError {
  constructor(message: string) {
    super('LOG_FULL', message);
    this.name = 'LogFullError';
  }
}
