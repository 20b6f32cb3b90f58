/** Codes carried by every ExpnetError; the CLI maps them to exit codes, the server to HTTP statuses. */
export type ExpnetErrorCode =
  | 'BAD_INPUT'
  | 'BAD_IMAGE'
  | 'BAD_LABEL_FILE'
  | 'BAD_WEIGHTS'
  | 'BAD_MODEL'
  | 'NOT_FOUND'
  | 'NATIVE'
  | 'BAD_CONFIG'
  /** Training diverged (the loss became NaN or infinite). */
  | 'DIVERGED';

/** The one exception type of the library: a code, a message saying what was expected vs what arrived, a cause. */
export class ExpnetError extends Error {
  readonly code: ExpnetErrorCode;

  constructor(code: ExpnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExpnetError';
    this.code = code;
  }
}
