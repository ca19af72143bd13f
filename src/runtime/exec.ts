/**
 * `exec`: start another process in a running container. berth-init joins every namespace
 * of the container's init (user namespace first), the caller puts the new process in the
 * container's cgroup before it may run anything, and the process part of the plan
 * (user, caps, seccomp, rlimits, cwd, env) is applied as for the init process.
 */
import { existsSync } from 'node:fs';
import { join, normalize, resolve } from 'node:path';
import { BerthError } from '../core/errors';
import type { Process } from '../spec/types';
import { containerCgroup, type RuntimeContext } from './context';
import { startInit } from './init-driver';
import { containerStatus, stateOf } from './status';
import { sendSeccompListener } from './seccomp-listener';
import { writeFileAtomic } from './state-store';
import { writeCgroupFile } from '../cgroups/files';

export interface ExecOptions {
  id: string;
  process: Process;
  consoleSocket?: string;
  pidFile?: string;
  detach: boolean;
  preserveFds?: number;
  /** fds 0..2 of the process (default: ours, as runc passes its own through). */
  stdio?: Array<'inherit' | number>;
  /** Exec into a paused container too (the process starts frozen), as runc's --ignore-paused. */
  ignorePaused?: boolean;
  /**
   * `--cgroup [CONTROLLER[,CONTROLLER]:]SUB`: put the process in an existing sub-cgroup of the
   * container's cgroup, for the named controllers (all of them without a prefix).
   */
  cgroups?: string[];
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
  const runnable = status === 'running' || status === 'created' || (status === 'paused' && opts.ignorePaused === true);
  if (!runnable) {
    throw new BerthError('ESTATE', `cannot exec in container "${opts.id}": it is ${status}`, {
      hint:
        status === 'paused'
          ? `resume it first (berth-runtime resume ${opts.id}), or pass --ignore-paused to start the process frozen`
          : 'start the container first',
    });
  }
  if (opts.process.terminal && !opts.consoleSocket && opts.detach) {
    throw new BerthError('EINVALID_ARGUMENT', 'a terminal was requested for a detached exec but no --console-socket was given', {
      hint: 'pass --console-socket PATH, or drop --tty',
    });
  }
  const cg = containerCgroup(ctx, rec);
  // Resolved (and checked to exist) before anything starts: a typo must not leave a process.
  const targets = cg.exists() ? cgroupTargets(cg.paths(), opts.cgroups ?? []) : [];
  ctx.debug?.(`exec ${opts.id}: joining the namespaces of pid ${rec.pid}, cgroups ${targets.join(' ')}`);
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
      ...(ctx.debug ? { debug: ctx.debug } : {}),
      ...(opts.stdio ? { stdio: opts.stdio } : {}),
      ...(opts.newSession ? { newSession: true } : {}),
    },
    {
      onPid: async (pid) => {
        for (const dir of targets) writeCgroupFile(dir, 'cgroup.procs', pid);
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

/**
 * The directories an exec'd process joins: one per hierarchy of the container's cgroup, or the
 * sub-cgroup `--cgroup` names for it. runc's syntax: `SUB` (every controller) or
 * `CTRL[,CTRL...]:SUB`; a later, controller-specific entry wins over a bare one.
 */
export function cgroupTargets(paths: Record<string, string>, specs: string[]): string[] {
  const forAll: { sub?: string } = {};
  const perController = new Map<string, string>();
  for (const spec of specs) {
    const colon = spec.lastIndexOf(':');
    const sub = checkSubCgroup(colon < 0 ? spec : spec.slice(colon + 1), spec);
    if (colon < 0) {
      forAll.sub = sub;
      continue;
    }
    for (const c of spec.slice(0, colon).split(',')) {
      if (!c || !(c in paths)) {
        throw new BerthError('EINVALID_ARGUMENT', `--cgroup ${spec}: unknown controller "${c}" (the container has no such cgroup)`, {
          hint: `use one of: ${Object.keys(paths).join(', ')} (or no prefix for all)`,
        });
      }
      perController.set(c, sub);
    }
  }
  // Controllers sharing a hierarchy (cpu,cpuacct) share a directory: name one, move both.
  const byDir = new Map<string, string | undefined>();
  for (const [controller, dir] of Object.entries(paths)) {
    const sub = perController.get(controller);
    if (sub !== undefined) byDir.set(dir, sub);
    else if (!byDir.has(dir)) byDir.set(dir, forAll.sub);
  }
  const out: string[] = [];
  for (const [dir, sub] of byDir) {
    const target = sub ? join(dir, sub) : dir;
    if (sub && !existsSync(join(target, 'cgroup.procs'))) {
      throw new BerthError('ENOT_FOUND', `--cgroup: sub-cgroup "${sub}" does not exist in ${dir}`, {
        hint: 'create it first (mkdir inside the container\'s cgroup); exec joins existing sub-cgroups only',
      });
    }
    out.push(target);
  }
  return out;
}

/** A path below the container's cgroup; "/" (or "") is the container's cgroup itself, as in runc. */
function checkSubCgroup(sub: string, spec: string): string {
  const n = normalize(`/${sub}`).slice(1);
  if (sub.split('/').includes('..') || n.startsWith('..')) {
    throw new BerthError('EINVALID_ARGUMENT', `--cgroup ${spec}: bad sub cgroup path "${sub}": it leaves the container's cgroup`, {
      hint: 'give a path inside the container\'s cgroup such as "sub" or "memory:sub/deeper"',
    });
  }
  return n;
}
