/**
 * Container use cases on top of the store, the snapshotter, the volumes and berth-shim:
 * create, start (in two halves for attach), stop, kill, restart, remove, wait, pause,
 * unpause, rename, list and inspect (refreshed against reality), and the shim's cleanup.
 */
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BerthError, errnoCode, isDiskFull } from '../../core/errors';
import { acquireLock, type FileLock } from '../../core/lock';
import { isSameProcessAlive } from '../../runtime/process-info';
import { readExit, shimState } from '../shim';
import { createContainer, type CreateOptions } from './create';
import { crashPoint } from '../../core/crash-point';
import { containerEventAttributes } from './event-attrs';
import { settleExit } from './exit';
import { cancelRestart } from './restart';
import { containerName, withStatus, ZERO_TIME, type ContainerRecord } from './record';
import type { ContainerContext } from './context';
import { getContainer, listContainers } from './lookup';
import { pauseContainer, unpauseContainer } from './pause';
import { reconcile, settleLocked } from './recover';
import { removeLocked } from './teardown';
import { connectLocked, disconnectLocked } from './network-connect';
import type { CreateRequest } from './request';
import type { EndpointRequest } from '../docker-types';
import { runtimeFrozen, type OciRuntime } from '../runtimes';
import { runPaths } from './runtime';
import { markRunning, markStartFailed, prepareStart, release, type PreparedStart, type StartOptions } from './start';

/** Signal number from a name ("TERM", "SIGKILL") or number ("9"). */
export function signalNumber(sig: string | undefined, fallback = 'SIGTERM'): number {
  const s = (sig || fallback).toUpperCase();
  if (/^\d+$/.test(s)) return Number(s);
  const name = (s.startsWith('SIG') ? s : `SIG${s}`) as keyof typeof osConstants.signals;
  const n = osConstants.signals[name];
  if (n === undefined) throw new BerthError('EINVALID_ARGUMENT', `invalid signal "${sig}"`, { hint: 'use a name such as TERM, KILL, HUP or a number' });
  return n;
}

function signalName(n: number): string {
  return Object.entries(osConstants.signals).find(([, v]) => v === n)?.[0] ?? String(n);
}

/**
 * Runs a record write that must not stand between the user and ending a container: a full
 * disk (ENOSPC, EDQUOT) is swallowed (undefined), anything else thrown.
 */
async function spaceAllowing<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (e) {
    if (isDiskFull(e)) return undefined;
    throw e;
  }
}

export class ContainerService {
  constructor(private readonly ctx: ContainerContext) {}

  private get store() {
    return this.ctx.containerStore;
  }

  private runtime(rec: ContainerRecord): OciRuntime {
    return this.ctx.runtimes.for(rec);
  }

  async create(req: CreateRequest, opts: CreateOptions = {}): Promise<ContainerRecord> {
    const rec = await createContainer(this.ctx, req, opts);
    await this.ctx.events.emit('container', 'create', rec.Id, containerEventAttributes(rec));
    return rec;
  }

  /** The record, brought up to date (recover.ts: what killed processes left, ended processes). */
  get(query: string): Promise<ContainerRecord> {
    return getContainer(this.ctx, query);
  }

  /** Every container, brought up to date, newest first. */
  list(): Promise<ContainerRecord[]> {
    return listContainers(this.ctx);
  }

  /**
   * First half of start (under the container's lock): the process exists, stopped before
   * execve. Returns undefined when it already runs (docker's start is then a no-op).
   */
  async prepare(query: string, opts: StartOptions = {}): Promise<PreparedStart | undefined> {
    const rec = await this.get(query);
    return this.store.withLock(rec.Id, async (fresh) => {
      if (fresh.State.Running) {
        if (fresh.State.Paused) throw new BerthError('ESTATE', `cannot start a paused container, try unpause instead`, { hint: `berth unpause ${containerName(fresh)}` });
        return undefined;
      }
      return this.prepareLocked(fresh, opts);
    });
  }

