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
  /** The disk (or the user's quota) is full: ENOSPC or EDQUOT, with the path written. */
  | 'ENOSPACE'
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

/** The ENOSPC/EDQUOT error in `e` or its cause chain (or a BerthError already made of one). */
function diskFullCause(e: unknown): unknown {
  for (let cur = e, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    const code = errnoCode(cur);
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'ENOSPACE') return cur;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return undefined;
}

/** Whether `e` says the disk or a quota is full (ENOSPC, EDQUOT), also further down its causes. */
export function isDiskFull(e: unknown): boolean {
  return diskFullCause(e) !== undefined;
}

/**
 * The one place that turns ENOSPC/EDQUOT into a BerthError: it names the path being written
 * (Node's errors from writes through a file handle carry none), says the disk is full and
 * how to make room. Other errors are returned as they are. `path` is the best path the
 * caller knows; the error's own path wins when it has one.
 */
export function diskFullError(e: unknown, path?: string): unknown {
  const cause = diskFullCause(e);
  if (cause === undefined) return e;
  if (cause instanceof BerthError) return cause;
  const own = typeof (cause as { path?: unknown }).path === 'string' ? (cause as { path: string }).path : undefined;
  const where = own ?? path;
  const quota = errnoCode(cause) === 'EDQUOT';
  return new BerthError('ENOSPACE', `${quota ? 'disk quota exceeded' : 'no space left on device'}${where ? ` writing ${where}` : ''}: the ${quota ? 'quota' : 'disk'} is full`, {
    hint: `free space on the file system${where ? ` holding ${where}` : ''} (berth system prune removes stopped containers, unused images and layers), then retry`,
    cause: e,
  });
}

/** Wraps a lower-level failure with what we were doing when it happened. */
export function wrap(code: ErrorCode, doing: string, cause: unknown, hint?: string): BerthError {
  if (cause instanceof BerthError) return cause;
  if (isDiskFull(cause)) return diskFullError(cause) as BerthError;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BerthError(code, `${doing}: ${detail}`, { cause, ...(hint ? { hint } : {}) });
}
