/**
 * OCI seccomp profile -> classic BPF program for seccomp(SECCOMP_SET_MODE_FILTER).
 *
 * Shape of the program:
 *
 *   ld arch; jeq AUDIT_ARCH_a -> block a; jeq AUDIT_ARCH_b -> block b; ...; ret KILL_PROCESS
 *   block:  ld nr; binary search over intervals of syscall numbers; each interval ends in a
 *           `ret` or in the rule chain of one syscall
 *
 * The number space of each block (u32) is cut into intervals with one outcome each: a run of
 * consecutive syscalls with the same outcome, a hole (default action), a region no table
 * knows (ENOSYS, see below), or a region no listed ABI owns (bad architecture: the x32 window
 * when x32 is not listed). A binary search over the interval boundaries costs log2(n) jumps
 * per syscall instead of a compare per listed syscall.
 *
 * Rule chains keep the profile's order: for one syscall, the first rule whose argument
 * conditions all hold decides; if none does, the default action applies.
 *
 * Unknown syscalls: numbers above the highest syscall the profile names for an ABI (and any
 * our tables do not know) return ENOSYS rather than the default errno, unless the default lets
 * them through anyway. A libc newer than the profile probes new syscalls (clone3, faccessat2,
 * ...) and falls back to the old ones on ENOSYS, but treats EPERM as a real refusal: a profile
 * written before clone3 existed must not break thread creation. This is runc's rule (its
 * patchbpf "-ENOSYS stub"): the profile's newest syscall marks what its author knew about.
 */
import { BerthError } from '../core/errors';
import type { LinuxSeccomp } from '../spec/types';
import { highestOrdinarySyscall, syscallNumber, type ArchSpec, type NrRange } from './arches';
import { emitTest, foldCondition, testKey, type ArgTest } from './args';
import { Assembler, encode, NEXT, type Label } from './bpf';
import { BPF_MAXINSNS, ENOSYS, SECCOMP_DATA_ARCH, SECCOMP_DATA_NR, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS } from './constants';
import { normalizeProfile, type CompileOptions, type NormalizedProfile } from './profile';

export interface SeccompProgram {
  /** `struct sock_filter[]`, 8 bytes per instruction, host byte order. */
  filter: Buffer;
  /** SECCOMP_FILTER_FLAG_* for seccomp(2). */
  flags: number;
}

/**
 * What a process of an architecture the filter does not list gets: killed, as libseccomp's
 * default bad-arch action does (the whole process, not just the thread: a half-dead process
 * is no safer).
 */
export const BAD_ARCH_RET = SECCOMP_RET_KILL_PROCESS;
const ENOSYS_RET = (SECCOMP_RET_ERRNO | ENOSYS) >>> 0;

interface RuleCode {
  ret: number;
  tests: ArgTest[];
}

interface Chain {
  rules: RuleCode[];
  fallback: number;
  bigEndian: boolean;
}

type Outcome = { key: string; ret: number; chain?: undefined } | { key: string; chain: Chain; ret?: undefined };

interface Interval {
  lo: number;
  hi: number;
  outcome: Outcome;
}

const retOutcome = (ret: number): Outcome => ({ key: `ret:${ret >>> 0}`, ret: ret >>> 0 });

export function compileSeccomp(profile: LinuxSeccomp, opts: CompileOptions = {}): SeccompProgram {
  const p = normalizeProfile(profile, opts);
  const asm = new Assembler();
  const blocks = groupByAudit(p.arches);
  const labels = blocks.map(() => asm.label());
  asm.ld(SECCOMP_DATA_ARCH);
  blocks.forEach((b, i) => asm.jump('jeq', b[0]!.audit, labels[i]!, NEXT));
  asm.ret(BAD_ARCH_RET);
  blocks.forEach((members, i) => {
    asm.bind(labels[i]!);
    emitBlock(asm, blockIntervals(members, p));
  });
  const program = asm.assemble();
  if (program.length > BPF_MAXINSNS) {
    throw new BerthError('ESECCOMP', `${opts.path ?? 'linux.seccomp'}: the profile compiles to ${program.length} BPF instructions; the kernel accepts at most ${BPF_MAXINSNS}`, {
      hint: 'merge rules that share an action, or use fewer argument conditions',
    });
  }
  return { filter: encode(program, p.native.bigEndian), flags: p.flags };
}