  /** prepare, under the container's lock (the caller's), for a container that does not run. */
  private async prepareLocked(fresh: ContainerRecord, opts: StartOptions = {}): Promise<PreparedStart> {
    // Held until the process runs (release): a `starting` marker with this lock free was
    // left by a start that was killed (recover.ts).
    const startLock = this.store.tryLock(fresh.Id, 'start.lock');
    if (!startLock) throw new BerthError('ESTATE', `container ${containerName(fresh)} is being started by another command`, { hint: 'wait for it, or retry' });
    const previous = fresh.State.FinishedAt !== ZERO_TIME || fresh.State.Status === 'exited' ? 'exited' : 'created';
    fresh.Berth.starting = { previous, since: new Date().toISOString() };
    await this.store.save(fresh);
    try {
      const prepared = await prepareStart(this.ctx, fresh, opts);
      crashPoint('start:launched');
      markRunning(fresh, prepared.launch);
      await this.store.save(fresh);
      crashPoint('start:recorded');
      return { ...prepared, startLock };
    } catch (e) {
      markStartFailed(fresh, e);
      delete fresh.Berth.starting;
      await this.store.save(fresh);
      startLock.release();
      throw e;
    }
  }

  /**
   * The record with the user's stop recorded (stoppedByUser; a planned restart cancelled),
   * once no start is in flight: a start holds start.lock until its process runs, and a stop
   * or kill must reach that process, not the one before it. Under the container's lock, so
   * the restart policy (restart.ts) sees the stop whichever comes first.
   */
  private async markStopped(query: string, stop: boolean): Promise<ContainerRecord> {
    let rec = await this.get(query);
    for (;;) {
      rec = await this.store.withLock(rec.Id, async (r) => {
        if (!stop || !r.State.Running || (r.Berth.stoppedByUser && r.State.Status !== 'restarting')) return r;
        r.Berth.stoppedByUser = true;
        cancelRestart(r);
        // A full disk must not keep a container from being ended: the signal goes out anyway
        // and whoever settles the exit records it once there is room.
        await this.store.saveIfRoom(r);
        return r;
      });
      if (!rec.Berth.starting) return rec;
      const done = await acquireLock(join(this.store.containerDir(rec.Id), 'start.lock')).catch(() => undefined);
      done?.release();
      rec = await this.get(rec.Id); // finished, or rolled back if its process was killed
    }
  }

  /** Second half: the process runs. */
  async release(prepared: PreparedStart): Promise<ContainerRecord> {
    try {
      await release(this.ctx, prepared);
      crashPoint('start:released');
      await this.store.update(prepared.rec.Id, (r) => delete r.Berth.starting).catch(() => undefined);
    } catch (e) {
      await this.store.update(prepared.rec.Id, (r) => {
        r.State = withStatus(r.State, r.Berth.starting?.previous ?? 'created');
        r.State.Pid = 0;
        delete r.Berth.starting;
        markStartFailed(r, e);
      });
      throw e;
    } finally {
      prepared.startLock?.release();
    }
    await this.ctx.events.emit('container', 'start', prepared.rec.Id, containerEventAttributes(prepared.rec));
    return prepared.rec;
  }

  async start(query: string, opts: StartOptions = {}): Promise<ContainerRecord> {
    const prepared = await this.prepare(query, opts);
    if (!prepared) return this.get(query);
    return this.release(prepared);
  }

  /**
   * Declares that this process will read the container's exit status (an attached run,
   * `start -a`, `wait`): until `releaseExit`, --rm is deferred rather than applied by whoever
   * settles the exit. Shared, so several waiters can hold it; the kernel drops it with a
   * killed holder, and the next command then applies --rm.
   */
  holdExit(id: string): FileLock | undefined {
    return this.store.tryLock(id, 'exit.lock', { shared: true });
  }

  /** Lets go of holdExit and applies a --rm that waited for it (unless another waiter holds on). */
  async releaseExit(id: string, hold: FileLock | undefined): Promise<void> {
    if (!hold) return;
    hold.release();
    const rec = await this.store.load(id);
    if (rec) await reconcile(this.ctx, rec).catch(() => undefined);
  }

  /** Waits until the process has ended and is settled; returns the record. */
  async waitExit(id: string, timeoutMs = Infinity): Promise<ContainerRecord | undefined> {
    const deadline = Date.now() + timeoutMs;
    let delay = 10;
    for (;;) {
      const { rec } = await reconcile(this.ctx, await this.store.resolve(id));
      if (rec.State.Status !== 'running' && rec.State.Status !== 'paused') return rec;
      if (Date.now() > deadline) return undefined;
      await sleep(delay);
      delay = Math.min(delay * 2, 100);
    }
  }

