/**
 * `create`: validate the bundle, reserve the id, make the cgroup, start berth-init and wait
 * until the container process is set up and blocked on the exec fifo.
 *
 * Ordering for crash safety: the container directory (without state.json) is the first thing
 * made and the last thing removed, so a failed or killed create leaves at most a directory
 * that `delete --force` removes; on any error below, everything made so far is undone in
 * reverse order (process, cgroup, directory) before the error surfaces.
 */
import { BerthError } from '../core/errors';
import { loadBundle } from '../spec/validate';
// Node opens every file with O_CLOEXEC (libuv does), so no fd of ours leaks into berth-init.
import { sys } from '../sys';
import { startInit, type InitHandle } from './init-driver';
import type { InitLauncher } from './init-launcher';
import { containerCgroup, type RuntimeContext } from './context';
import { readProcStat } from './process-info';
import { runHooks } from './hooks';
import { sendSeccompListener } from './seccomp-listener';
import { stateOf } from './status';
import { writeFileAtomic, type ContainerRecord } from './state-store';
import type { CgroupManager } from '../cgroups';
import { crashPoint } from '../core/crash-point';
import { effectiveResources } from './resources';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** `run` without --detach: berth-init's first stage stays to report the exit status. */
  foreground?: boolean;
  /** Who starts berth-init (default: this process; the engine passes berth-shim's). */
  launcher?: InitLauncher;
}

export async function createContainer(
  ctx: RuntimeContext,
  opts: CreateOptions,
): Promise<{ rec: ContainerRecord; handle: InitHandle }> {
  const { config, bundle, rootfs } = loadBundle(opts.bundle);
  ctx.debug?.(`create ${opts.id}: bundle ${bundle}, rootfs ${rootfs}`);
  const terminal = config.process?.terminal === true;
  if (!config.process) {
    throw new BerthError('EINVALID_CONFIG', 'config.json has no "process": nothing to run', {
      hint: 'add a "process" object with "args", "cwd" and "user" (see berth-runtime spec)',
    });
  }
  if (terminal && !opts.consoleSocket && !opts.foreground) {
    throw new BerthError('EINVALID_ARGUMENT', 'process.terminal is true but no --console-socket was given', {
      hint: 'pass --console-socket PATH to receive the pty master, or set "terminal": false in config.json',
    });
  }
  if (!terminal && opts.consoleSocket) {
    throw new BerthError('EINVALID_ARGUMENT', '--console-socket was given but process.terminal is false', {
      hint: 'set "terminal": true in config.json or drop --console-socket',
    });
  }

  ctx.store.reserve(opts.id);
  const rec: ContainerRecord = {
    id: opts.id,
    bundle,
    rootfs,
    pid: 0,
    created: new Date().toISOString(),
    owner: safeUserName(),
    config,
  };
  let cgroup: CgroupManager | undefined;
  let pid = 0;
  /** Processes already in the cgroup before this create: not ours to kill on a rollback. */
  const others = new Set<number>();
  try {
    return await ctx.store.withLock(opts.id, async () => {
      // State "creating" (no pid yet) before the cgroup exists: a create killed from here on
      // leaves a state.json that `delete` understands, so its cgroup is found and removed.
      ctx.store.save(rec);
      const fifo = ctx.store.fifoPath(opts.id);
      sys().mkfifo(fifo, 0o622);
      cgroup = containerCgroup(ctx, rec);
      // Sharing a cgroup with other processes works but breaks limits, stats, pause and kill -a
      // for both: runc warns with these words (and tools grep for them), so does Berth.
      if (cgroup.exists()) {
        for (const p of cgroup.pids()) others.add(p);
        if (others.size) ctx.warn(`container's cgroup is not empty: ${others.size} process(es) found`);
      }
      cgroup.create(effectiveResources(config));
      ctx.debug?.(`create ${opts.id}: cgroup ${cgroup.path} is ready`);
      crashPoint('runtime:cgroup-created');
      const cg = cgroup;
      const handle = await startInit(
        {
          mode: 'create',
          id: opts.id,
          config,
          rootfs,
          execFifo: fifo,
          ...(opts.consoleSocket ? { consoleSocket: resolve(opts.consoleSocket) } : {}),
          preserveFds: opts.preserveFds ?? 0,
          noPivot: opts.noPivot ?? false,
          noNewKeyring: opts.noNewKeyring ?? false,
          foreground: opts.foreground ?? false,
          warn: ctx.warn,
          ...(ctx.debug ? { debug: ctx.debug } : {}),
          ...(opts.launcher ? { launcher: opts.launcher } : {}),
        },
        {
          onPid: async (p) => {
            pid = p;
            cg.addProcess(p);
          },
          onCreateRuntime: async (p) => {
            const state = JSON.stringify(stateOf(ctx, { ...rec, pid: p }, 'creating'));
            // in the bundle directory, where runc's create runs them
            await runHooks(config.hooks, 'prestart', state, bundle);
            await runHooks(config.hooks, 'createRuntime', state, bundle);
            return JSON.stringify(stateOf(ctx, { ...rec, pid: p }, 'created'));
          },
          onSeccompListener: async (p, fd) => {
            sendSeccompListener(config.linux?.seccomp, p, fd, stateOf(ctx, { ...rec, pid: p }, 'creating'));
          },
        },
      );
      pid = handle.pid;
      rec.pid = handle.pid;
      const st = readProcStat(handle.pid);
      if (st) rec.pidStartTime = st.startTime;
      ctx.store.save(rec);
      if (opts.pidFile) writeFileAtomic(resolve(opts.pidFile), String(handle.pid), 0o644);
      return { rec, handle };
    });
  } catch (e) {
    await rollback(ctx, opts.id, pid, cgroup, others);
    throw e;
  }
}

async function rollback(ctx: RuntimeContext, id: string, pid: number, cgroup: CgroupManager | undefined, others: Set<number>): Promise<void> {
  if (pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (cgroup) {
    try {
      for (const p of cgroup.pids()) {
        if (others.has(p)) continue;
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
      if (others.size === 0) await cgroup.destroy();
    } catch (e) {
      ctx.warn(`cleaning up the cgroup of "${id}" after a failed create: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  ctx.store.remove(id);
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}
