/** `kill` and `delete`. */
import { BerthError, errnoCode } from '../core/errors';
import { containerCgroup, type RuntimeContext } from './context';
import { containerStatus, stateOf } from './status';
import { waitForExit } from './process-info';
import { runHooksBestEffort } from './hooks';
import { existsSync } from 'node:fs';
import { validateId, type ContainerRecord } from './state-store';

export async function killContainer(ctx: RuntimeContext, id: string, signal: number, all: boolean): Promise<void> {
  const rec = ctx.store.load(id);
  const status = containerStatus(ctx, rec);
  ctx.debug?.(`kill ${id}: signal ${signal} to ${all ? 'every process' : `pid ${rec.pid}`} (${status})`);
  const sharedPidns = !rec.config.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path);
  if (status === 'stopped') {
    // Without a pid namespace of its own, the container's other processes outlive its init
    // (no kernel-wide SIGKILL of the namespace): KILL must still reach them, as runc does.
    if (signal === 9 && sharedPidns) {
      const cg = containerCgroup(ctx, rec);
      if (cg.exists() && cg.pids().length > 0) {
        for (const p of cg.pids()) sendSignal(p, signal);
        return;
      }
    }
    // `--all` asks for "whatever is left": nothing is left, which is success (runc).
    if (all) return;
    throw new BerthError('ESTATE', `container "${id}" is not running`, { hint: `remove it with: berth-runtime delete ${id}` });
  }
  // SIGKILL of a namespace's init kills the whole pid namespace; a container sharing the
  // host's has no such guarantee, so every process of its cgroup gets it (runc does the same).
  if (all || (signal === 9 && sharedPidns)) {
    signalAll(ctx, rec, signal);
    return;
  }
  sendSignal(rec.pid, signal);
}

function sendSignal(pid: number, signal: number): void {
  if (pid <= 0) return; // never a process group
  try {
    process.kill(pid, signal);
  } catch (e) {
    if (errnoCode(e) !== 'ESRCH') throw e;
  }
}

function signalAll(ctx: RuntimeContext, rec: ContainerRecord, signal: number): void {
  const cg = containerCgroup(ctx, rec);
  const pids = new Set(cg.exists() ? cg.pids() : []);
  // pid 0 is a create that never got its process ("creating"): kill(0) would hit our own group
  if (rec.pid > 0) pids.add(rec.pid);
  for (const p of pids) if (p > 0) sendSignal(p, signal);
}

export async function deleteContainer(ctx: RuntimeContext, id: string, force: boolean): Promise<void> {
  if (!ctx.store.exists(id)) {
    // --force of an id we do not know is a successful no-op, as in runc: containerd's shim
    // and podman call `delete --force` after a failed create (when nothing is left) and
    // treat an error there as a second failure. A create killed between reserving the id
    // and writing state.json leaves a bare directory, which goes too.
    if (force) {
      validateId(id);
      if (existsSync(ctx.store.dir(id))) ctx.store.remove(id);
      return;
    }
    ctx.store.load(id); // throws the not-found error
  }
  await ctx.store.withLock(id, async () => {
    const rec = ctx.store.load(id);
    const status = containerStatus(ctx, rec);
    const cg = containerCgroup(ctx, rec);
    ctx.debug?.(`delete ${id}: it is ${status}${force ? ' (--force)' : ''}`);
    if (status === 'running' || status === 'paused') {
      if (!force) {
        throw new BerthError('ESTATE', `cannot delete container "${id}": it is ${status}`, {
          hint: `stop it first (berth-runtime kill ${id} KILL) or use delete --force`,
        });
      }
    }
    if (status !== 'stopped') {
      signalAll(ctx, rec, 9);
      // A frozen task cannot act on SIGKILL; thaw so it dies.
      if (status === 'paused') await cg.thaw();
      if (rec.pid > 0 && !(await waitForExit(rec.pid, rec.pidStartTime, 10_000))) {
        throw new BerthError('ESTATE', `container "${id}" did not exit after SIGKILL within 10s`, {
          hint: 'the process may be stuck in uninterruptible sleep (D state); try again',
        });
      }
    }
    // Processes that outlived init (when the pid namespace is shared) still hold the cgroup;
    // thaw first if it is still frozen, or SIGKILL would wait for a thaw that never comes.
    if (cg.exists()) {
      try {
        if (cg.isFrozen()) await cg.thaw();
      } catch {
        /* no freezer */
      }
      for (const p of cg.pids()) sendSignal(p, 9);
      await cg.destroy();
    }
    const state = JSON.stringify(stateOf(ctx, rec, 'stopped'));
    await runHooksBestEffort(rec.config.hooks, 'poststop', state, ctx.warn);
    ctx.store.remove(id);
  });
}
