/**
 * Turning OCI `linux.cgroupsPath` into a path inside a hierarchy.
 *
 * Berth does not talk to systemd: the systemd form "slice:prefix:name" (what `--systemd-cgroup`
 * callers pass) is mapped onto a plain cgroupfs path "/<slice>/<prefix>-<name>.scope", which is
 * where systemd itself would have put the scope, but no unit is registered and systemd does not
 * manage the result.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { BerthError } from '../core/errors';

export interface CgroupPathSpec {
  /** Absolute paths start at each hierarchy's root; relative ones below this process's own cgroup. */
  relative: boolean;
  /** Normalized, without a leading slash for relative paths. */
  path: string;
}

export function parseCgroupsPath(cgroupsPath: string | undefined, id: string): CgroupPathSpec {
  if (cgroupsPath === undefined || cgroupsPath === '') return { relative: false, path: `/berth/${id}` };
  let p = cgroupsPath;
  const systemd = /^([^:/]*):([^:/]*):([^:/]+)$/.exec(p);
  if (systemd) {
    const [, slice, prefix, name] = systemd;
    const unit = name!.endsWith('.slice') ? name! : `${prefix ? `${prefix}-` : ''}${name}.scope`;
    p = `/${slice || 'system.slice'}/${unit}`;
  }
  if (p.split('/').includes('..')) {
    throw new BerthError('ECGROUP', `linux.cgroupsPath "${cgroupsPath}" contains "..", which would escape the hierarchy`, {
      hint: 'use a path without ".." components, e.g. /berth/<id>',
    });
  }
  const relative = !p.startsWith('/');
  const norm = posix.normalize(relative ? `/${p}` : p).replace(/\/+$/, '');
  if (norm === '' || norm === '/') {
    throw new BerthError('ECGROUP', `linux.cgroupsPath "${cgroupsPath}" names the hierarchy root`, {
      hint: 'a container needs its own cgroup; give a path such as /berth/<id>',
    });
  }
  return { relative, path: relative ? norm.slice(1) : norm };
}

/** Entries of /proc/self/cgroup: hierarchy id, controllers ("" for cgroup2), path. */
export interface SelfCgroupEntry {
  controllers: string[];
  path: string;
}

export function readSelfCgroups(file = '/proc/self/cgroup'): SelfCgroupEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: SelfCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.push({ controllers: m[1] ? m[1].split(',') : [], path: m[2]! });
  }
  return out;
}

/**
 * The path inside one hierarchy: for v1 the hierarchy carrying any of `controllers`, for cgroup2
 * (controllers empty) the "0::" entry.
 */
export function resolveInHierarchy(spec: CgroupPathSpec, self: SelfCgroupEntry[], controllers: string[]): string {
  if (!spec.relative) return spec.path;
  const entry =
    controllers.length === 0
      ? self.find((e) => e.controllers.length === 0)
      : self.find((e) => e.controllers.some((c) => controllers.includes(c)));
  const base = entry?.path ?? '/';
  return posix.join(base, spec.path);
}
