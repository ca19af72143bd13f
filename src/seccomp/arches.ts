/**
 * The architectures a filter can cover: their AUDIT_ARCH value (what the kernel puts in
 * seccomp_data.arch), their syscall table, and the shape of their syscall-number space.
 *
 * Why the number space matters: a filter that only compares numbers can be bypassed through a
 * second ABI that shares the same AUDIT_ARCH. x32 is the case in point: an x86_64 process may
 * set __X32_SYSCALL_BIT in the number and reach the x32 entry points with arch still reading
 * AUDIT_ARCH_X86_64. Each architecture therefore owns "zones" of the 32-bit number space; a
 * number in no listed architecture's zone gets the bad-architecture action.
 */
import { endianness } from 'node:os';
import { BerthError } from '../core/errors';
import { X32_SYSCALL_BIT } from './constants';
import { SYSCALL_TABLES, type SyscallTableName } from './syscall-tables.generated';

/** A closed range of syscall numbers [lo, hi]. */
export type NrRange = readonly [number, number];

export interface ArchSpec {
  /** The OCI / libseccomp name, e.g. SCMP_ARCH_X86_64. */
  name: string;
  /** seccomp_data.arch for this ABI (AUDIT_ARCH_*). */
  audit: number;
  table: SyscallTableName;
  /** Added to table numbers to get seccomp_data.nr (x32: __X32_SYSCALL_BIT). */
  nrOffset: number;
  /** The parts of the u32 number space this ABI owns under its AUDIT_ARCH value. */
  zones: readonly NrRange[];
  /**
   * Table ranges above the ordinary numbering that hold real syscalls (x32's legacy 512-547,
   * ARM's private 0x0f0000 calls); numbers above the highest ordinary syscall and outside
   * these are "unknown to the table" (see the ENOSYS rule in compile.ts).
   */
  legacyRanges: readonly NrRange[];
  /**
   * 32-bit ABIs: the kernel uses only the low 32 bits of each argument, so comparisons look at
   * the low word only; otherwise a caller could set high bits the filter sees but the syscall
   * ignores, and slip past an equality check on the low word.
   */
  argBits: 32 | 64;
  bigEndian: boolean;
}

const EM_386 = 3;
const EM_PPC64 = 21;
const EM_S390 = 22;
const EM_ARM = 40;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const EM_RISCV = 243;
const AUDIT_ARCH_64BIT = 0x80000000;
const AUDIT_ARCH_LE = 0x40000000;

const ALL: readonly NrRange[] = [[0, 0xffffffff]];

function spec(s: Omit<ArchSpec, 'zones' | 'legacyRanges' | 'nrOffset' | 'bigEndian'> & Partial<ArchSpec>): ArchSpec {
  return { zones: ALL, legacyRanges: [], nrOffset: 0, bigEndian: false, ...s, audit: s.audit >>> 0 };
}

export const ARCHES: Readonly<Record<string, ArchSpec>> = {
  SCMP_ARCH_X86_64: spec({
    name: 'SCMP_ARCH_X86_64',
    audit: EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE,
    table: 'x86_64',
    // Everything but the x32 window; negative numbers (-1 is what a tracer sets to skip a
    // syscall) stay here and are "unknown" rather than a bad architecture.
    zones: [
      [0, X32_SYSCALL_BIT - 1],
      [0x80000000, 0xffffffff],
    ],
    argBits: 64,
  }),
  SCMP_ARCH_X32: spec({
    name: 'SCMP_ARCH_X32',
    audit: EM_X86_64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE,
    table: 'x32',
    nrOffset: X32_SYSCALL_BIT,
    zones: [[X32_SYSCALL_BIT, 0x7fffffff]],
    legacyRanges: [[512, 547]],
    // x32 passes arguments in 64-bit registers and most of its entry points are the x86_64
    // ones, so the high words are seen by the kernel and must be compared.
    argBits: 64,
  }),
  SCMP_ARCH_X86: spec({ name: 'SCMP_ARCH_X86', audit: EM_386 | AUDIT_ARCH_LE, table: 'x86', argBits: 32 }),
  SCMP_ARCH_AARCH64: spec({ name: 'SCMP_ARCH_AARCH64', audit: EM_AARCH64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE, table: 'aarch64', argBits: 64 }),
  SCMP_ARCH_ARM: spec({ name: 'SCMP_ARCH_ARM', audit: EM_ARM | AUDIT_ARCH_LE, table: 'arm', legacyRanges: [[0x0f0000, 0x0fffff]], argBits: 32 }),
  SCMP_ARCH_RISCV64: spec({ name: 'SCMP_ARCH_RISCV64', audit: EM_RISCV | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE, table: 'riscv64', argBits: 64 }),
  SCMP_ARCH_PPC64LE: spec({ name: 'SCMP_ARCH_PPC64LE', audit: EM_PPC64 | AUDIT_ARCH_64BIT | AUDIT_ARCH_LE, table: 'ppc64', argBits: 64 }),
  SCMP_ARCH_PPC64: spec({ name: 'SCMP_ARCH_PPC64', audit: EM_PPC64 | AUDIT_ARCH_64BIT, table: 'ppc64', argBits: 64, bigEndian: true }),
  SCMP_ARCH_S390X: spec({ name: 'SCMP_ARCH_S390X', audit: EM_S390 | AUDIT_ARCH_64BIT, table: 's390x', argBits: 64, bigEndian: true }),
};

