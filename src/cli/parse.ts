/** Parsers for CLI flag values; each error names the flag and the accepted forms. */
import { BerthError } from '../core/errors';

export { parseBytes, parseIntFlag } from '../core/units';

/** "1000", "1000:1000" for exec --user. */
export function parseUser(v: string): { uid: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(v.trim());
  if (!m) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid --user "${v}": expected UID or UID:GID (numbers)`, {
      hint: 'the OCI runtime works with numeric ids; resolve names in the caller',
    });
  }
  return m[2] !== undefined ? { uid: Number(m[1]), gid: Number(m[2]) } : { uid: Number(m[1]) };
}

export function collect(v: string, prev: string[] = []): string[] {
  return prev.concat([v]);
}
