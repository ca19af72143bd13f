/**
 * Signal names and numbers as `kill` accepts them: `TERM`, `SIGTERM`, `15`, `sigkill`, and 0
 * (kill(2)'s existence check, which runc passes through: callers probe whether init is alive
 * with `kill ID 0`). Real-time signals by number or as SIGRTMIN+N / SIGRTMAX-N.
 */
import { constants } from 'node:os';
import { BerthError } from '../core/errors';

const byName = constants.signals as Record<string, number>;

export function parseSignal(input: string): number {
  const s = input.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 0 && n <= 64) return n;
  } else {
    const upper = s.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = byName[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) {
      const off = Number(rt[1] ?? 0);
      const n2 = name.startsWith('SIGRTMIN') ? 34 + off : 64 - off;
      if (n2 >= 34 && n2 <= 64) return n2;
    }
  }
  throw new BerthError('EINVALID_ARGUMENT', `unknown signal "${input}"`, {
    hint: 'use a name such as TERM, SIGKILL or HUP, or a number between 0 and 64',
  });
}

export function signalName(n: number): string {
  for (const [name, num] of Object.entries(byName)) if (num === n) return name;
  return String(n);
}
