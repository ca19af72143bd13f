/** Mount helpers of the snapshotters, through the sys seam (no `mount` binary on these paths). */
import { readFileSync } from 'node:fs';
import { wrap } from '../core/errors';
import { MNT_DETACH, MS_BIND, type Sys } from '../sys';

/** Unescapes the octal escapes (\040 for space, ...) that mountinfo uses in paths. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points of the calling process's mount namespace, in mount order. */
export function mountPoints(): string[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length > 4) out.push(unescapeMountPath(fields[4]));
  }
  return out;
}

export function isMounted(path: string): boolean {
  return mountPoints().includes(path);
}

/** Mount points at or below `dir` (for leak checks and cleanup), deepest last. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountPoints().filter((p) => p === dir || p.startsWith(prefix));
}

export function bindMount(sys: Sys, source: string, target: string): void {
  try {
    sys.mount(source, target, null, MS_BIND, null);
  } catch (e) {
    throw wrap('ESYSCALL', `bind-mount ${source} on ${target}`, e);
  }
}

/**
 * Unmounts every mount stacked on `target` (a container may have been mounted twice). With
 * `detach`, busy mounts are detached lazily instead of failing with EBUSY.
 */
export function unmountAll(sys: Sys, target: string, detach = false): void {
  while (isMounted(target)) {
    try {
      sys.umount(target, detach ? MNT_DETACH : 0);
    } catch (e) {
      throw wrap('ESYSCALL', `unmount ${target}`, e, (e as NodeJS.ErrnoException).code === 'EBUSY' ? 'a process still uses the mount; stop the container first' : undefined);
    }
  }
}
