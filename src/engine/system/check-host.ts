/**
 * The checks of `system check` that look outside the container records: unfinished staging
 * directories (layers, volumes, archive scratch space), temporary mounts of cp/export, the
 * built-in runtime's state and the containers' cgroups. See check.ts for the order and the
 * rules; every repair re-checks under the container's lock that the object is still unused.
 */
import { closeSync } from 'node:fs';
import { readdir, rmdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { cgroupManager, type CgroupManager } from '../../cgroups';
import { deleteContainer } from '../../runtime/kill-delete';
import { LayerStore } from '../../snapshots/store';
import { tryLock as tryFlock } from '../../snapshots/fsutil';
import { isMounted, unmountAll } from '../../snapshots/mounts';
import { sys } from '../../sys';
import { builtinContext, DEFAULT_CGROUP_PARENT } from '../containers/runtime';
import { mountTempDir } from '../copy/root';
import { readShimPid, shimAlive } from '../shim';
import { ifIdle, isLive, shimLost, type CheckContext, type Finding } from './check-common';

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return [];
    throw e;
  }
}

/**
 * Whether the flock on `file` is free (its holder is gone), without keeping it. Synchronous:
 * a non-blocking flock is one syscall, and the fd must not outlive the test.
 */
function lockFree(file: string): boolean {
  const fd = tryFlock(sys(), file);
  if (fd === undefined) return false;
  closeSync(fd);
  return true;
}

export async function checkStaging(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const out: Finding[] = [];
  for (const name of ['overlay', 'copy']) {
    const dir = join(engine.root, 'layers', name);
    const staging = await list(join(dir, 'staging'));
    const stale = staging.filter((n) => {
      if (n.endsWith('.lock')) return !staging.includes(n.slice(0, -5)) && lockFree(join(dir, 'staging', n));
      return !staging.includes(`${n}.lock`) || lockFree(join(dir, 'staging', `${n}.lock`));
    });
    const trash = await list(join(dir, 'trash'));
    const active = (await list(join(dir, 'active'))).length ? new LayerStore(dir, sys()).unfinishedActive() : [];
    if (stale.length || trash.length || active.length) {
      const snapshots = active.length ? `, ${active.length} container snapshot(s) whose creation was killed (${active.map((k) => k.slice(0, 12)).join(', ')})` : '';
      out.push({
        problem: {
          kind: 'stale-staging',
          object: dir,
          description: `${stale.filter((n) => !n.endsWith('.lock')).length} unfinished layer unpack(s)${snapshots} and ${trash.length} unfinished deletion(s) under ${dir}`,
          repair: 'delete them (berth does so whenever it opens its layer store)',
        },
        fix: () => {
          const store = new LayerStore(dir, sys());
          store.cleanStaging();
          store.cleanActive();
          store.emptyTrash();
        },
        always: true,
      });
    }
  }
  const volumes = await engine.volumes.store.staleStaging();
  if (volumes.length) {
    out.push({
      problem: { kind: 'stale-staging', object: engine.volumes.store.dir, description: `${volumes.length} unfinished volume creation(s) or removal(s): ${volumes.join(', ')}`, repair: 'delete them' },
      fix: async () => void (await engine.volumes.store.cleanStaging()),
    });
  }
  const tmp = join(engine.root, 'tmp');
  const dead = (await list(tmp)).filter((n) => {
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(n)?.[1]);
    if (!Number.isInteger(pid) || pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return errnoCode(e) === 'ESRCH';
    }
  });
  if (dead.length) {
    out.push({
      problem: { kind: 'stale-staging', object: tmp, description: `${dead.length} scratch director${dead.length === 1 ? 'y' : 'ies'} of archive operations whose process is gone`, repair: 'delete them' },
      fix: async () => {
        for (const n of dead) await rm(join(tmp, n), { recursive: true, force: true });
      },
    });
  }
  return out;
}

/** <runroot>/mnt/<id12>-<hex>: a stopped container mounted by cp or export, which hold its lock meanwhile. */
export async function checkTempMounts(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const base = mountTempDir(engine.runRoot);
  const out: Finding[] = [];
  for (const name of await list(base)) {
    const path = join(base, name);
    const prefix = name.split('-')[0] ?? '';
    const owner = (await engine.containerStore.list()).find((r) => r.Id.startsWith(prefix) && prefix.length === 12);
    const stale = owner ? await ifIdle(engine, owner.Id, () => true) : true;
    if (!stale) continue;
    out.push({
      problem: { kind: 'stale-mount', object: path, description: `temporary mount ${path} of a copy or export that did not finish`, repair: 'unmount and remove it' },
      fix: async () => {
        if (isMounted(path)) unmountAll(sys(), path, true);
        await rmdir(path);
      },
    });
  }
  return out;
}

