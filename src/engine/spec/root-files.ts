/**
 * Reading files of a container's root filesystem from the host, as the engine must to
 * resolve `--user` names against the image's /etc/passwd. The image is untrusted: its
 * /etc/passwd may be a symlink to `/../../../etc/shadow` or to an absolute host path. Every
 * component is resolved here by hand with the rootfs as `/`, so a symlink can never lead
 * out of it (the escape docker fixed as CVE-2014-9356 and friends).
 */
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../../core/errors';

const MAX_LINKS = 40;

/** The host path of `path` inside `root`, with symlinks resolved inside root. */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const pending = path.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = join(root, ...resolved, part);
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR') throw e;
    }
    if (!isLink) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_LINKS) {
      throw new BerthError('EINVALID_ARGUMENT', `${path} in the container: too many levels of symbolic links`);
    }
    const target = await readlink(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...resolved);
}

/** Contents of `path` inside `root`, or undefined when it does not exist. */
export async function readFileInRoot(root: string, path: string): Promise<string | undefined> {
  try {
    return await readFile(await resolveInRoot(root, path), 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw e;
  }
}