export const SUPPORTED_ARCHES: readonly string[] = Object.keys(ARCHES);

/**
 * ABIs a process of the native architecture can also use (what Docker's archMap lists): a
 * default profile covers them all, so that e.g. 32-bit binaries keep working.
 */
export const SUB_ARCHES: Readonly<Record<string, readonly string[]>> = {
  SCMP_ARCH_X86_64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  SCMP_ARCH_AARCH64: ['SCMP_ARCH_ARM'],
};

/** The host's architecture as a libseccomp name. */
export function nativeArchName(): string {
  switch (process.arch) {
    case 'x64':
      return 'SCMP_ARCH_X86_64';
    case 'ia32':
      return 'SCMP_ARCH_X86';
    case 'arm64':
      return 'SCMP_ARCH_AARCH64';
    case 'arm':
      return 'SCMP_ARCH_ARM';
    case 'riscv64':
      return 'SCMP_ARCH_RISCV64';
    case 'ppc64':
      return endianness() === 'LE' ? 'SCMP_ARCH_PPC64LE' : 'SCMP_ARCH_PPC64';
    case 's390x':
      return 'SCMP_ARCH_S390X';
    default:
      throw new BerthError('ESECCOMP', `seccomp: no syscall table for this host's architecture (${process.arch})`, {
        hint: `supported: ${SUPPORTED_ARCHES.join(', ')}; remove linux.seccomp to run without a filter`,
      });
  }
}

export function archSpec(name: string): ArchSpec | undefined {
  return Object.prototype.hasOwnProperty.call(ARCHES, name) ? ARCHES[name] : undefined;
}

/** seccomp_data.nr of a syscall on an architecture, or undefined when the ABI lacks it. */
export function syscallNumber(arch: ArchSpec, name: string): number | undefined {
  const table: Readonly<Record<string, number>> = SYSCALL_TABLES[arch.table];
  if (!Object.prototype.hasOwnProperty.call(table, name)) return undefined;
  return (table[name]! + arch.nrOffset) >>> 0;
}

/** True when some supported architecture knows the name (used to flag likely typos). */
export function isKnownSyscallName(name: string): boolean {
  return Object.values(SYSCALL_TABLES).some((t: Readonly<Record<string, number>>) => Object.prototype.hasOwnProperty.call(t, name));
}

const highestCache = new Map<string, number>();

/** Highest number of the ordinary numbering (legacy ranges excluded), with the offset applied. */
export function highestOrdinarySyscall(arch: ArchSpec): number {
  let max = highestCache.get(arch.name);
  if (max === undefined) {
    max = 0;
    for (const nr of Object.values(SYSCALL_TABLES[arch.table]) as number[]) {
      if (arch.legacyRanges.some(([lo, hi]) => nr >= lo && nr <= hi)) continue;
      if (nr > max) max = nr;
    }
    highestCache.set(arch.name, max);
  }
  return (max + arch.nrOffset) >>> 0;
}
