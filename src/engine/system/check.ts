/**
 * `system check [--repair]`: finds what a killed berth process (or a crash of the machine's
 * power, or a user deleting files by hand) can leave inconsistent, and optionally repairs it.
 * The checks run in an order where each repair can make later findings disappear (a
 * container whose monitor died is settled first, which also removes its runtime state and
 * cgroup), and an object reported once is not reported again by a later check:
 *
 *   staging      unpacks, volume creations and deletions that never finished (check-host.ts)
 *   names        name files whose container has no record
 *   containers   creates killed before their record; removals that never finished;
 *                containers recorded running whose monitor is gone, or restarting with
 *                nobody waiting out the backoff; writable layers, root file systems and
 *                volumes that are missing
 *   runtime      runtime state of containers that are not running; run directories and
 *                monitors of containers without a record (check-host.ts)
 *   cgroups      cgroups of this root's containers that are not running (check-host.ts)
 *   networks     network state (addresses, links, rules, resolver entries, namespace files)
 *                of containers that are not running; idle bridges (check-network.ts)
 *   snapshots    writable layers no container owns; snapshots left mounted
 *   mounts       cp/export temporary mounts left behind (check-host.ts)
 *
 * Only objects of this state root and run root are considered: cgroups under /berth are
 * shared by every root on the host, so only ids this root knows are looked at.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { isMounted } from '../../snapshots/mounts';
import { abandonedMarker, reconcile } from '../containers/recover';
import { containerName, withStatus } from '../containers/record';
import { restartAbandoned } from '../containers/restart';
import type { RecordContext } from '../containers/context';
import { ifIdle, isLive, shimLost, type CheckContext, type CheckReport, type Finding, type Problem } from './check-common';
import { checkCgroups, checkRunDirs, checkRuntimeState, checkStaging, checkTempMounts } from './check-host';
import { pathExists } from '../../core/fs-exists';
import { checkNetworks } from './check-network';

export type { CheckReport, Problem, ProblemKind } from './check-common';

async function checkNames(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const store = engine.containerStore;
  let names: string[] = [];
  try {
    names = await readdir(store.namesDir);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  const out: Finding[] = [];
  for (const name of names) {
    const file = join(store.namesDir, name);
    let owner: string;
    try {
      owner = (await readFile(file, 'utf8')).trim();
    } catch {
      continue;
    }
    if (await store.load(owner)) continue;
    out.push({
      problem: { kind: 'stale-name', object: name, description: `name "${name}" is held for container ${owner.slice(0, 12)}, which has no record`, repair: 'release the name' },
      fix: async () => {
        if ((await readFile(file, 'utf8')).trim() === owner && !(await store.load(owner))) await unlink(file);
      },
    });
  }
  return out;
}


const UNFINISHED = {
  creating: ['unfinished-create', 'created', 'take the half-made container back'],
  starting: ['unfinished-start', 'started', 'finish the start if its process was let go, else roll it back'],
  removing: ['unfinished-removal', 'removed', 'finish the removal'],
} as const;

async function checkContainers(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const out: Finding[] = [];
  // Killed before its record existed: no command lists it (ps removes it, as this does).
  for (const entry of await engine.containerStore.halfMade()) {
    out.push({
      problem: { kind: 'unfinished-create', object: entry, description: `container directory ${entry.slice(0, 12)} was being created when its process stopped (it has no record)`, repair: 'delete it' },
      fix: () => engine.containerStore.removeHalfMade(entry),
      covers: [entry],
    });
  }
  for (const rec of await engine.containerStore.list()) {
    const name = containerName(rec);
    const marker = abandonedMarker(engine, rec);
    if (marker) {
      const [kind, doing, repair] = UNFINISHED[marker];
      out.push({
        problem: { kind, object: name, description: `container ${name} (${rec.Id.slice(0, 12)}) was being ${doing} when its process stopped`, repair },
        // what any command reading the record would do (recover.ts)
        fix: async () => void (await reconcile(engine, rec)),
        covers: [rec.Id],
      });
      continue;
    }
    if (restartAbandoned(engine, rec)) {
      out.push({
        problem: {
          kind: 'stuck-restart',
          object: name,
          description: `container ${name} (${rec.Id.slice(0, 12)}) is restarting, but the process waiting out its restart backoff is gone`,
          repair: 'apply its restart policy again (after a reboot: record it exited)',
        },
        // what any command reading the record would do (recover.ts)
        fix: async () => void (await reconcile(engine, rec)),
        covers: [rec.Id],
      });
      continue;
    }
    if (isLive(rec) && (await shimLost(engine, rec))) {
      out.push({
        problem: { kind: 'lost-monitor', object: name, description: `container ${name} (${rec.Id.slice(0, 12)}) is recorded as ${rec.State.Status}, but its monitor (berth-shim) is gone`, repair: 'stop what is left of it and record its exit' },
        fix: async () => void (await reconcile(engine, rec)),
        covers: [rec.Id],
      });
      continue;
    }
    if (rec.State.Status === 'dead') continue;
    const missing = rec.Berth.snapshotKey
      ? engine.snapshotter.active(rec.Berth.snapshotKey) ? undefined : 'its writable layer (snapshot)'
      : rec.Berth.rootfs && !(await pathExists(rec.Berth.rootfs)) ? `its root file system ${rec.Berth.rootfs}` : undefined;
    if (missing && !isLive(rec)) {
      out.push({
        problem: { kind: 'missing-rootfs', object: name, description: `container ${name} (${rec.Id.slice(0, 12)}) lost ${missing}`, repair: 'mark it dead (it cannot start again; remove it)' },
        fix: async () => {
          await engine.containerStore.update(rec.Id, (r) => {
            r.State = { ...withStatus(r.State, 'dead'), Error: `${missing} is missing (found by berth system check)` };
          });
        },
        covers: [rec.Id],
      });
      continue;
    }
    const anonymous = new Set(Object.values(rec.Berth.anonymousVolumes ?? {}));
    const wanted = new Set([...anonymous, ...rec.Mounts.filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)]);
    for (const v of wanted) {
      if (await engine.volumes.store.get(v)) continue;
      out.push({
        problem: { kind: 'missing-volume', object: v, description: `volume ${v.length > 20 ? v.slice(0, 12) : v} of container ${name} is missing`, repair: 'create it again, empty' },
        fix: async () => void (await engine.volumes.store.create({ name: v, anonymous: anonymous.has(v) })),
      });
    }
  }
  return out;
}

async function checkSnapshots(ctx: CheckContext): Promise<Finding[]> {
  const { engine } = ctx;
  const snap = engine.snapshotter;
  const active = snap.listActive();
  const out: Finding[] = [];
  for (const a of active) {
    const owner = await engine.containerStore.load(a.key);
    if (!owner) {
      out.push({
        problem: { kind: 'orphan-snapshot', object: a.key, description: `writable layer ${a.key.slice(0, 12)} belongs to no container`, repair: 'delete it' },
        fix: async () => {
          if (!(await engine.containerStore.load(a.key)) && snap.active(a.key)) await snap.removeActive(a.key);
        },
        covers: [a.key],
      });
      continue;
    }
    // A start in flight mounts before it records the container running (a killed one is
    // reported by checkContainers as an unfinished start).
    if (ctx.covered.has(owner.Id) || isLive(owner) || owner.Berth.starting) continue;
    const mp = snap.mountPoint(a.key);
    if (isMounted(mp)) {
      out.push({
        problem: { kind: 'stale-mount', object: mp, description: `the root file system of stopped container ${containerName(owner)} is still mounted at ${mp}`, repair: 'unmount it' },
        fix: async () => {
          if (await ifIdle(engine, owner.Id, async () => !isLive((await engine.containerStore.load(owner.Id)) ?? owner))) await snap.unmount(a.key);
        },
      });
    }
  }
  return out;
}

async function apply(ctx: CheckContext, findings: Finding[], repair: boolean, problems: Problem[]): Promise<void> {
  for (const f of findings) {
    for (const id of f.covers ?? []) ctx.covered.add(id);
    const p: Problem = { ...f.problem };
    if (repair || f.always) {
      try {
        await f.fix();
        p.repaired = true;
      } catch (e) {
        p.repaired = false;
        p.repairError = e instanceof Error ? e.message : String(e);
      }
    }
    problems.push(p);
  }
}

export async function checkSystem(engine: RecordContext, opts: { repair?: boolean } = {}): Promise<CheckReport> {
  const repair = opts.repair === true;
  const ctx: CheckContext = { engine, covered: new Set() };
  const problems: Problem[] = [];
  // Staging first: opening the snapshotter (any later check) cleans its staging silently.
  // Processes go before file systems: a container whose record is lost is killed (runtime
  // state) before its writable layer, still in use by it, is deleted (snapshots).
  const steps: Array<(c: CheckContext) => Finding[] | Promise<Finding[]>> = [checkStaging, checkNames, checkContainers, checkRuntimeState, checkRunDirs, checkCgroups, checkNetworks, checkSnapshots, checkTempMounts];
  for (const step of steps) await apply(ctx, await step(ctx), repair, problems);
  return { problems, remaining: problems.filter((p) => !p.repaired).length };
}
