/**
 * BerthError is the one error type that crosses module boundaries. It carries a stable
 * machine-readable `code`, a message saying what failed (naming the field, path or errno),
 * an optional `hint` saying how to fix it, and the underlying `cause`. Library code throws
 * these; only the CLI/API boundary renders them.
 */
export type ErrorCode =
  | 'EINVALID_CONFIG'
  | 'EINVALID_ARGUMENT'
  | 'ENOT_FOUND'
  | 'EEXISTS'
  | 'ESTATE'
  | 'ESYSCALL'
  | 'EINIT'
  | 'EHOOK'
  | 'ECGROUP'
  | 'ESECCOMP'
  /** A layer archive entry that would escape or corrupt its target (hostile or broken tar). */
  | 'EUNSAFE_ARCHIVE'
  /** A layer archive that is malformed or uses a feature Berth does not support. */
  | 'EBAD_ARCHIVE'
  /** Removal refused because something still uses the object (a layer under a container). */
  | 'EIN_USE'
  /** A backend that cannot work on this host, or a format/feature Berth does not support. */
  | 'EUNSUPPORTED'
  /** A registry refused our credentials, or asked for some we do not have. */
  | 'EAUTH'
  /** Content did not match its digest, size or diff_id. */
  | 'EDIGEST'
  /** A registry answered with an error or something we cannot use. */
  | 'EREGISTRY'
  /** A connection failed (refused, reset, timed out) after retries. */
  | 'ENETWORK'
  /** Content exceeded a safety limit (manifest size, decompression ratio). */
  | 'ELIMIT'
  /** The operation was cancelled through its AbortSignal. */
  | 'EABORTED'
  /** Invalid image reference or platform string. */
  | 'EINVALID_REFERENCE'
  | 'EINTERNAL';

export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  override readonly cause: unknown;

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message);
    this.name = 'BerthError';
    this.code = code;
    this.hint = opts.hint;
    this.cause = opts.cause;
  }
}

export function isBerthError(e: unknown): e is BerthError {
  return e instanceof BerthError;
}

/** Errno-style code of a Node system error (`ENOENT`, ...), or undefined. */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    return (e as { code: string }).code;
  }
  return undefined;
}

/** Wraps a lower-level failure with what we were doing when it happened. */
export function wrap(code: ErrorCode, doing: string, cause: unknown, hint?: string): BerthError {
  if (cause instanceof BerthError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BerthError(code, `${doing}: ${detail}`, { cause, ...(hint ? { hint } : {}) });
}
