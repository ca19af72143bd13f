/**
 * Berth's default seccomp profile: an allow list (default EPERM) built from the groups in
 * default-groups.ts for the container's architecture and capabilities, plus the rules that
 * look at arguments. The result is a plain OCI LinuxSeccomp, so it can be written into a
 * config.json for any runtime; its rules only ever add permissions (no rule depends on its
 * position), so libseccomp-based runtimes read it exactly as Berth's compiler does.
 */
import { BerthError } from '../core/errors';
import type { LinuxSeccomp, SeccompSyscall } from '../spec/types';
import { archSpec, nativeArchName, SUB_ARCHES, SUPPORTED_ARCHES } from './arches';
import { ENOSYS, EPERM } from './constants';
import { ARCH_GROUPS, BASE_GROUPS, CAPABILITY_GROUPS } from './default-groups';

export interface DefaultProfileOptions {
  /** The container's capabilities (its bounding set), e.g. ["CAP_CHOWN", "CAP_SYS_ADMIN"]. */
  capabilities: readonly string[];
  /** Native architecture as a libseccomp name (default: this host's). */
  arch?: string;
}

/** Namespace-creating clone flags: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

/**
 * personality(2) values a container may set: PER_LINUX, PER_LINUX32, each with UNAME26, and
 * 0xffffffff (query only). Others enable legacy behaviours such as READ_IMPLIES_EXEC or
 * ADDR_NO_RANDOMIZE, which weaken exploit mitigations.
 */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

/**
 * socket(2) families: everything below AF_ALG (38), AF_NFC (39), and AF_KCM (41) up to
 * AF_MCTP (45), the last family Linux defines. AF_ALG (kernel crypto sockets) and AF_VSOCK
 * (40: a path to the hypervisor's host side) stay closed. Exact values rather than
 * "greater than 40": the kernel truncates the family to an int, so a 64-bit "> 40" test would
 * pass 0x1_0000_0028, which the kernel reads as AF_VSOCK.
 */
const AF_ALG = 38;
const SOCKET_FAMILIES_ABOVE_ALG = [39, 41, 42, 43, 44, 45];

function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

export function defaultSeccompProfile(opts: DefaultProfileOptions): LinuxSeccomp {
  const arch = opts.arch ?? nativeArchName();
  if (!archSpec(arch)) {
    throw new BerthError('ESECCOMP', `default seccomp profile: unsupported architecture ${arch}`, {
      hint: `one of ${SUPPORTED_ARCHES.join(', ')}`,
    });
  }
  const caps = new Set(opts.capabilities.map(normalizeCapability));
  const sysAdmin = caps.has('CAP_SYS_ADMIN');

  const allowed = new Set<string>();
  for (const g of BASE_GROUPS) for (const n of g.names) allowed.add(n);
  for (const n of ARCH_GROUPS[arch]?.names ?? []) allowed.add(n);
  for (const g of CAPABILITY_GROUPS) if (g.caps.some((c) => caps.has(c))) for (const n of g.names) allowed.add(n);
  // With CAP_SYS_ADMIN a container may create namespaces anyway (unshare, setns are allowed):
  // clone and clone3 need no argument checks then.
  if (sysAdmin) {
    allowed.add('clone');
    allowed.add('clone3');
  }

  const syscalls: SeccompSyscall[] = [{ names: [...allowed], action: 'SCMP_ACT_ALLOW' }];
  for (const value of PERSONALITIES) {
    syscalls.push({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });
  }
  syscalls.push({ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: AF_ALG, op: 'SCMP_CMP_LT' }] });
  for (const family of SOCKET_FAMILIES_ABOVE_ALG) {
    syscalls.push({ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: family, op: 'SCMP_CMP_EQ' }] });
  }
  if (!sysAdmin) {
    // Threads and processes yes, new namespaces no (they widen the kernel surface reachable
    // from the container, e.g. user namespaces unlock many CAP_SYS_ADMIN-in-ns code paths).
    // s390 passes clone's flags as the second argument.
    const flagsIndex = arch === 'SCMP_ARCH_S390X' ? 1 : 0;
    syscalls.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: flagsIndex, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    // clone3 takes its flags in a struct in memory, out of a filter's reach: answer ENOSYS so
    // that libcs fall back to clone(), whose flags are checked above.
    syscalls.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: [arch, ...(SUB_ARCHES[arch] ?? [])],
    syscalls,
  };
}
