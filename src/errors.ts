/** Codes carried by every ExpnetError; the CLI maps them to exit codes, the server to HTTP statuses. */
export type ExpnetErrorCode =
  | 'BAD_INPUT'
  | 'BAD_IMAGE'
  /** A video that cannot be decoded (corrupt, truncated, no video stream, no frames, over the limits). */
  | 'BAD_VIDEO'
  /** An external tool (ffmpeg) is not installed. */
  | 'MISSING_TOOL'
  | 'BAD_LABEL_FILE'
  | 'BAD_WEIGHTS'
  | 'BAD_MODEL'
  | 'NOT_FOUND'
  | 'NATIVE'
  | 'BAD_CONFIG'
  /** Training diverged (the loss became NaN or infinite). */
  | 'DIVERGED'
  /** A file could not be written (no space left, permission denied); the message names it. */
  | 'WRITE_FAILED';

/** The one exception type of the library: a code, a message saying what was expected vs what arrived, a cause. */
export class ExpnetError extends Error {
  readonly code: ExpnetErrorCode;

  constructor(code: ExpnetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExpnetError';
    this.code = code;
  }
}

const FS_REASONS: Readonly<Record<string, string>> = { ENOENT: 'no such file or folder', EACCES: 'permission denied', EPERM: 'not permitted', EISDIR: 'is a folder', ENOTDIR: 'a parent is not a folder', ENOSPC: 'no space left on the device' };

/** Why a file operation failed, without the path (node's messages repeat it: the caller names the file once). */
export function fsReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' ? FS_REASONS[code] : undefined) ?? (err instanceof Error ? err.message : String(err));
}