/** Whether the container `id` runs now (record live and monitor alive), checked under its lock. */
async function runsNow(ctx: CheckContext, id: string): Promise<boolean | undefined> {
  const { engine } = ctx;
  let result: boolean | undefined;
  const idle = await ifIdle(engine, id, async () => {
    const r = await engine.containerStore.load(id);
    // A monitor that recorded the exit and ended still owns its state until that exit is
    // settled (by its exit command or the next reading command): not stale yet.
    result = !!r && isLive(r) && !(await shimLost(engine, r));
    return true;
  });
  return idle ? result : undefined; // undefined: busy (starting or stopping right now)
}

export async function checkRuntimeState(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const root = join(engine.runRoot, 'runtime');
  const out: Finding[] = [];
  for (const id of await list(root)) {
    if (ctx.covered.has(id) || (await runsNow(ctx, id)) !== false) continue;
    out.push({
      problem: { kind: 'stale-runtime-state', object: id, description: `runtime state of container ${id.slice(0, 12)}, which is not running, is still in ${root}`, repair: 'kill what is left of the container, remove its cgroup and state' },
      fix: async () => {
        if ((await runsNow(ctx, id)) === false) await deleteContainer(builtinContext(engine.runRoot), id, true);
      },
      covers: [id],
    });
  }
  return out;
}

/**
 * <runroot>/c/<id> of a container that has no record: its monitor is killed if it still
 * runs (it has nothing left to report to) and the directory removed. Start creates these
 * only for recorded containers and removal deletes them before the record.
 */
export async function checkRunDirs(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const base = join(engine.runRoot, 'c');
  const out: Finding[] = [];
  for (const id of await list(base)) {
    if (await engine.containerStore.load(id)) continue;
    const dir = join(base, id);
    out.push({
      problem: { kind: 'stale-run-dir', object: dir, description: `run directory of container ${id.slice(0, 12)}, which has no record, is still in ${base}`, repair: 'stop its monitor and remove the directory' },
      fix: async () => {
        if (await engine.containerStore.load(id)) return;
        const shim = await readShimPid(dir);
        if (shim && shimAlive(shim.pid, shim.startTime)) process.kill(shim.pid, 'SIGKILL');
        await rm(dir, { recursive: true, force: true });
      },
    });
  }
  return out;
}

/** Ids this root has known: records, runtime state, and every container the event log saw created. */
async function knownIds(ctx: CheckContext): Promise<Set<string>> {
  const { engine } = ctx;
  const ids = new Set(await engine.containerStore.ids());
  for (const id of await list(join(engine.runRoot, 'runtime'))) ids.add(id);
  for (const e of await engine.events.read()) if (e.Type === 'container' && e.Action === 'create') ids.add(e.Actor.ID);
  return ids;
}

async function removeCgroup(cg: CgroupManager): Promise<void> {
  try {
    if (cg.isFrozen()) await cg.thaw();
  } catch {
    /* no freezer */
  }
  for (const pid of cg.pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await cg.destroy();
}

export async function checkCgroups(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const parents = new Set([DEFAULT_CGROUP_PARENT]);
  for (const r of await engine.containerStore.list()) if (r.HostConfig.CgroupParent) parents.add(`/${r.HostConfig.CgroupParent.replace(/^\/+|\/+$/g, '')}`);
  const out: Finding[] = [];
  for (const id of await knownIds(ctx)) {
    if (ctx.covered.has(id) || !/^[0-9a-f]{64}$/.test(id)) continue;
    for (const parent of parents) {
      const cg = cgroupManager({ id, cgroupsPath: `${parent}/${id}` });
      if (!cg.exists() || (await runsNow(ctx, id)) !== false) continue;
      out.push({
        problem: { kind: 'orphan-cgroup', object: `${parent}/${id}`, description: `cgroup ${parent}/${id.slice(0, 12)} is left from a container that is not running${cg.pids().length ? ` (${cg.pids().length} process(es) still in it)` : ''}`, repair: 'kill its processes and remove it' },
        fix: async () => {
          if ((await runsNow(ctx, id)) === false) await removeCgroup(cg);
        },
        covers: [id],
      });
    }
  }
  return out;
}
