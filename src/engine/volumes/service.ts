/**
 * Volume use cases (create, ls, inspect, rm, prune) with docker's rules: a volume used by any
 * container (running or not) is not removed unless forced (and never while running); prune
 * takes anonymous unused volumes, or every unused one with `all`.
 */
import { readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../../core/errors';
import type { ContainerRecord } from '../containers/record';
import { VolumeStore, type VolumeRecord } from './store';

export interface VolumeFilter {
  dangling?: boolean;
  name?: string[];
  label?: string[];
  driver?: string[];
}

/** Bytes under a directory (lstat sizes; hard links counted once). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await lstat(p);
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(key)) continue;
      seen.add(key);
      if (st.isDirectory()) await walk(p);
      else total += st.size;
    }
  };
  await walk(dir);
  return total;
}

/** Reports volume events ("create", "destroy") to the engine's event log (awaited: recorded before the operation returns). */
export type VolumeEventSink = (action: 'create' | 'destroy', volume: string) => void | Promise<void>;

export class VolumeService {
  readonly store: VolumeStore;

  constructor(
    root: string,
    /** The container records (a promise once the container store reads asynchronously). */
    private readonly containers: () => ContainerRecord[] | Promise<ContainerRecord[]>,
    private readonly onEvent: VolumeEventSink = () => undefined,
  ) {
    this.store = new VolumeStore(root);
  }

  /** Container ids using each volume (by name). */
  async usage(): Promise<Map<string, string[]>> {
    const users = new Map<string, string[]>();
    for (const c of await this.containers()) {
      const names = new Set<string>();
      for (const m of c.Mounts) if (m.Type === 'volume' && m.Name) names.add(m.Name);
      for (const n of names) users.set(n, [...(users.get(n) ?? []), c.Id]);
    }
    return users;
  }

  async create(name: string | undefined, labels: Record<string, string> = {}, options: Record<string, string> = {}): Promise<VolumeRecord> {
    const { volume, created } = await this.store.create({ ...(name !== undefined ? { name } : {}), labels, options });
    if (created) await this.onEvent('create', volume.Name);
    return volume;
  }

  /** A volume a container needs (create and `--volume`): made when missing, reported as docker does. */
  async ensure(name: string | undefined, opts: { anonymous?: boolean } = {}): Promise<{ volume: VolumeRecord; created: boolean }> {
    const r = await this.store.create({ ...(name === undefined ? {} : { name }), ...(opts.anonymous ? { anonymous: true } : {}) });
    if (r.created) await this.onEvent('create', r.volume.Name);
    return r;
  }

  async list(filter: VolumeFilter = {}): Promise<VolumeRecord[]> {
    const usage = await this.usage();
    return (await this.store.list()).filter((v) => {
      if (filter.dangling !== undefined && (usage.has(v.Name) === filter.dangling)) return false;
      if (filter.name?.length && !filter.name.some((n) => v.Name.includes(n))) return false;
      if (filter.driver?.length && !filter.driver.includes(v.Driver)) return false;
      for (const l of filter.label ?? []) {
        const i = l.indexOf('=');
        const [k, val] = i < 0 ? [l, undefined] : [l.slice(0, i), l.slice(i + 1)];
        if (!(k in v.Labels) || (val !== undefined && v.Labels[k] !== val)) return false;
      }
      return true;
    });
  }

  inspect(name: string): Promise<VolumeRecord> {
    return this.store.resolve(name);
  }

  /** Removes one volume; false when it did not exist and `force` was given. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    if (!(await this.store.get(name))) {
      if (opts.force) return false;
      await this.store.resolve(name);
    }
    const users = (await this.usage()).get(name) ?? [];
    const running = new Set((await this.containers()).filter((c) => c.State.Running).map((c) => c.Id));
    if (users.length && (!opts.force || users.some((u) => running.has(u)))) {
      throw new BerthError('EIN_USE', `remove ${name}: volume is in use - [${users.join(', ')}]`, {
        hint: opts.force ? 'stop the containers using it first' : 'remove the containers using it first (berth rm -v), or use --force for stopped ones',
      });
    }
    await this.store.remove(name);
    await this.onEvent('destroy', name);
    return true;
  }

  async prune(opts: { all?: boolean; dryRun?: boolean; filter?: VolumeFilter } = {}): Promise<{ deleted: string[]; reclaimed: number }> {
    const usage = await this.usage();
    const victims = (await this.list(opts.filter)).filter((v) => !usage.has(v.Name) && (opts.all || v.Anonymous));
    let reclaimed = 0;
    for (const v of victims) {
      reclaimed += await directorySize(v.Mountpoint);
      if (!opts.dryRun) {
        await this.store.remove(v.Name);
        await this.onEvent('destroy', v.Name);
      }
    }
    return { deleted: victims.map((v) => v.Name), reclaimed };
  }
}
