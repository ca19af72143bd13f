/**
 * The engine's messages name request fields (`HostConfig.LogConfig.Type`); the CLI prints
 * them with its flags instead (`--log-driver`), as docker's CLI words them.
 */
import { BerthError, isBerthError } from '../../core/errors';

/** `e` with each field in its message and hint replaced by the flag `flags` gives for it. */
export function inFlagWords(e: unknown, flags: Readonly<Record<string, string>>): unknown {
  if (!isBerthError(e)) return e;
  const swap = (text: string) => Object.entries(flags).reduce((t, [field, flag]) => t.split(field).join(flag), text);
  const message = swap(e.message);
  const hint = e.hint === undefined ? undefined : swap(e.hint);
  if (message === e.message && hint === e.hint) return e;
  return new BerthError(e.code, message, { ...(hint !== undefined ? { hint } : {}), cause: e.cause });
}
