/**
 * Where a network's resolver keeps its files: `<runRoot>/dns/<network id>/` (run root: the
 * resolver is a process, and processes do not survive a reboot, so neither should its files)
 * and the network's lock next to it, `<runRoot>/dns/<network id>.lock`, outside the directory
 * so that the last leave can remove the directory while holding the lock.
 */
import { join } from 'node:path';
import { BerthError } from '../../core/errors';

export const STATE_FILE = 'resolver.json';
/** Locked by the resolver for its whole life; holds "pid starttime". */
export const PID_FILE = 'pid';
/** The resolver's stderr: bind errors and reload failures only. */
export const LOG_FILE = 'log';
/** What the resolver prints on stdout once it serves. */
export const READY_LINE = 'ready';

const KEY = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export interface ResolverPaths {
  dir: string;
  lock: string;
  state: string;
  pid: string;
  log: string;
}

export function dnsRoot(runRoot: string): string {
  return join(runRoot, 'dns');
}

export function resolverPaths(runRoot: string, networkKey: string): ResolverPaths {
  if (!KEY.test(networkKey)) {
    throw new BerthError('EINVALID_ARGUMENT', `network key ${JSON.stringify(networkKey)} cannot name a resolver directory`, {
      hint: 'pass the network id (letters, digits, ".", "_", "-")',
    });
  }
  const dir = join(dnsRoot(runRoot), networkKey);
  return { dir, lock: `${dir}.lock`, state: join(dir, STATE_FILE), pid: join(dir, PID_FILE), log: join(dir, LOG_FILE) };
}
