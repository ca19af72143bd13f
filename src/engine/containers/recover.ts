/**
 * Bringing a record in line with reality after any Berth process was killed at any point.
 *
 * Each multi-step operation leaves a marker in the record while it runs and holds a lock
 * for as long as its process lives (the kernel drops a flock with its holder):
 *   creating   the container's lock      -> a dead creator's container is taken back
 *   starting   start.lock                -> finished if the process was released, else
 *                                           rolled back (shim and runtime container killed,
 *                                           rootfs unmounted, status as before the start)
 *   removing   the container's lock      -> the removal is finished
 * A marker whose lock we can take is therefore a dead process's, and a marker whose lock is
 * busy belongs to a live one, which we leave alone. On top, a container recorded as running
 * whose shim has ended is settled (exit.json, or 255 for a lost shim) and, with --rm,
 * removed, or with a restart policy marked "restarting" — by whichever command sees it
 * first, the shim's own exit command included. A "restarting" whose waiter was killed
 * (restart.lock free) gets a new waiter, or after a reboot reads exited (restart.ts).
 *
 * Every step is idempotent, so a recovery that is itself killed is simply done again.
 */
import { crashPoint } from '../../core/crash-point';
import { isSameProcessAlive, waitForExit } from '../../runtime/process-info';
import type { RecordContext } from './context';
import { readShimPid, shimState } from '../shim';
import { settleExit } from './exit';
import { cancelRestart, planRestart, restartAbandoned, runDirGone, spawnRestarter } from './restart';
import { withStatus, ZERO_TIME, type ContainerRecord } from './record';
import { runPaths } from './runtime';
import { releaseRun, removeLocked, rollbackCreate } from './teardown';

export interface Reconciled {
  /** The record as it now is (for a removed container: its last state, exit code included). */
  rec: ContainerRecord;
  /** The container no longer exists (a create taken back, a removal finished, --rm applied). */
  gone: boolean;
}

/** Running or paused: a process should exist. */
function isLive(rec: ContainerRecord): boolean {
  return rec.State.Status === 'running' || rec.State.Status === 'paused';
}

function hasMarker(rec: ContainerRecord): boolean {
  return rec.Berth.creating !== undefined || rec.Berth.starting !== undefined || rec.State.Status === 'removing';
}

/**
 * The step a killed process left marked in this record, if its process is really gone (the
 * marker's lock is free); undefined for a clean record or one a live process is working on.
 */
export function abandonedMarker(ctx: Pick<RecordContext, 'containerStore'>, rec: ContainerRecord): 'creating' | 'starting' | 'removing' | undefined {
  const marker = rec.Berth.creating ? 'creating' : rec.State.Status === 'removing' ? 'removing' : rec.Berth.starting ? 'starting' : undefined;
  if (!marker) return undefined;
  const lock = ctx.containerStore.tryLock(rec.Id, marker === 'starting' ? 'start.lock' : undefined);
  if (!lock) return undefined;
  lock.release();
  return marker;
}

/**
 * Settles an ended process under the container's lock (the caller's) and applies --rm or the
 * restart policy (not after a reboot: `system boot` does). Returns what happened; `rec` is
 * changed in place (and saved unless removed). For "restarting" the caller makes sure that a
 * process waits out the backoff (restart.ts).
 */
export async function settleLocked(ctx: RecordContext, rec: ContainerRecord): Promise<'unchanged' | 'settled' | 'removed' | 'restarting'> {
  const how = await settleExit(ctx, rec);
  if (!how) return 'unchanged';
  if (rec.HostConfig.AutoRemove) {
    // Someone waits for this exit status (an attached `run --rm`): removing now would take
    // it away from them. They, or whoever finds their lock free, remove it (reconcile).
    if (exitAwaited(ctx, rec.Id)) {
      rec.Berth.autoRemovePending = true;
      await ctx.containerStore.saveIfRoom(rec);
      return 'settled';
    }
    await removeLocked(ctx, rec, true);
    return 'removed';
  }
  const restarting = how === 'exited' && planRestart(rec);
  // The process has ended and its runtime state is gone whether or not this is written: on
  // a full disk the record keeps saying "running" and the next command settles it again.
  await ctx.containerStore.saveIfRoom(rec);
  crashPoint('cleanup:settled');
  return restarting ? 'restarting' : 'settled';
}

/** A "restarting" whose waiter is gone: a new waiter, or after a reboot, exited. */
async function resumeRestart(ctx: RecordContext, rec: ContainerRecord): Promise<Reconciled> {
  if (!restartAbandoned(ctx, rec)) return { rec, gone: false };
  if (!(await runDirGone(ctx, rec))) {
    spawnRestarter(ctx, rec.Id);
    return { rec, gone: false };
  }
  try {
    return await ctx.containerStore.withLock(rec.Id, async (fresh) => {
      if (restartAbandoned(ctx, fresh)) {
        cancelRestart(fresh);
        await ctx.containerStore.save(fresh);
      }
      return { rec: fresh, gone: false };
    });
  } catch (e) {
    if (e instanceof Error && 'code' in e && e.code === 'ENOT_FOUND') return { rec, gone: true };
    throw e;
  }
}

/** Whether a command holds exit.lock, waiting to read this container's exit status. */
export function exitAwaited(ctx: Pick<RecordContext, 'containerStore'>, id: string): boolean {
  const probe = ctx.containerStore.tryLock(id, 'exit.lock');
  if (!probe) return true;
  probe.release();
  return false;
}

