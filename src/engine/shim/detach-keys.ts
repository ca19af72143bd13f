/**
 * Detach keys in docker's notation ("ctrl-p,ctrl-q", the default): a comma-separated
 * sequence of single characters or `ctrl-<c>` with c in a-z, @, [, \, ], ^, _. The matcher
 * holds back the bytes of a partial match and lets them through unchanged as soon as the
 * sequence breaks, as docker's escape proxy does, so typing ctrl-p alone still reaches the
 * container.
 */
import { BerthError } from '../../core/errors';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

const CTRL_SPECIAL: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };

export function parseDetachKeys(spec: string): Buffer {
  const bytes: number[] = [];
  for (const part of spec.split(',')) {
    const ctrl = /^ctrl-(.)$/i.exec(part);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
      else if (c in CTRL_SPECIAL) bytes.push(CTRL_SPECIAL[c]!);
      else throw bad(spec, part);
    } else if (part.length === 1 && part.charCodeAt(0) < 128) {
      bytes.push(part.charCodeAt(0));
    } else {
      throw bad(spec, part);
    }
  }
  return Buffer.from(bytes);
}

function bad(spec: string, part: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid detach keys "${spec}": "${part}" is not a key`, {
    hint: 'use a comma-separated list of single characters or ctrl-<a-z, @, [, \\, ], ^, _>, e.g. "ctrl-p,ctrl-q"',
  });
}

export class DetachKeyMatcher {
  private matched = 0;

  constructor(private readonly keys: Buffer) {}

  /** Returns the bytes to pass on and whether the whole sequence was typed (then the rest of
   * the chunk is dropped: the user has left). */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      // the held prefix was not a detach sequence after all: it belongs to the container
      for (let i = 0; i < this.matched; i++) out.push(this.keys[i]!);
      this.matched = 0;
      if (b === this.keys[0]) this.matched = 1;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
