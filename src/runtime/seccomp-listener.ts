/**
 * Hands a seccomp user-notification listener to the agent at linux.seccomp.listenerPath, as
 * the runtime spec describes ("The Container Process State"): one connection per listener,
 * the JSON state as the payload, the fd attached with SCM_RIGHTS, then the connection closes.
 * If the agent cannot be reached the container must not start (the spec: "If sending to this
 * socket fails, the runtime MUST generate an error").
 */
import { BerthError } from '../core/errors';
import { OCI_VERSION } from '../spec/state';
import type { ContainerState, LinuxSeccomp } from '../spec/types';
import { sys, type Sys } from '../sys';

/** How long the agent may take to accept the connection and the few hundred bytes we send. */
export const LISTENER_SEND_TIMEOUT_MS = 10_000;

export interface ContainerProcessState {
  ociVersion: string;
  /** Names of the fds attached, in order. */
  fds: string[];
  /** The process the filter applies to, as seen by the runtime (host pid). */
  pid: number;
  metadata?: string;
  state: ContainerState;
}

export function containerProcessState(seccomp: LinuxSeccomp, pid: number, state: ContainerState): ContainerProcessState {
  const msg: ContainerProcessState = { ociVersion: OCI_VERSION, fds: ['seccompFd'], pid, state };
  if (seccomp.listenerMetadata !== undefined) msg.metadata = seccomp.listenerMetadata;
  return msg;
}

export function sendSeccompListener(
  seccomp: LinuxSeccomp | undefined,
  pid: number,
  fd: number,
  state: ContainerState,
  kernel: Pick<Sys, 'sendFd'> = sys(),
): void {
  const path = seccomp?.listenerPath;
  if (!seccomp || !path) {
    // The compiler refuses NOTIFY without a listenerPath, so this is a caller's mistake.
    throw new BerthError('EINTERNAL', 'a seccomp listener was created but linux.seccomp.listenerPath is not set');
  }
  const payload = Buffer.from(JSON.stringify(containerProcessState(seccomp, pid, state)), 'utf8');
  try {
    kernel.sendFd(path, payload, fd, LISTENER_SEND_TIMEOUT_MS);
  } catch (e) {
    throw new BerthError('ESECCOMP', `linux.seccomp.listenerPath: cannot hand the seccomp listener to ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      hint: 'start the seccomp agent, listening on that unix socket, before creating the container',
    });
  }
}
