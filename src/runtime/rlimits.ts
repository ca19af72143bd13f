/**
 * process.rlimits -> (resource number, soft, hard), each clamped to this process's own hard
 * limit. A limit above ours cannot be set by berth-init either (RLIMIT_NOFILE above
 * fs.nr_open, or any limit in a user namespace), and configs generated elsewhere routinely ask
 * for 1048576 open files: we warn and start rather than refuse, as Docker users expect.
 */
import { readFileSync } from 'node:fs';
import { BerthError } from '../core/errors';
import { RLIMIT_NUMBERS } from '../spec/rlimits';
import type { Rlimit } from '../spec/types';

export const RLIM_INFINITY = (1n << 64n) - 1n;

export interface PlanRlimit {
  resource: number;
  soft: bigint;
  hard: bigint;
}

/** /proc/self/limits row names -> rlimit names. */
const PROC_LIMIT_NAMES: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** Parses /proc/self/limits into name -> hard limit (Node has no getrlimit). */
export function parseProcLimits(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    // "Max open files            20000                20000                files"
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (!m) continue;
    const name = PROC_LIMIT_NAMES[m[1]!];
    if (!name) continue;
    out.set(name, m[3] === 'unlimited' ? RLIM_INFINITY : BigInt(m[3]!));
  }
  return out;
}

export function hostHardLimits(): Map<string, bigint> {
  return parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
}

/** JSON numbers above 2^53 arrive rounded; anything at or past 2^64-1 means "unlimited". */
function toU64(n: number): bigint {
  if (!Number.isFinite(n) || n >= 2 ** 64 - 1) return RLIM_INFINITY;
  if (n < 0) return 0n;
  return BigInt(Math.floor(n));
}

export function planRlimits(
  rlimits: readonly Rlimit[] | undefined,
  warn: (msg: string) => void,
  hostHard: Map<string, bigint> = hostHardLimits(),
): PlanRlimit[] {
  const out: PlanRlimit[] = [];
  (rlimits ?? []).forEach((r, i) => {
    const resource = RLIMIT_NUMBERS[r.type];
    if (resource === undefined) {
      throw new BerthError('EINVALID_CONFIG', `process.rlimits[${i}].type: unknown limit "${r.type}"`, {
        hint: `use one of ${Object.keys(RLIMIT_NUMBERS).join(', ')}`,
      });
    }
    let hard = toU64(r.hard);
    let soft = toU64(r.soft);
    const max = hostHard.get(r.type);
    if (max !== undefined && hard > max) {
      warn(`${r.type} hard limit ${fmt(hard)} clamped to ${fmt(max)} (host limit)`);
      hard = max;
    }
    if (soft > hard) {
      warn(`${r.type} soft limit ${fmt(soft)} clamped to ${fmt(hard)} (hard limit)`);
      soft = hard;
    }
    out.push({ resource, soft, hard });
  });
  return out;
}

function fmt(v: bigint): string {
  return v === RLIM_INFINITY ? 'unlimited' : v.toString();
}
