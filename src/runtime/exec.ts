/**
 * `exec`: start another process in a running container. berth-init joins every namespace
 * of the container's init (user namespace first), the caller puts the new process in the
 * container's cgroup before it may run anything, and the process part of the plan
 * (user, caps, seccomp, rlimits, cwd, env) is applied as for the init process.
 */
import { resolve } from 'node:path';
import { BerthError } from '../core/errors';
import type { Process } from '../spec/types';
import { containerCgroup, type RuntimeContext } from './context';
import { startInit } from './init-driver';
import { containerStatus, stateOf } from './status';
import { sendSeccompListener } from './seccomp-listener';
import { writeFileAtomic } from './state-store';

export interface ExecOptions {
  id: string;
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach: boolean;
  preserveFds?: number;
  /** fds 0..2 of the process (default: ours, as runc passes its own through). */
  stdio?: Array<'inherit' | number>;
  /** berth-init's first stage in its own session (see InitOptions.newSession). */
  newSession?: boolean;
  /**
   * The process runs (execve done): its host pid, and a way to signal it while a foreground
   * exec waits for it. Called before execInContainer waits for the exit.
   */
  onStarted?: (proc: { pid: number; signal(sig: NodeJS.Signals): void }) => void;
}

/** Returns the exit status in the foreground, or 0 once a detached process has started. */
export async function execInContainer(ctx: RuntimeContext, opts: ExecOptions): Promise<number> {
  const rec = ctx.store.load(opts.id);
  const status = containerStatus(ctx, rec);
  if (status !== 'running' && status !== 'created') {
    throw new BerthError('ESTATE', `cannot exec in container "${opts.id}": it is ${status}`, {
      hint: status === 'paused' ? `resume it first (berth-runtime resume ${opts.id})` : 'start the container first',
    });
  }
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) {
    throw new BerthError('EINVALID_ARGUMENT', 'a terminal was requested for a detached exec but no --console-socket was given', {
      hint: 'pass --console-socket PATH, or drop --tty',
    });
  }
  const cg = containerCgroup(ctx, rec);
  const handle = await startInit(
    {
      mode: 'exec',
      id: rec.id,
      config: { ...rec.config, process: opts.process },
      rootfs: rec.rootfs,
      joinPid: rec.pid,
      ...(opts.consoleSocket ? { consoleSocket: resolve(opts.consoleSocket) } : {}),
      preserveFds: opts.preserveFds ?? 0,
      foreground: !opts.detach,
      warn: ctx.warn,
      ...(opts.stdio ? { stdio: opts.stdio } : {}),
      ...(opts.newSession ? { newSession: true } : {}),
    },
    {
      onPid: async (pid) => {
        if (cg.exists()) cg.addProcess(pid);
      },
      onSeccompListener: async (pid, fd) => {
        sendSeccompListener(rec.config.linux?.seccomp, pid, fd, stateOf(ctx, rec, status));
      },
    },
  );
  if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(handle.pid), 0o644);
  opts.onStarted?.({ pid: handle.pid, signal: (sig) => handle.signal(sig) });
  if (opts.detach) return 0;
  return handle.wait();
}
