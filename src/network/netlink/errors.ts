/**
 * A failed rtnetlink request as a BerthError that names the operation and the interface or
 * address ("add address 10.88.0.2/16 to eth0: File exists (EEXIST)"), with the kernel's own
 * reason when it gave one, and a hint for the errnos a user can do something about.
 */
import { getSystemErrorMap } from 'node:util';
import { BerthError, type ErrorCode } from '../../core/errors';

/** What a request was doing, for its error message: "create veth", "vethab12 (peer eth0)". */
export interface Operation {
  op: string;
  subject: string;
}

export function errnoName(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[0] ?? `errno ${errno}`;
}

function errnoText(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? 'unknown error';
}

const CODES: Record<string, ErrorCode> = {
  EEXIST: 'EEXISTS',
  ENODEV: 'ENOT_FOUND',
  ENOENT: 'ENOT_FOUND',
  ESRCH: 'ENOT_FOUND',
  EADDRNOTAVAIL: 'ENOT_FOUND',
  EINVAL: 'EINVALID_ARGUMENT',
  ERANGE: 'EINVALID_ARGUMENT',
  EOPNOTSUPP: 'EUNSUPPORTED',
  EAFNOSUPPORT: 'EUNSUPPORTED',
};

const HINTS: Record<string, string> = {
  EEXIST: 'an interface, address or route of that name or value already exists: remove it first or choose another',
  ENODEV: 'the interface does not exist (any more) in this network namespace',
  ESRCH: 'there is no such route or neighbour entry (any more)',
  EPERM: 'changing network interfaces needs CAP_NET_ADMIN in the namespace: run berth as root',
  EACCES: 'changing network interfaces needs CAP_NET_ADMIN in the namespace: run berth as root',
  EOPNOTSUPP: 'the kernel lacks support for this (is the bridge/veth module available? modprobe bridge veth)',
  ENETUNREACH: 'the gateway is not on a subnet of any address of the interface: add the address first',
  EAFNOSUPPORT: 'the address family is disabled here (IPv6 off: sysctl net.ipv6.conf.all.disable_ipv6)',
};

/** The error for a request the kernel refused with `errno` (positive). */
export function requestError(what: Operation, errno: number, kernelMessage?: string): BerthError {
  const name = errnoName(errno);
  const detail = kernelMessage ? `: ${kernelMessage}` : '';
  const cause = Object.assign(new Error(`${errnoText(errno)} (${name})`), { code: name, errno });
  const hint = HINTS[name];
  return new BerthError(CODES[name] ?? 'ESYSCALL', `${what.op} ${what.subject}: ${errnoText(errno)} (${name})${detail}`, {
    ...(hint ? { hint } : {}),
    cause,
  });
}

/** The error for a socket-level failure (open, send, receive) while doing `what`. */
export function socketError(what: Operation, step: string, cause: unknown): BerthError {
  const code = (cause as { code?: unknown })?.code;
  const timeout = code === 'EAGAIN' || code === 'EWOULDBLOCK';
  return new BerthError('ESYSCALL', `${what.op} ${what.subject}: netlink ${step} failed: ${timeout ? 'no answer from the kernel in time' : String((cause as Error)?.message ?? cause)}`, {
    cause,
  });
}
