/**
 * Reading and writing cgroup control files. Every failure becomes a BerthError('ECGROUP') that
 * names the file, the value and the errno, because "Invalid argument" alone never says which of
 * twenty writes went wrong.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors';

/** "EINVAL: invalid argument, open '/x'" -> "EINVAL: invalid argument". */
export function errnoMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const comma = msg.indexOf(', ');
  return comma > 0 ? msg.slice(0, comma) : msg;
}

function writeHint(code: string | undefined, file: string): string {
  switch (code) {
    case 'EBUSY':
      return file.includes('memory')
        ? 'the cgroup already uses more memory than the new limit; raise the limit or free memory first'
        : 'the kernel refused the change while the cgroup is in use';
    case 'EINVAL':
    case 'ERANGE':
      return 'the value is out of range for this kernel, or conflicts with a limit set on a parent cgroup';
    case 'ENOENT':
    case 'EACCES':
      return 'this kernel does not provide that cgroup file (controller or feature missing)';
    case 'ENODEV':
      return 'no block device has that major:minor on this host (see /sys/dev/block)';
    case 'EPERM':
      return 'writing cgroup files needs root (or a delegated cgroup)';
    case 'ENOSPC':
      return 'no CPUs or memory nodes left to assign, or the hierarchy is full';
    default:
      return 'check the value against the kernel documentation of this cgroup file';
  }
}

export function writeCgroupFile(dir: string, file: string, value: string | number): void {
  const path = join(dir, file);
  const text = String(value);
  try {
    writeFileSync(path, text);
  } catch (e) {
    let code = errnoCode(e);
    // cgroupfs refuses O_CREAT with EACCES when the file does not exist; say so plainly.
    if ((code === 'EACCES' || code === 'EPERM') && !existsSync(path)) code = 'ENOENT';
    const detail = code === 'ENOENT' && errnoCode(e) !== 'ENOENT' ? 'ENOENT: no such file' : errnoMessage(e);
    throw new BerthError('ECGROUP', `writing ${path} = ${text}: ${detail}`, { cause: e, hint: writeHint(code, file) });
  }
}

export function readCgroupFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new BerthError('ECGROUP', `reading ${path}: ${errnoMessage(e)}`, { cause: e });
  }
}

/** Contents, or undefined when the file is absent or unreadable (optional statistics). */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function hasFile(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** A number file: "max" (v2) and the v1 "unlimited" sentinel both read as 0, like runc reports them. */
export function readNumber(dir: string, file: string): number | undefined {
  const s = readOptional(dir, file);
  if (s === undefined || s === '') return undefined;
  if (s === 'max') return 0;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, cgroup.events) into a map. */
export function readKeyValues(dir: string, file: string): Record<string, number> {
  const out: Record<string, number> = {};
  const s = readOptional(dir, file);
  if (!s) return out;
  for (const line of s.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}