/** ABIs sharing an AUDIT_ARCH value (x86_64 and x32) are one block; the native one first. */
function groupByAudit(arches: ArchSpec[]): ArchSpec[][] {
  const blocks = new Map<number, ArchSpec[]>();
  for (const a of arches) {
    const b = blocks.get(a.audit);
    if (b) b.push(a);
    else blocks.set(a.audit, [a]);
  }
  return [...blocks.values()];
}

/** Outcome per syscall number of one ABI; numbers whose outcome is the default are left out. */
function syscallOutcomes(arch: ArchSpec, p: NormalizedProfile): Map<number, Outcome> {
  const rulesByNr = new Map<number, RuleCode[]>();
  for (const rule of p.rules) {
    let never = false;
    const tests: ArgTest[] = [];
    for (const c of rule.conditions) {
      const folded = foldCondition(c, arch.argBits);
      if (folded === 'never') never = true;
      else if (folded !== 'always') tests.push(folded);
    }
    if (never) continue; // cannot match on this ABI
    for (const name of new Set(rule.names)) {
      const nr = syscallNumber(arch, name);
      if (nr === undefined) continue; // this ABI has no such syscall (as libseccomp/runc: skipped)
      const list = rulesByNr.get(nr) ?? [];
      if (list.length > 0 && list[list.length - 1]!.tests.length === 0) continue; // shadowed by an earlier unconditional rule
      list.push({ ret: rule.ret, tests });
      rulesByNr.set(nr, list);
    }
  }
  const out = new Map<number, Outcome>();
  for (const [nr, rules] of rulesByNr) {
    // Trailing rules that return the default change nothing: falling off the chain does that.
    while (rules.length > 0 && rules[rules.length - 1]!.ret === p.defaultRet) rules.pop();
    if (rules.length === 0) continue;
    if (rules[0]!.tests.length === 0) {
      out.set(nr, retOutcome(rules[0]!.ret));
      continue;
    }
    const chain: Chain = { rules, fallback: p.defaultRet, bigEndian: p.native.bigEndian };
    const key = `chain:${chain.fallback}:${rules.map((r) => `${r.ret}[${r.tests.map(testKey).join(',')}]`).join(';')}`;
    out.set(nr, { key, chain });
  }
  return out;
}

/** Table-known numbers of an ABI: the ordinary numbering up to its highest syscall, plus legacy ranges. */
function knownRanges(arch: ArchSpec): NrRange[] {
  const ranges: NrRange[] = [[arch.nrOffset, highestOrdinarySyscall(arch)]];
  for (const [lo, hi] of arch.legacyRanges) ranges.push([lo + arch.nrOffset, hi + arch.nrOffset]);
  return ranges.sort((a, b) => a[0] - b[0]);
}

/**
 * The highest number of a syscall the profile names on this ABI (any action), or undefined
 * when it names none there. runc ignores a largest number of 0 (only `read` on x86_64) too.
 */
function lastListed(arch: ArchSpec, p: NormalizedProfile): number | undefined {
  let last: number | undefined;
  for (const rule of p.rules)
    for (const name of rule.names) {
      const nr = syscallNumber(arch, name);
      if (nr !== undefined && (last === undefined || nr > last)) last = nr;
    }
  return last === undefined || last === arch.nrOffset ? undefined : last;
}

