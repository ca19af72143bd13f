/**
 * Which containers a listing shows: docker's container filters (id, name, label, status,
 * exited, ancestor, before, since, volume, health, network) over the records, and the listing itself
 * (running ones unless `all`, newest first, a limit, sizes on request) as `docker ps` and
 * `GET /containers/json` both return it.
 */
import { BerthError } from '../../core/errors';
import type { Snapshotter } from '../../snapshots/types';
import type { ContainerRecord } from '../containers/record';
import { filterPairs, splitLabel, type FilterArgs } from './filters';

export const CONTAINER_STATUSES = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'] as const;

/**
 * A predicate over records for `filters`; every (key, value) pair must hold. `all` is the
 * whole list, for before/since, which name a container.
 */
export function containerFilter(filters: FilterArgs | undefined, all: readonly ContainerRecord[]): (r: ContainerRecord) => boolean {
  const tests: Array<(r: ContainerRecord) => boolean> = [];
  const networks = filters?.network ?? [];
  // docker: on any of the networks named, by the name it has in Networks or a prefix of its id.
  if (networks.length > 0) tests.push((r) => networks.some((n) => onNetwork(r, n)));
  for (const [key, value] of filterPairs(filters)) {
    switch (key) {
      case 'id':
        tests.push((r) => r.Id.startsWith(value));
        break;
      case 'name':
        tests.push((r) => r.Name.slice(1).includes(value.replace(/^\//, '')));
        break;
      case 'label': {
        const [k, v] = splitLabel(value);
        tests.push((r) => k in (r.Config.Labels ?? {}) && (v === undefined || r.Config.Labels![k] === v));
        break;
      }
      case 'status': {
        if (!(CONTAINER_STATUSES as readonly string[]).includes(value)) {
          throw new BerthError('EINVALID_ARGUMENT', `invalid filter "status=${value}"`, { hint: `status is one of ${CONTAINER_STATUSES.join(', ')}` });
        }
        tests.push((r) => r.State.Status === value);
        break;
      }
      case 'exited':
        tests.push((r) => r.State.Status === 'exited' && String(r.State.ExitCode) === value);
        break;
      case 'ancestor':
        tests.push((r) => r.Config.Image === value || r.Image.includes(value) || (r.Config.Image ?? '').split(':')[0] === value);
        break;
      case 'before':
      case 'since': {
        const ref = all.find((r) => r.Id.startsWith(value) || r.Name === `/${value}`);
        if (!ref) throw new BerthError('ENOT_FOUND', `No such container: ${value}`);
        const t = Date.parse(ref.Created);
        tests.push((r) => (key === 'before' ? Date.parse(r.Created) < t : Date.parse(r.Created) > t));
        break;
      }
      case 'volume':
        tests.push((r) => r.Mounts.some((m) => m.Name === value || m.Destination === value || m.Source === value));
        break;
      case 'health':
        tests.push((r) => (r.State.Health?.Status ?? 'none') === value);
        break;
      case 'network':
        break;
      default:
        throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${key}"`, { hint: 'container filters: id, name, label, status, exited, ancestor, before, since, volume, health, network' });
    }
  }
  return (r) => tests.every((t) => t(r));
}

/** Whether a container is on a network: the key of NetworkSettings.Networks, or a prefix of its NetworkID. */
function onNetwork(r: ContainerRecord, nameOrId: string): boolean {
  const networks = r.NetworkSettings?.Networks ?? {};
  if (Object.hasOwn(networks, nameOrId)) return true;
  return nameOrId !== '' && Object.values(networks).some((ep) => (ep?.NetworkID ?? '').startsWith(nameOrId));
}

export interface ContainerListOptions {
  /** Stopped containers too (without it, and without a limit or a status/exited filter: running ones). */
  all?: boolean;
  /** The n most recently created (docker's `limit`, `ps -n`/`-l`). */
  limit?: number;
  filters?: FilterArgs;
  /** Measure each container's writable layer and root file system. */
  size?: boolean;
}

/** A container's sizes as docker reports them: the writable layer, and that plus its image. */
export interface ContainerSize {
  rw: number;
  rootfs: number;
}

export interface ContainerListEntry {
  record: ContainerRecord;
  /** With `size`, for containers that have a snapshot. */
  size?: ContainerSize;
}

/** The writable layer's size and the root file system's (layer plus image); unknown parts count 0. */
export async function containerSize(snapshotter: Snapshotter, rec: ContainerRecord): Promise<ContainerSize | undefined> {
  if (!rec.Berth.snapshotKey) return undefined;
  const rw = await snapshotter.usage({ key: rec.Berth.snapshotKey }).catch(() => ({ size: 0 }));
  const image = rec.Berth.chainId ? await snapshotter.usage({ chainId: rec.Berth.chainId }).catch(() => ({ size: 0 })) : { size: 0 };
  return { rw: rw.size, rootfs: rw.size + image.size };
}

/**
 * `records` is the engine's list (newest first); the listing as `ps` and the API show it.
 * `sizeOf` is asked only with `size` (measuring opens the snapshotter and walks layers).
 */
export async function listContainers(records: readonly ContainerRecord[], sizeOf: (rec: ContainerRecord) => Promise<ContainerSize | undefined>, opts: ContainerListOptions = {}): Promise<ContainerListEntry[]> {
  let shown = records.filter(containerFilter(opts.filters, records));
  const byState = (opts.filters?.status?.length ?? 0) > 0 || (opts.filters?.exited?.length ?? 0) > 0;
  if (!opts.all && opts.limit === undefined && !byState) shown = shown.filter((r) => r.State.Running);
  if (opts.limit !== undefined) shown = shown.slice(0, opts.limit);
  const entries: ContainerListEntry[] = [];
  for (const record of shown) {
    const size = opts.size ? await sizeOf(record) : undefined;
    entries.push({ record, ...(size ? { size } : {}) });
  }
  return entries;
}
