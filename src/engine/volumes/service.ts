/**
 * Volume use cases (create, ls, inspect, rm, prune) with docker's rules: a volume used by any
 * container (running or not) is not removed unless forced (and never while running); prune
 * takes anonymous unused volumes, or every unused one with `all`.
 */
import { readdirSync, lstatSync } from 'node:fs';
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
export function directorySize(dir: string): number {
  let total = 0;
  const seen = new Set<string>();
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = lstatSync(p);
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1 && seen.has(key)) continue;
      seen.add(key);
      if (st.isDirectory()) walk(p);
      else total += st.size;
    }
  };
  walk(dir);
  return total;
}

/** Reports volume events ("create", "destroy") to the engine's event log. */
export type VolumeEventSink = (action: 'create' | 'destroy', volume: string) => void;

export class VolumeService {
  readonly store: VolumeStore;

  constructor(
    root: string,
    private readonly containers: () => ContainerRecord[],
    private readonly onEvent: VolumeEventSink = () => undefined,
  ) {
    this.store = new VolumeStore(root);
  }

  /** Container ids using each volume (by name). */
  usage(): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const c of this.containers()) {
      const names = new Set<string>();
      for (const m of c.Mounts) if (m.Type === 'volume' && m.Name) names.add(m.Name);
      for (const n of names) users.set(n, [...(users.get(n) ?? []), c.Id]);
    }
    return users;
  }

  create(name: string | undefined, labels: Record<string, string> = {}, options: Record<string, string> = {}): VolumeRecord {
    const { volume, created } = this.store.create({ ...(name !== undefined ? { name } : {}), labels, options });
    if (created) this.onEvent('create', volume.Name);
    return volume;
  }

  /** A volume a container needs (create and `--volume`): made when missing, reported as docker does. */
  ensure(name: string | undefined, opts: { anonymous?: boolean } = {}): { volume: VolumeRecord; created: boolean } {
    const r = this.store.create({ ...(name === undefined ? {} : { name }), ...(opts.anonymous ? { anonymous: true } : {}) });
    if (r.created) this.onEvent('create', r.volume.Name);
    return r;
  }

  list(filter: VolumeFilter = {}): VolumeRecord[] {
    const usage = this.usage();
    return this.store.list().filter((v) => {
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

  inspect(name: string): VolumeRecord {
    return this.store.resolve(name);
  }

  /** Removes one volume; false when it did not exist and `force` was given. */
  remove(name: string, opts: { force?: boolean } = {}): boolean {
    if (!this.store.get(name)) {
      if (opts.force) return false;
      this.store.resolve(name);
    }
    const users = this.usage().get(name) ?? [];
    const running = new Set(this.containers().filter((c) => c.State.Running).map((c) => c.Id));
    if (users.length && (!opts.force || users.some((u) => running.has(u)))) {
      throw new BerthError('EIN_USE', `remove ${name}: volume is in use - [${users.join(', ')}]`, {
        hint: opts.force ? 'stop the containers using it first' : 'remove the containers using it first (berth rm -v), or use --force for stopped ones',
      });
    }
    this.store.remove(name);
    this.onEvent('destroy', name);
    return true;
  }

  prune(opts: { all?: boolean; dryRun?: boolean; filter?: VolumeFilter } = {}): { deleted: string[]; reclaimed: number } {
    const usage = this.usage();
    const victims = this.list(opts.filter).filter((v) => !usage.has(v.Name) && (opts.all || v.Anonymous));
    let reclaimed = 0;
    for (const v of victims) {
      reclaimed += directorySize(v.Mountpoint);
      if (!opts.dryRun) {
        this.store.remove(v.Name);
        this.onEvent('destroy', v.Name);
      }
    }
    return { deleted: victims.map((v) => v.Name), reclaimed };
  }
}
