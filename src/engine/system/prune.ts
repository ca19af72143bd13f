/**
 * `container prune` and `system prune`: stopped containers (filtered by creation time and
 * labels), then — for system prune — unused images (dangling ones, or every image no
 * container uses with `all`), their content and unpacked layers, and with `volumes` the
 * anonymous volumes no container uses. Volumes a container still mounts are never touched.
 * Order matters: containers go first, so what only they used becomes unused.
 *
 * `dryRun` reports what would go and changes nothing; its image and volume lists already
 * count the containers that would be pruned as gone.
 */
import { BerthError } from '../../core/errors';
import type { ContainerRecord } from '../containers/record';
import type { GcReport } from '../../content/gc';
import type { ContainerContext } from '../containers/context';
import type { ContainerService } from '../containers/service';
import { directorySize } from '../volumes/service';

/** What pruning uses: containers' listing and removal, volumes, images (the Engine has them all). */
export interface PruneContext extends Pick<ContainerContext, 'containerStore' | 'snapshotter' | 'volumes' | 'images'> {
  containers: Pick<ContainerService, 'list' | 'remove'>;
  /** Network pruning (user-defined networks no running container is on). */
  networks: { prune(filter?: PruneFilter): Promise<string[]>; unused(filter?: PruneFilter): Promise<string[]> };
  /** Image pruning with its events and the layers it frees. */
  pruneImages(opts: { all?: boolean }): Promise<{ deleted: string[]; untagged: string[]; gc: GcReport; layersRemoved: string[] }>;
}

export interface PruneFilter {
  /** Only containers created before this instant (ms since the epoch). */
  until?: number;
  /** KEY, KEY=VALUE: must be present; with `negate` (label!=): must not. */
  labels?: Array<{ key: string; value?: string; negate: boolean }>;
}

/** docker's prune filters: until=TIME, label=KEY[=VALUE], label!=KEY[=VALUE]. `parseTime` gives ms. */
export function parsePruneFilters(values: readonly string[], parseTime: (text: string) => number): PruneFilter {
  const out: PruneFilter = {};
  for (const raw of values) {
    const m = /^(until|label!?)=(.*)$/.exec(raw);
    if (!m) throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${raw}"`, { hint: 'prune filters: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]' });
    if (m[1] === 'until') out.until = parseTime(m[2]!);
    else {
      const i = m[2]!.indexOf('=');
      const [key, value] = i < 0 ? [m[2]!, undefined] : [m[2]!.slice(0, i), m[2]!.slice(i + 1)];
      (out.labels ??= []).push({ key, ...(value !== undefined ? { value } : {}), negate: m[1] === 'label!' });
    }
  }
  return out;
}

export function matchesPruneFilter(labels: Record<string, string>, created: string, f: PruneFilter): boolean {
  if (f.until !== undefined && !(Date.parse(created) < f.until)) return false;
  for (const l of f.labels ?? []) {
    const has = l.key in labels && (l.value === undefined || labels[l.key] === l.value);
    if (has === l.negate) return false;
  }
  return true;
}

export interface ContainerPruneResult {
  deleted: string[];
  reclaimed: number;
}

const isStopped = (r: ContainerRecord) => r.State.Status === 'exited' || r.State.Status === 'created' || r.State.Status === 'dead';

async function writableSize(engine: Pick<PruneContext, 'snapshotter'>, r: ContainerRecord): Promise<number> {
  if (!r.Berth.snapshotKey) return 0;
  return (await engine.snapshotter.usage({ key: r.Berth.snapshotKey }).catch(() => ({ size: 0 }))).size;
}

export async function pruneContainers(engine: PruneContext, opts: { filter?: PruneFilter; dryRun?: boolean } = {}): Promise<ContainerPruneResult> {
  const victims = (await engine.containers.list()).filter((r) => isStopped(r) && matchesPruneFilter(r.Config.Labels ?? {}, r.Created, opts.filter ?? {}));
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const r of victims) {
    const size = await writableSize(engine, r);
    if (!opts.dryRun) {
      try {
        await engine.containers.remove(r.Id);
      } catch {
        continue; // started meanwhile: not stopped any more
      }
    }
    deleted.push(r.Id);
    reclaimed += size;
  }
  return { deleted, reclaimed };
}

export interface SystemPruneOptions {
  /** Every image no container uses, not only dangling ones. */
  all?: boolean;
  /** Also anonymous volumes no container uses. */
  volumes?: boolean;
  filter?: PruneFilter;
  dryRun?: boolean;
}

export interface SystemPruneResult {
  containers: string[];
  /** Names of the user-defined networks removed (docker's "Deleted Networks"). */
  networks: string[];
  volumes: string[];
  images: { untagged: string[]; deleted: string[] };
  layers: string[];
  reclaimed: number;
}

export async function pruneSystem(engine: PruneContext, opts: SystemPruneOptions = {}): Promise<SystemPruneResult> {
  const containers = await pruneContainers(engine, { ...(opts.filter ? { filter: opts.filter } : {}), ...(opts.dryRun ? { dryRun: true } : {}) });
  let reclaimed = containers.reclaimed;
  const gone = new Set(containers.deleted);
  const remaining = (await engine.containerStore.list()).filter((c) => !gone.has(c.Id));
  const networks = opts.dryRun ? await engine.networks.unused(opts.filter ?? {}) : await engine.networks.prune(opts.filter ?? {});
  const volumes: string[] = [];
  if (opts.volumes) {
    const labelFilter = opts.filter?.labels;
    const used = new Set(remaining.flatMap((c) => c.Mounts.filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!)));
    const candidates = (await engine.volumes.list()).filter((v) => v.Anonymous && !used.has(v.Name) && matchesPruneFilter(v.Labels, v.CreatedAt, { ...(labelFilter ? { labels: labelFilter } : {}) }));
    for (const v of candidates) {
      const size = await directorySize(v.Mountpoint);
      if (!opts.dryRun) {
        try {
          await engine.volumes.remove(v.Name);
        } catch {
          continue; // taken into use meanwhile
        }
      }
      volumes.push(v.Name);
      reclaimed += size;
    }
  }
  let images: SystemPruneResult['images'];
  let layers: string[] = [];
  if (opts.dryRun) {
    const r = await engine.images.prune({ ...(opts.all ? { all: true } : {}), dryRun: true, inUse: (id) => remaining.some((c) => c.Image === id) });
    images = { untagged: [], deleted: r.deleted };
    reclaimed += r.gc.reclaimedBytes;
  } else {
    const r = await engine.pruneImages({ ...(opts.all ? { all: true } : {}) });
    images = { untagged: r.untagged, deleted: r.deleted };
    layers = r.layersRemoved;
    reclaimed += r.gc.reclaimedBytes;
  }
  return { containers: containers.deleted, networks, volumes, images, layers, reclaimed };
}