/** Applies a deferred --rm once nobody waits for the exit status any more. */
async function removeIfDue(ctx: RecordContext, rec: ContainerRecord): Promise<Reconciled> {
  if (!rec.Berth.autoRemovePending || isLive(rec) || exitAwaited(ctx, rec.Id)) return { rec, gone: false };
  try {
    return await ctx.containerStore.withLock(rec.Id, async (fresh) => {
      if (!fresh.Berth.autoRemovePending || isLive(fresh) || exitAwaited(ctx, fresh.Id)) return { rec: fresh, gone: false };
      await removeLocked(ctx, fresh, true);
      return { rec: fresh, gone: true };
    });
  } catch (e) {
    if (isNotFound(e)) return { rec, gone: true };
    throw e;
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof Error && 'code' in e && e.code === 'ENOT_FOUND';
}

/** The shim of the current (half-made) run: from the record, or from its own pid file. */
async function killShim(ctx: Pick<RecordContext, 'runRoot'>, rec: ContainerRecord): Promise<unknown> {
  const dir = runPaths(ctx.runRoot, rec.Id).dir;
  const shim = rec.Berth.shimPid ? { pid: rec.Berth.shimPid, startTime: rec.Berth.shimStartTime } : await readShimPid(dir);
  if (!shim || !isSameProcessAlive(shim.pid, shim.startTime)) return Promise.resolve();
  try {
    process.kill(shim.pid, 'SIGKILL');
  } catch {
    return Promise.resolve();
  }
  return waitForExit(shim.pid, shim.startTime, 10_000);
}

/** A start whose process died before it finished: under the container's lock (the caller's). */
async function finishOrRollBackStart(ctx: RecordContext, rec: ContainerRecord): Promise<Reconciled> {
  const { previous, since } = rec.Berth.starting!;
  // Recorded as running by this start (StartedAt is set then), and released — its process
  // runs, or ran and was settled: the start did happen; only the marker is left.
  const recordedByThisStart = rec.State.StartedAt !== ZERO_TIME && Date.parse(rec.State.StartedAt) >= Date.parse(since);
  if (recordedByThisStart && (!isLive(rec) || (await ctx.runtimes.for(rec).started(rec.Id)))) {
    delete rec.Berth.starting;
    await ctx.containerStore.save(rec);
    return { rec, gone: false };
  }
  // Never released: nobody will. The shim goes first (so it records no exit and runs no
  // exit command), then the container waiting for its start, then the rootfs.
  await killShim(ctx, rec);
  await releaseRun(ctx, rec, { unmount: true, runDir: true });
  rec.State = { ...withStatus(rec.State, previous), Pid: 0, Error: 'the start was interrupted: the berth command starting the container was killed before its process ran' };
  delete rec.Berth.starting;
  delete rec.Berth.shimPid;
  delete rec.Berth.shimStartTime;
  delete rec.Berth.pidStartTime;
  if (rec.HostConfig.AutoRemove) {
    await removeLocked(ctx, rec, true);
    return { rec, gone: true };
  }
  await ctx.containerStore.save(rec);
  return { rec, gone: false };
}

/** Finishes or takes back what a killed process left marked in this record; see the top. */
export async function recoverContainer(ctx: RecordContext, rec: ContainerRecord): Promise<Reconciled & { removed: boolean }> {
  const store = ctx.containerStore;
  const done = (r: Reconciled) => ({ ...r, removed: r.gone });
  if (rec.Berth.creating || rec.State.Status === 'removing') {
    const lock = store.tryLock(rec.Id);
    if (!lock) return done({ rec, gone: false }); // its creator or remover is at work
    try {
      const fresh = await store.load(rec.Id);
      if (!fresh) return done({ rec, gone: true });
      if (fresh.Berth.creating) {
        await rollbackCreate(ctx, fresh);
        return done({ rec: fresh, gone: true });
      }
      if (fresh.State.Status === 'removing') {
        await removeLocked(ctx, fresh, fresh.Berth.removeVolumes === true);
        return done({ rec: fresh, gone: true });
      }
      rec = fresh;
    } finally {
      lock.release();
    }
  }
  if (rec.Berth.starting) {
    const startLock = store.tryLock(rec.Id, 'start.lock');
    if (!startLock) return done({ rec, gone: false }); // being started
    try {
      return done(await store.withLock(rec.Id, (fresh) => (fresh.Berth.starting ? finishOrRollBackStart(ctx, fresh) : { rec: fresh, gone: false })));
    } catch (e) {
      // removed meanwhile (its start finished, its process ended and --rm was applied)
      if (isNotFound(e)) return done({ rec, gone: true });
      throw e;
    } finally {
      startLock.release();
    }
  }
  return done({ rec, gone: false });
}

/**
 * What every read path (ps, inspect, wait, ...) uses: markers of killed processes resolved,
 * and an ended process settled (--rm applied).
 */
export async function reconcile(ctx: RecordContext, rec: ContainerRecord): Promise<Reconciled> {
  if (hasMarker(rec)) {
    const r = await recoverContainer(ctx, rec);
    if (r.gone) return r;
    rec = r.rec;
  }
  if (rec.State.Status === 'restarting') return resumeRestart(ctx, rec);
  if (!isLive(rec)) return removeIfDue(ctx, rec);
  const { dir } = runPaths(ctx.runRoot, rec.Id);
  if ((await shimState(dir, rec.Berth.shimPid ?? 0, rec.Berth.shimStartTime)).state === 'running') return { rec, gone: false };
  try {
    return await ctx.containerStore.withLock(rec.Id, async (fresh) => {
      const what = await settleLocked(ctx, fresh);
      // The shim's exit command may be on its way, or was never coming (a lost shim): one
      // waiter wins restart.lock, the other ends at once.
      if (what === 'restarting') spawnRestarter(ctx, fresh.Id);
      return { rec: fresh, gone: what === 'removed' };
    });
  } catch (e) {
    // removed meanwhile (by the shim's exit command applying --rm): its last state is ours
    if (isNotFound(e)) return { rec, gone: true };
    throw e;
  }
}
