/**
 * The three docker syntaxes for mounts, parsed into one shape: `-v SRC:DST[:OPTS]`
 * (bind when SRC is a path, named volume when it is a name, anonymous volume when only DST is
 * given), `--mount type=...,source=...,target=...` and `--tmpfs DST[:OPTS]`.
 */
import { isAbsolute, posix, resolve } from 'node:path';
import { BerthError } from '../../core/errors';
import type { MountSpec } from '../docker-types';

export type Propagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
const PROPAGATIONS: Propagation[] = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'];

export const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

function bad(flag: string, value: string, why: string, hint: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid ${flag} "${value}": ${why}`, { hint });
}

function checkTarget(flag: string, value: string, target: string): string {
  if (!target.startsWith('/')) throw bad(flag, value, `the container path "${target}" is not absolute`, 'container paths start with /');
  const clean = posix.normalize(target).replace(/(.)\/+$/, '$1');
  if (clean === '/') throw bad(flag, value, 'cannot mount over the container\'s /', 'choose a directory inside the container');
  return clean;
}

/** `-v`: the MountSpec it means (Source undefined for an anonymous volume). */
export function parseVolumeFlag(value: string, cwd = process.cwd()): MountSpec {
  const HINT = 'use HOST-PATH:CONTAINER-PATH[:ro], VOLUME-NAME:CONTAINER-PATH[:ro] or CONTAINER-PATH';
  const parts = value.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw bad('-v', value, 'expected at most SOURCE:TARGET:OPTIONS', HINT);
  if (parts.length === 1) return { Type: 'volume', Target: checkTarget('-v', value, parts[0]!) };
  const [src, dst, opts] = parts as [string, string, string | undefined];
  const target = checkTarget('-v', value, dst);
  const spec: MountSpec = isAbsolute(src) || src.startsWith('.')
    ? { Type: 'bind', Source: resolve(cwd, src), Target: target }
    : { Type: 'volume', Source: src, Target: target };
  if (spec.Type === 'volume' && !VOLUME_NAME.test(src)) {
    throw bad('-v', value, `"${src}" is not a valid volume name (letters, digits, _ . -; at least two characters)`, 'to mount a host directory give an absolute path or one starting with ./');
  }
  for (const o of (opts ?? '').split(',').filter(Boolean)) {
    if (o === 'ro' || o === 'readonly') spec.ReadOnly = true;
    else if (o === 'rw') spec.ReadOnly = false;
    else if (o === 'z' || o === 'Z' || o === 'consistent' || o === 'cached' || o === 'delegated') continue; // SELinux relabel / macOS hints: accepted, nothing to do here
    else if (o === 'nocopy' && spec.Type === 'volume') spec.VolumeOptions = { ...spec.VolumeOptions, NoCopy: true };
    else if (PROPAGATIONS.includes(o as Propagation) && spec.Type === 'bind') spec.BindOptions = { ...spec.BindOptions, Propagation: o };
    else throw bad('-v', value, `unknown option "${o}"`, 'options: ro, rw, z, Z, nocopy (volumes), private/rprivate/shared/rshared/slave/rslave (binds)');
  }
  return spec;
}

/** `--mount type=bind,source=/a,target=/b,readonly` (csv, keys as docker accepts them). */
export function parseMountFlag(value: string, cwd = process.cwd()): MountSpec {
  const HINT = 'e.g. type=bind,source=/data,target=/data,readonly or type=volume,source=vol,target=/data or type=tmpfs,target=/run';
  const kv = new Map<string, string>();
  for (const field of value.split(',')) {
    if (!field) continue;
    const i = field.indexOf('=');
    const k = (i < 0 ? field : field.slice(0, i)).trim().toLowerCase();
    kv.set(k, i < 0 ? 'true' : field.slice(i + 1));
  }
  const type = kv.get('type') ?? 'volume';
  if (type !== 'bind' && type !== 'volume' && type !== 'tmpfs') throw bad('--mount', value, `unsupported type "${type}"`, HINT);
  const target = kv.get('target') ?? kv.get('destination') ?? kv.get('dst');
  if (!target) throw bad('--mount', value, 'target is required', HINT);
  const spec: MountSpec = { Type: type, Target: checkTarget('--mount', value, target) };
  const source = kv.get('source') ?? kv.get('src');
  const flag = (k: string) => {
    const v = kv.get(k);
    if (v === undefined) return undefined;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw bad('--mount', value, `${k} must be true or false`, HINT);
  };
  const ro = flag('readonly') ?? flag('ro');
  if (ro !== undefined) spec.ReadOnly = ro;
  const known = new Set(['type', 'target', 'destination', 'dst', 'source', 'src', 'readonly', 'ro', 'consistency']);
  if (type === 'bind') {
    if (!source) throw bad('--mount', value, 'a bind mount needs source', HINT);
    spec.Source = resolve(cwd, source);
    const prop = kv.get('bind-propagation');
    if (prop !== undefined) {
      if (!PROPAGATIONS.includes(prop as Propagation)) throw bad('--mount', value, `bind-propagation "${prop}" is not one of ${PROPAGATIONS.join(', ')}`, HINT);
      spec.BindOptions = { ...spec.BindOptions, Propagation: prop };
    }
    const nonRec = flag('bind-nonrecursive');
    if (nonRec) spec.BindOptions = { ...spec.BindOptions, NonRecursive: true };
    ['bind-propagation', 'bind-nonrecursive'].forEach((k) => known.add(k));
  } else if (type === 'volume') {
    if (source !== undefined) {
      if (!VOLUME_NAME.test(source)) throw bad('--mount', value, `"${source}" is not a valid volume name`, HINT);
      spec.Source = source;
    }
    const nocopy = flag('volume-nocopy');
    if (nocopy) spec.VolumeOptions = { ...spec.VolumeOptions, NoCopy: true };
    const sub = kv.get('volume-subpath');
    if (sub) spec.VolumeOptions = { ...spec.VolumeOptions, Subpath: sub };
    ['volume-nocopy', 'volume-subpath', 'volume-label', 'volume-driver', 'volume-opt'].forEach((k) => known.add(k));
  } else {
    if (source) throw bad('--mount', value, 'a tmpfs mount takes no source', HINT);
    const size = kv.get('tmpfs-size');
    const mode = kv.get('tmpfs-mode');
    spec.TmpfsOptions = {};
    if (size !== undefined) {
      const n = parseTmpfsSize(size);
      if (n === undefined) throw bad('--mount', value, `tmpfs-size "${size}" is not a size`, 'e.g. tmpfs-size=64m');
      spec.TmpfsOptions.SizeBytes = n;
    }
    if (mode !== undefined) {
      if (!/^[0-7]{3,4}$/.test(mode)) throw bad('--mount', value, `tmpfs-mode "${mode}" is not an octal mode`, 'e.g. tmpfs-mode=1777');
      spec.TmpfsOptions.Mode = parseInt(mode, 8);
    }
    ['tmpfs-size', 'tmpfs-mode'].forEach((k) => known.add(k));
  }
  for (const k of kv.keys()) if (!known.has(k)) throw bad('--mount', value, `unknown key "${k}"`, HINT);
  return spec;
}

function parseTmpfsSize(v: string): number | undefined {
  const m = /^(\d+)([kmg]?)b?$/i.exec(v);
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as ''] ?? 1);
}

/** `--tmpfs /run:rw,size=64m,mode=1777` → [target, options string] for HostConfig.Tmpfs. */
export function parseTmpfsFlag(value: string): [string, string] {
  const i = value.indexOf(':');
  const target = checkTarget('--tmpfs', value, i < 0 ? value : value.slice(0, i));
  const opts = i < 0 ? '' : value.slice(i + 1);
  for (const o of opts.split(',').filter(Boolean)) {
    const [k, v] = o.split('=', 2) as [string, string | undefined];
    const flags = ['rw', 'ro', 'exec', 'noexec', 'suid', 'nosuid', 'dev', 'nodev', 'atime', 'noatime', 'relatime', 'strictatime', 'nr_inodes', 'size', 'mode', 'uid', 'gid'];
    if (!flags.includes(k)) throw bad('--tmpfs', value, `unknown option "${k}"`, 'options: rw, ro, exec, noexec, nosuid, nodev, size=64m, mode=1777, uid=N, gid=N');
    if (k === 'size' && (v === undefined || parseTmpfsSize(v) === undefined)) throw bad('--tmpfs', value, `size "${v ?? ''}" is not a size`, 'e.g. size=64m');
    if (k === 'mode' && !/^[0-7]{3,4}$/.test(v ?? '')) throw bad('--tmpfs', value, `mode "${v ?? ''}" is not an octal mode`, 'e.g. mode=1777');
  }
  return [target, opts];
}

/** `--device /dev/sda[:/dev/xvda][:rwm]`. */
export function parseDeviceFlag(value: string): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string } {
  const parts = value.split(':');
  const perms = (s: string | undefined) => s !== undefined && /^[rwm]{1,3}$/.test(s);
  let host = parts[0]!;
  let ctr = host;
  let mode = 'rwm';
  if (parts.length === 2) {
    if (perms(parts[1])) mode = parts[1]!;
    else ctr = parts[1]!;
  } else if (parts.length === 3) {
    ctr = parts[1]!;
    if (!perms(parts[2])) throw bad('--device', value, `"${parts[2]}" is not a permission set`, 'use a combination of r, w and m');
    mode = parts[2]!;
  } else if (parts.length > 3) throw bad('--device', value, 'too many fields', 'use HOST-PATH[:CONTAINER-PATH][:PERMISSIONS]');
  if (!host.startsWith('/') || !ctr.startsWith('/')) throw bad('--device', value, 'device paths must be absolute', 'e.g. --device /dev/fuse');
  host = posix.normalize(host);
  ctr = posix.normalize(ctr);
  return { PathOnHost: host, PathInContainer: ctr, CgroupPermissions: mode };
}