  /**
   * docker stop: the stop signal, then SIGKILL after the timeout. Returns a note when the
   * timeout ran out (the container's PID 1 ignored the signal), for the CLI to show.
   */
  async stop(query: string, timeoutSec?: number): Promise<{ rec: ContainerRecord; killed?: string }> {
    // Waiting out a restart backoff: stopping cancels the restart (markStopped).
    let rec = await this.markStopped(query, true);
    if (!rec.State.Running) return { rec };
    // Ending a container never waits for its record to be written (a full disk): markStopped
    // records the stop when there is room; the exit is recorded by whoever settles it.
    if (rec.State.Paused || (await runtimeFrozen(this.runtime(rec), rec.Id))) await spaceAllowing(this.unpause(rec.Id));
    const sig = signalNumber(rec.Config.StopSignal);
    const timeout = timeoutSec ?? rec.Config.StopTimeout ?? 10;
    await this.runtime(rec).kill(rec.Id, sig).catch(() => undefined);
    crashPoint('stop:signalled');
    let done = timeout < 0 ? await this.waitExit(rec.Id) : await this.waitExit(rec.Id, timeout * 1000);
    let killed: string | undefined;
    if (!done) {
      killed = `container ${containerName(rec)} did not stop within ${timeout}s: its PID 1 ignored ${signalName(sig)} (it has no handler for it, or is stuck); killed it with SIGKILL`;
      await this.runtime(rec).kill(rec.Id, 9, true).catch(() => undefined);
      done = await this.waitExit(rec.Id, 30_000);
      if (!done) throw new BerthError('ESTATE', `container ${containerName(rec)} did not exit after SIGKILL`, { hint: 'a process may be stuck in uninterruptible sleep (D state); retry later' });
    }
    await this.ctx.events.emit('container', 'stop', rec.Id, containerEventAttributes(rec));
    return { rec: done, ...(killed ? { killed } : {}) };
  }

  async kill(query: string, signal?: string): Promise<ContainerRecord> {
    const sig = signalNumber(signal, 'SIGKILL');
    const rec = await this.markStopped(query, false);
    if (rec.State.Restarting) {
      throw new BerthError('ESTATE', `cannot kill container ${query}: container ${rec.Id} is restarting, wait until the container is running`, { hint: `or cancel the restart: berth stop ${containerName(rec)}` });
    }
    if (!rec.State.Running) {
      throw new BerthError('ESTATE', `cannot kill container ${query}: container ${rec.Id} is not running`, { hint: 'start it first' });
    }
    if (sig === 9 || sig === 15) await spaceAllowing(this.store.update(rec.Id, (r) => (r.Berth.stoppedByUser = true)));
    if (sig === 9 && (rec.State.Paused || (await runtimeFrozen(this.runtime(rec), rec.Id)))) await spaceAllowing(this.unpause(rec.Id));
    await this.runtime(rec).kill(rec.Id, sig);
    await this.ctx.events.emit('container', 'kill', rec.Id, containerEventAttributes(rec, { signal: String(sig) }));
    return rec;
  }

  async restart(query: string, timeoutSec?: number): Promise<ContainerRecord> {
    await this.stop(query, timeoutSec);
    const rec = await this.start(query);
    await this.ctx.events.emit('container', 'restart', rec.Id, containerEventAttributes(rec));
    return rec;
  }

  pause(query: string): Promise<void> {
    return pauseContainer(this.ctx, query);
  }

  unpause(query: string): Promise<void> {
    return unpauseContainer(this.ctx, query);
  }

  /** `network connect`: records the network on the container, and attaches it live when it runs. */
  async connectNetwork(network: string, query: string, req: EndpointRequest): Promise<void> {
    const rec = await this.get(query);
    const net = await this.ctx.networking.store.get(network);
    await this.store.withLock(rec.Id, async (fresh) => {
      await connectLocked(this.ctx, fresh, net, req);
      await this.store.save(fresh);
    });
    await this.ctx.events.emit('network', 'connect', net.id, { name: net.name, type: net.driver, container: rec.Id });
  }