function blockIntervals(members: ArchSpec[], p: NormalizedProfile): Interval[] {
  const fallback = retOutcome(p.defaultRet);
  const unknown = p.enosysForUnknown ? retOutcome(ENOSYS_RET) : fallback;
  const base: Interval[] = [];
  for (const arch of members) {
    // Past the profile's newest syscall, a number is as unknown as one past our tables.
    const cap = (p.enosysForUnknown ? lastListed(arch, p) : undefined) ?? Infinity;
    for (const [zlo, zhi] of arch.zones) {
      let cur = zlo;
      for (const [klo, khi] of knownRanges(arch)) {
        const lo = Math.max(klo, zlo);
        const hi = Math.min(khi, zhi, cap);
        if (lo > hi) continue;
        if (lo > cur) base.push({ lo: cur, hi: lo - 1, outcome: unknown });
        base.push({ lo, hi, outcome: fallback });
        cur = hi + 1;
      }
      if (cur <= zhi) base.push({ lo: cur, hi: zhi, outcome: unknown });
    }
  }
  base.sort((a, b) => a.lo - b.lo);
  // Whatever no listed ABI owns (e.g. x32 numbers when only x86_64 is listed) is a bad architecture.
  const covered: Interval[] = [];
  let next = 0;
  for (const iv of base) {
    if (iv.lo > next) covered.push({ lo: next, hi: iv.lo - 1, outcome: retOutcome(BAD_ARCH_RET) });
    covered.push(iv);
    next = iv.hi + 1;
  }
  if (next <= 0xffffffff) covered.push({ lo: next, hi: 0xffffffff, outcome: retOutcome(BAD_ARCH_RET) });

  const points = new Map<number, Outcome>();
  for (const arch of members) for (const [nr, o] of syscallOutcomes(arch, p)) points.set(nr, o);
  return mergeAdjacent(overlay(covered, points));
}

/** Splits the intervals at each syscall that has an outcome of its own. */
function overlay(intervals: Interval[], points: Map<number, Outcome>): Interval[] {
  const nrs = [...points.keys()].sort((a, b) => a - b);
  const out: Interval[] = [];
  let k = 0;
  for (const iv of intervals) {
    let cur = iv.lo;
    while (k < nrs.length && nrs[k]! <= iv.hi) {
      const nr = nrs[k++]!;
      if (nr < cur) continue;
      if (nr > cur) out.push({ lo: cur, hi: nr - 1, outcome: iv.outcome });
      out.push({ lo: nr, hi: nr, outcome: points.get(nr)! });
      cur = nr + 1;
    }
    if (cur <= iv.hi) out.push({ lo: cur, hi: iv.hi, outcome: iv.outcome });
  }
  return out;
}

function mergeAdjacent(intervals: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const iv of intervals) {
    const last = out[out.length - 1];
    if (last && last.outcome.key === iv.outcome.key && last.hi + 1 === iv.lo) last.hi = iv.hi;
    else out.push({ ...iv });
  }
  return out;
}

function emitBlock(asm: Assembler, intervals: Interval[]): void {
  // A chain used by several intervals is emitted once after the search tree and jumped to.
  const uses = new Map<string, number>();
  for (const iv of intervals) if (iv.outcome.chain) uses.set(iv.outcome.key, (uses.get(iv.outcome.key) ?? 0) + 1);
  const shared = new Map<string, { label: Label; chain: Chain }>();
  const leaf = (o: Outcome): void => {
    if (!o.chain) {
      asm.ret(o.ret);
      return;
    }
    if ((uses.get(o.key) ?? 0) < 2) {
      emitChain(asm, o.chain);
      return;
    }
    let s = shared.get(o.key);
    if (!s) shared.set(o.key, (s = { label: asm.label(), chain: o.chain }));
    asm.ja(s.label);
  };
  const tree = (i: number, j: number): void => {
    if (i === j) return leaf(intervals[i]!.outcome);
    const m = (i + j) >> 1;
    const right = asm.label();
    asm.jump('jge', intervals[m + 1]!.lo, right, NEXT);
    tree(i, m);
    asm.bind(right);
    tree(m + 1, j);
  };
  asm.ld(SECCOMP_DATA_NR);
  tree(0, intervals.length - 1);
  for (const { label, chain } of shared.values()) {
    asm.bind(label);
    emitChain(asm, chain);
  }
}

function emitChain(asm: Assembler, chain: Chain): void {
  for (const rule of chain.rules) {
    if (rule.tests.length === 0) {
      asm.ret(rule.ret);
      return;
    }
    const fail = asm.label();
    for (const t of rule.tests) emitTest(asm, t, chain.bigEndian, fail);
    asm.ret(rule.ret);
    asm.bind(fail);
  }
  asm.ret(chain.fallback);
}
