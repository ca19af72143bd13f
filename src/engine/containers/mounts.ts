/**
 * A container's mounts, from its `-v` binds, `--mount`s, `--tmpfs`, image/anonymous VOLUMEs and
 * `--volumes-from`, resolved to OCI mounts (for the runtime) and docker MountPoints (for
 * inspect). Later sources override earlier ones at the same destination, as in docker:
 * volumes-from, then image volumes, then binds and --mount, then tmpfs. Parents are mounted
 * before children (sorted by depth).
 */
import { mkdir, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { BerthError, errnoCode } from '../../core/errors';
import type { Mount } from '../../spec/types';
import type { HostConfig, MountSpec } from '../docker-types';
import { parseVolumeFlag } from '../parse/mounts';
import type { VolumeRecord, VolumeStore } from '../volumes/store';
import type { ContainerRecord, MountPoint } from './record';
import { compareStrings } from '../../core/compare';

export interface PlannedMount {
  point: MountPoint;
  oci: Mount;
}

export interface VolumeNeed {
  /** undefined: an anonymous volume to create. */
  name: string | undefined;
  target: string;
  noCopy: boolean;
}

function tmpfsOptions(opts: string): string[] {
  const list = opts.split(',').filter(Boolean);
  const has = (k: string) => list.some((o) => o === k || o.startsWith(`${k}=`));
  // docker's defaults for --tmpfs: no exec, suid or devices unless asked for.
  const out = [...list];
  if (!has('exec') && !has('noexec')) out.push('noexec');
  if (!has('suid') && !has('nosuid')) out.push('nosuid');
  if (!has('dev') && !has('nodev')) out.push('nodev');
  return out;
}

async function bindMount(spec: MountSpec, mode: string, createMissing: boolean): Promise<PlannedMount> {
  const source = spec.Source!;
  if (!(await stat(source).then(() => true, () => false))) {
    if (!createMissing) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid mount config for type "bind": bind source path does not exist: ${source}`, {
        hint: 'create the host directory first (-v creates it for you, --mount does not)',
      });
    }
    try {
      await mkdir(source, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw new BerthError('EINVALID_ARGUMENT', `cannot create the bind source ${source}: ${errnoCode(e) ?? String(e)}`, { cause: e });
    }
  }
  const propagation = spec.BindOptions?.Propagation ?? 'rprivate';
  const ro = spec.ReadOnly === true;
  return {
    point: { Type: 'bind', Source: source, Destination: spec.Target, Mode: mode, RW: !ro, Propagation: propagation },
    oci: { destination: spec.Target, type: 'bind', source, options: [spec.BindOptions?.NonRecursive ? 'bind' : 'rbind', propagation, ...(ro ? ['ro'] : [])] },
  };
}

async function volumeMount(v: VolumeRecord, target: string, ro: boolean, mode: string, subpath?: string): Promise<PlannedMount> {
  let source = v.Mountpoint;
  if (subpath) {
    const clean = posix.normalize(subpath);
    if (clean.startsWith('..') || posix.isAbsolute(clean)) {
      throw new BerthError('EINVALID_ARGUMENT', `volume-subpath "${subpath}" must stay inside the volume`, { hint: 'give a relative path without ..' });
    }
    source = posix.join(v.Mountpoint, clean);
    if (!(await stat(source).then((s) => s.isDirectory(), () => false))) {
      throw new BerthError('EINVALID_ARGUMENT', `volume-subpath "${subpath}" does not exist in volume ${v.Name}`);
    }
  }
  return {
    point: { Type: 'volume', Name: v.Name, Source: source, Destination: target, Driver: 'local', Mode: mode, RW: !ro, Propagation: '' },
    oci: { destination: target, type: 'bind', source, options: ['rbind', 'rprivate', ...(ro ? ['ro'] : [])] },
  };
}

/**
 * The volumes a container needs (named and anonymous), so that create can make them (and
 * copy image content into new ones) before anything else happens.
 */
export function volumeNeeds(config: { Volumes?: Record<string, unknown> }, hc: HostConfig): VolumeNeed[] {
  const needs = new Map<string, VolumeNeed>();
  for (const target of Object.keys(config.Volumes ?? {})) needs.set(target, { name: undefined, target, noCopy: false });
  for (const b of hc.Binds ?? []) {
    const m = parseVolumeFlag(b);
    if (m.Type === 'volume') needs.set(m.Target, { name: m.Source, target: m.Target, noCopy: m.VolumeOptions?.NoCopy === true });
    else needs.delete(m.Target);
  }
  for (const m of hc.Mounts ?? []) {
    if (m.Type === 'volume') needs.set(m.Target, { name: m.Source, target: m.Target, noCopy: m.VolumeOptions?.NoCopy === true });
    else needs.delete(m.Target);
  }
  for (const t of Object.keys(hc.Tmpfs ?? {})) needs.delete(t);
  return [...needs.values()];
}

/**
 * OCI mounts and MountPoints at start. `anonymous` maps target paths to the anonymous volume
 * names created for this container; `volumesFrom` resolves another container by name.
 */
export async function planMounts(
  rec: Pick<ContainerRecord, 'Config' | 'HostConfig'>,
  anonymous: Record<string, string>,
  volumes: VolumeStore,
  volumesFrom: (name: string) => ContainerRecord | Promise<ContainerRecord>,
): Promise<PlannedMount[]> {
  const byTarget = new Map<string, PlannedMount>();
  const hc = rec.HostConfig;
  for (const spec of hc.VolumesFrom ?? []) {
    const [name, mode] = spec.split(':', 2) as [string, string | undefined];
    if (mode !== undefined && mode !== 'ro' && mode !== 'rw') {
      throw new BerthError('EINVALID_ARGUMENT', `invalid --volumes-from "${spec}"`, { hint: 'use CONTAINER or CONTAINER:ro' });
    }
    const other = await volumesFrom(name);
    for (const p of other.Mounts) {
      if (p.Type === 'tmpfs') continue;
      const ro = mode === 'ro' || (mode === undefined && !p.RW);
      byTarget.set(p.Destination, {
        point: { ...p, RW: !ro, Mode: ro ? 'ro' : p.Mode },
        oci: { destination: p.Destination, type: 'bind', source: p.Source, options: ['rbind', 'rprivate', ...(ro ? ['ro'] : [])] },
      });
    }
  }
  for (const target of Object.keys(rec.Config.Volumes ?? {})) {
    const name = anonymous[target];
    if (name) byTarget.set(target, await volumeMount(await volumes.resolve(name), target, false, ''));
  }
  for (const b of hc.Binds ?? []) {
    const m = parseVolumeFlag(b);
    const mode = b.split(':')[2] ?? '';
    if (m.Type === 'bind') byTarget.set(m.Target, await bindMount(m, mode, true));
    else byTarget.set(m.Target, await volumeMount(await volumes.resolve(m.Source ?? anonymous[m.Target] ?? ''), m.Target, m.ReadOnly === true, mode));
  }
  for (const m of hc.Mounts ?? []) {
    if (m.Type === 'bind') byTarget.set(m.Target, await bindMount(m, '', false));
    else if (m.Type === 'volume') {
      byTarget.set(m.Target, await volumeMount(await volumes.resolve(m.Source ?? anonymous[m.Target] ?? ''), m.Target, m.ReadOnly === true, '', m.VolumeOptions?.Subpath));
    } else {
      const opts: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode !== undefined) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      if (m.ReadOnly) opts.push('ro');
      byTarget.set(m.Target, {
        point: { Type: 'tmpfs', Source: '', Destination: m.Target, Mode: '', RW: m.ReadOnly !== true, Propagation: '' },
        oci: { destination: m.Target, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(opts.join(',')) },
      });
    }
  }
  for (const [target, opts] of Object.entries(hc.Tmpfs ?? {})) {
    byTarget.set(target, {
      point: { Type: 'tmpfs', Source: '', Destination: target, Mode: opts, RW: !opts.split(',').includes('ro'), Propagation: '' },
      oci: { destination: target, type: 'tmpfs', source: 'tmpfs', options: tmpfsOptions(opts) },
    });
  }
  const depth = (p: string) => p.split('/').filter(Boolean).length;
  return [...byTarget.values()].sort((a, b) => depth(a.oci.destination) - depth(b.oci.destination) || compareStrings(a.oci.destination, b.oci.destination));
}