  /** `network disconnect`: the reverse; `force` also for a container that is gone. */
  async disconnectNetwork(network: string, query: string, force: boolean): Promise<void> {
    const net = await this.ctx.networking.store.get(network);
    let rec: ContainerRecord;
    try {
      rec = await this.get(query);
    } catch (e) {
      // -f: a container that is gone leaves its endpoint behind; take it away by id.
      if (!force) throw e;
      const ep = (await this.ctx.networking.store.endpoints(net.id)).find((x) => x.containerName === query || x.containerId.startsWith(query));
      if (ep) await this.ctx.networking.store.disconnect(net.id, ep.containerId);
      return;
    }
    await this.store.withLock(rec.Id, async (fresh) => {
      await disconnectLocked(this.ctx, fresh, net);
      await this.store.save(fresh);
    });
    await this.ctx.events.emit('network', 'disconnect', net.id, { name: net.name, type: net.driver, container: rec.Id });
  }

  async rename(query: string, newName: string): Promise<void> {
    const rec = await this.get(query);
    await this.store.withLock(rec.Id, async (fresh) => {
      await this.store.rename(fresh, newName);
      // Its peers resolve the new name at once (and no longer the old one).
      if (fresh.State.Running) await this.ctx.networking.refreshNames(fresh);
    });
    await this.ctx.events.emit('container', 'rename', rec.Id, containerEventAttributes(rec, { name: newName, oldName: containerName(rec) }));
  }

  /** docker rm: refuses a running container unless forced; -v also removes anonymous volumes. */
  async remove(query: string, opts: { force?: boolean; volumes?: boolean } = {}): Promise<ContainerRecord> {
    let rec = await this.get(query);
    if (rec.State.Running) {
      if (!opts.force) {
        throw new BerthError('ESTATE', `cannot remove container "${containerName(rec)}": container is ${rec.State.Restarting ? 'restarting' : 'running'}`, {
          hint: 'stop the container before removing it, or force remove (-f)',
        });
      }
      // A planned restart is cancelled, a start in flight finished first (markStopped).
      rec = await this.markStopped(rec.Id, true);
      if (rec.State.Running && (rec.State.Paused || (await runtimeFrozen(this.runtime(rec), rec.Id)))) await this.unpause(rec.Id).catch(() => undefined);
      if (rec.State.Running) {
        await this.runtime(rec).kill(rec.Id, 9, true).catch(() => undefined);
        rec = (await this.waitExit(rec.Id, 30_000)) ?? rec;
      }
    }
    try {
      await this.store.withLock(rec.Id, async (fresh) => {
        // Still (or again: a `start` came in between) running: -f ends it here, under the lock.
        if (fresh.State.Running && !(await settleExit(this.ctx, fresh))) {
          if (!opts.force || !(await this.killLocked(fresh))) {
            throw new BerthError('ESTATE', `container ${containerName(fresh)} is still running`, { hint: opts.force ? 'a process may be stuck in uninterruptible sleep (D state); retry the removal' : 'stop it first, or force remove (-f)' });
          }
        }
        await removeLocked(this.ctx, fresh, opts.volumes === true);
      });
    } catch (e) {
      // --rm (the shim's exit command) or another rm got there first: it is gone all the same
      if (!(e instanceof BerthError && e.code === 'ENOT_FOUND')) throw e;
    }
    return rec;
  }

  /**
   * SIGKILL to every process of a live container and its exit settled, under the container's
   * lock (the caller's), so no restart or start comes between. False if it outlived 30 s.
   */
  private async killLocked(rec: ContainerRecord): Promise<boolean> {
    if (rec.State.Status === 'restarting') return true;
    if (rec.State.Paused || (await runtimeFrozen(this.runtime(rec), rec.Id))) await this.runtime(rec).resume(rec.Id).catch(() => undefined);
    await this.runtime(rec).kill(rec.Id, 9, true).catch(() => undefined);
    const dir = runPaths(this.ctx.runRoot, rec.Id).dir;
    const deadline = Date.now() + 30_000;
    while ((await shimState(dir, rec.Berth.shimPid ?? 0, rec.Berth.shimStartTime)).state === 'running') {
      if (Date.now() > deadline) return false;
      await sleep(20);
    }
    return (await settleExit(this.ctx, rec)) !== false || !rec.State.Running;
  }

