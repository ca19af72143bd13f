/**
 * Resource limit names accepted in process.rlimits and their setrlimit(2) resource numbers.
 * The numbers are the generic Linux ones (x86, arm, arm64, riscv, s390, ppc); alpha, mips
 * and sparc order a few differently, and Berth does not target them.
 */
export const RLIMIT_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

export const RLIMIT_NAMES: readonly string[] = Object.freeze(Object.keys(RLIMIT_NUMBERS));

export function isKnownRlimit(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(RLIMIT_NUMBERS, name);
}
