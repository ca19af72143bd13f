/**
 * Taking a container's pieces down, in one place for every path that does it: create's
 * rollback, removal (rm, --rm, a removal finished after a crash), a start that failed or was
 * interrupted, and the settling of an exit. The pieces, and who takes which:
 *   runtime container (process, cgroup, state) + the engine's emptied parent cgroup
 *                                 start failures, interrupted starts, exit settling, removal
 *   rootfs mount                  start failures, interrupted starts, exit settling
 *   run directory                 start failures, interrupted starts, removal
 *   writable snapshot, volumes, record
 *                                 create's rollback, removal
 * Every step is idempotent: a teardown killed half-way is simply done again.
 */
import { rm } from 'node:fs/promises';
import { DEFAULT_MOUNT_ROOT, pruneEmptyLevel } from '../../cgroups';
import { crashPoint } from '../../core/crash-point';
import type { ContainerContext } from './context';
import { containerEventAttributes } from './event-attrs';
import { withStatus, type ContainerRecord } from './record';
import { DEFAULT_CGROUP_PARENT, runPaths } from './runtime';
import { clearNetworkSettings } from '../network/container/settings';

/**
 * Removes the runtime's container (killing what is left of it), its cgroup and state; the
 * engine's own parent cgroup goes with the last container in it (a user's --cgroup-parent stays).
 */
export async function deleteRuntimeContainer(ctx: Pick<ContainerContext, 'runtimes'>, rec: ContainerRecord): Promise<void> {
  await ctx.runtimes.for(rec).delete(rec.Id);
  if (!rec.HostConfig.CgroupParent) pruneEmptyLevel(DEFAULT_CGROUP_PARENT, DEFAULT_MOUNT_ROOT);
}

/** Unmounts the container's rootfs (a snapshot's; a --rootfs directory is not ours); best effort. */
export async function unmountRootfs(ctx: Pick<ContainerContext, 'snapshotter'>, rec: ContainerRecord): Promise<void> {
  if (rec.Berth.snapshotKey) await ctx.snapshotter.unmount(rec.Berth.snapshotKey).catch(() => undefined);
}

/**
 * Takes down the container's networks (after its processes are gone) and empties the live
 * fields of NetworkSettings; the caller saves the record.
 */
export async function releaseNetwork(ctx: Pick<ContainerContext, 'networking'>, rec: ContainerRecord): Promise<void> {
  await ctx.networking.teardown(rec);
  clearNetworkSettings(rec);
}

/**
 * Takes down what a run holds on the host, best effort (the caller is already failing or
 * rolling back): the runtime container, its networks, the rootfs mount (`unmount`: when this
 * run mounted it) and the run directory (`runDir`).
 */
export async function releaseRun(ctx: Pick<ContainerContext, 'runtimes' | 'snapshotter' | 'runRoot' | 'networking'>, rec: ContainerRecord, opts: { unmount: boolean; runDir: boolean }): Promise<void> {
  await deleteRuntimeContainer(ctx, rec).catch(() => undefined);
  await releaseNetwork(ctx, rec).catch(() => undefined);
  if (opts.unmount) await unmountRootfs(ctx, rec);
  if (opts.runDir) await removeRunDir(ctx, rec);
}

export async function removeRunDir(ctx: Pick<ContainerContext, 'runRoot'>, rec: ContainerRecord): Promise<void> {
  await rm(runPaths(ctx.runRoot, rec.Id).dir, { recursive: true, force: true });
}

/** Takes back what a create made (under the container's lock, which the caller holds). */
export async function rollbackCreate(ctx: Pick<ContainerContext, 'containerStore' | 'snapshotter' | 'volumes'>, rec: ContainerRecord): Promise<void> {
  if (rec.Berth.snapshotKey && ctx.snapshotter.active(rec.Berth.snapshotKey)) {
    await ctx.snapshotter.removeActive(rec.Berth.snapshotKey).catch(() => undefined);
  }
  for (const v of [...Object.values(rec.Berth.anonymousVolumes ?? {}), ...(rec.Berth.creating?.volumes ?? [])]) {
    try {
      await ctx.volumes.store.remove(v);
    } catch {
      /* never made, or already gone */
    }
  }
  await ctx.containerStore.remove(rec);
}

/**
 * Removes a container whose process has ended, under its lock (the caller's): marks it
 * "removing" first, so that a removal killed half-way is finished by the next command.
 */
export async function removeLocked(
  ctx: Pick<ContainerContext, 'containerStore' | 'runRoot' | 'runtimes' | 'snapshotter' | 'volumes' | 'events' | 'networking'>,
  rec: ContainerRecord,
  volumes: boolean,
): Promise<void> {
  if (rec.State.Status !== 'removing' || rec.Berth.removeVolumes !== volumes) {
    rec.State = withStatus(rec.State, 'removing');
    rec.Berth.removeVolumes = volumes;
    // On a full disk the removal goes ahead without its marker (it is what frees space):
    // every step below is idempotent, so a removal killed half-way is finished by `rm` again.
    await ctx.containerStore.saveIfRoom(rec);
  }
  crashPoint('rm:removing');
  // A start killed half-way may have left a runtime container (cgroup, state) behind.
  await deleteRuntimeContainer(ctx, rec).catch(() => undefined);
  await ctx.networking.teardown(rec);
  if (rec.Berth.snapshotKey && ctx.snapshotter.active(rec.Berth.snapshotKey)) {
    await ctx.snapshotter.removeActive(rec.Berth.snapshotKey);
  }
  crashPoint('rm:snapshot-removed');
  await removeRunDir(ctx, rec);
  if (volumes) {
    for (const name of Object.values(rec.Berth.anonymousVolumes ?? {})) {
      try {
        await ctx.volumes.remove(name, { force: true });
      } catch {
        /* gone already, or still used by another container (--volumes-from): docker keeps it too */
      }
    }
  }
  await ctx.containerStore.remove(rec);
  await ctx.events.emit('container', 'destroy', rec.Id, containerEventAttributes(rec));
}
