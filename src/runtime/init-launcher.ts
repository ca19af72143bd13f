/**
 * Who starts berth-init ("P"). The driver (init-driver.ts) asks a launcher to start P with the
 * sync channel at a given fd and then speaks the protocol on it; the launcher decides whose
 * child P becomes. By default this process spawns it (`spawnInit`, the runtime CLI); the
 * engine has berth-shim spawn it, so that the container process ends up a child of its
 * monitor (src/engine/shim/launch.ts).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { nativeDir } from '../sys';

export function initBinaryPath(): string {
  return join(nativeDir(), 'berth-init');
}

/** What a launcher must arrange for P. */
export interface InitLaunchRequest {
  /** fd number of the sync channel in P (always 3 + preserveFds). */
  syncFd: number;
  /** Our end of the seccomp listener socketpair's far side, to become fd syncFd + 1 in P. */
  listenerFd?: number;
  /** fds 0..2 of P (and so of the container process), when the caller chose them. */
  stdio?: Array<'inherit' | number>;
  preserveFds: number;
  foreground: boolean;
  /** P in its own session (InitOptions.newSession). */
  newSession?: boolean;
}

export interface InitExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** P could not be started at all. */
  error?: Error;
}

/** A started P, as the driver needs it. */
export interface LaunchedInit {
  /** Our end of the sync channel. */
  sync: Socket;
  /** Resolves when P has exited (or could not start). */
  exited: Promise<InitExit>;
  /** SIGKILL P, if it still runs (the driver's failure path). */
  kill(): void;
  /** The container is set up: let P (and whatever holds it) outlive this process. */
  release(): void;
  /** Sends a signal to P while it runs (a foreground P passes it on to C). */
  signal?(sig: NodeJS.Signals): void;
}

export type InitLauncher = (req: InitLaunchRequest) => LaunchedInit;

/** SIGKILLs `pid` if it is set and still exists (the failure paths: nothing may be left behind). */
export function sigkill(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** The default launcher: this process spawns berth-init with the caller's stdio. */
export const spawnInit: InitLauncher = (req) => {
  const stdio: StdioOptions = [...(req.stdio ?? ['inherit', 'inherit', 'inherit'])];
  for (let fd = 3; fd < req.syncFd; fd++) stdio.push(fd);
  stdio.push('pipe');
  if (req.listenerFd !== undefined) stdio.push(req.listenerFd);
  const child = spawn(initBinaryPath(), [], {
    stdio,
    // P's environment carries only the channel's fd; the container's comes from the plan.
    env: { _BERTH_SYNC_FD: String(req.syncFd) },
    argv0: 'berth-init',
    detached: req.newSession === true,
  });
  const exited = new Promise<InitExit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    sync: child.stdio[req.syncFd] as Socket,
    exited,
    kill: () => sigkill(child.pid),
    release: () => child.unref(),
    signal: (sig) => {
      // Only while it is our unreaped child: its pid cannot have been reused before that.
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
  };
};