  /** `wait`: blocks until the container stops; its exit code. */
  async wait(query: string): Promise<number> {
    const rec = await this.get(query);
    // Held while waiting, so that --rm (applied by whoever settles) leaves us the status.
    const hold = this.holdExit(rec.Id);
    try {
      const done = await this.waitExit(rec.Id);
      return done?.State.ExitCode ?? 0;
    } finally {
      await this.releaseExit(rec.Id, hold);
    }
  }

  /**
   * The shim's exit command: settle the exit, then apply --rm or the restart policy. The
   * restart backoff is waited out here, in this detached process, not in any user's command,
   * holding restart.lock (restart.ts). `takeover`: started by another command that settled
   * the exit or found a waiter killed; it ends at once when a waiter is already there.
   */
  async cleanup(id: string, opts: { takeover?: boolean } = {}): Promise<void> {
    crashPoint('cleanup:begin');
    let restartLock: FileLock | undefined;
    try {
      const { Id } = await this.store.resolve(id);
      restartLock = opts.takeover ? this.store.tryLock(Id, 'restart.lock') : await acquireLock(join(this.store.containerDir(Id), 'restart.lock'));
      if (!restartLock) return;
      let restarting = false;
      await this.store.withLock(Id, async (fresh) => {
        const what = await settleLocked(this.ctx, fresh);
        restarting = what === 'restarting' || (what === 'unchanged' && fresh.State.Status === 'restarting');
      });
      if (!restarting) return;
      crashPoint('restart:waiting');
      await this.restartWhenDue(Id);
    } catch (e) {
      // settled and removed (--rm, rm -f) by another command
      if (e instanceof BerthError && e.code === 'ENOT_FOUND') return;
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    } finally {
      restartLock?.release();
    }
  }

  /** Waits out the backoff of a "restarting" container, then starts it unless cancelled. */
  private async restartWhenDue(id: string): Promise<void> {
    const rec = await this.store.load(id);
    const due = rec?.Berth.restartAt ? Date.parse(rec.Berth.restartAt) : Date.now();
    await sleep(Math.max(0, due - Date.now()));
    // Stopped or removed by the user during the backoff: do not bring it back. The check and
    // the start's first half share one hold of the lock, so a stop cannot fall in between.
    const prepared = await this.store.withLock(id, async (fresh) => {
      if (fresh.State.Status !== 'restarting') return undefined;
      cancelRestart(fresh);
      if (fresh.Berth.stoppedByUser) {
        await this.store.save(fresh);
        return undefined;
      }
      fresh.RestartCount += 1;
      return this.prepareLocked(fresh).catch(() => undefined); // the failure is in the record
    });
    if (prepared) await this.release(prepared).catch(() => undefined);
  }

  /**
   * `system boot`, run once when the machine starts (contrib/berth-boot.service): after a
   * reboot every container reads exited, and the restart policy is applied as docker applies
   * it when its daemon starts: `always` containers start (even if stopped by the user), and
   * `unless-stopped` ones unless the user stopped them; never-started ones stay as they are.
   * Returns the containers started and those that failed (with why).
   */
  async boot(): Promise<{ started: ContainerRecord[]; failed: Array<{ rec: ContainerRecord; error: unknown }> }> {
    const started: ContainerRecord[] = [];
    const failed: Array<{ rec: ContainerRecord; error: unknown }> = [];
    for (const rec of (await this.list()).reverse()) {
      const policy = rec.HostConfig.RestartPolicy?.Name;
      const wanted = policy === 'always' || (policy === 'unless-stopped' && !rec.Berth.stoppedByUser);
      if (!wanted || rec.State.Running || rec.State.Status !== 'exited' || rec.State.StartedAt === ZERO_TIME) continue;
      try {
        started.push(await this.start(rec.Id));
      } catch (error) {
        failed.push({ rec, error });
      }
    }
    return { started, failed };
  }

  /** Whether the container's process still runs (pid + start time), independent of the record. */
  processAlive(rec: ContainerRecord): boolean {
    return rec.State.Pid > 0 && isSameProcessAlive(rec.State.Pid, rec.Berth.pidStartTime);
  }

  /** exit.json of the current or last run. */
  lastExit(rec: ContainerRecord) {
    return readExit(runPaths(this.ctx.runRoot, rec.Id).dir);
  }
}
