/**
 * Paths inside an archive or an image layout, as manifest.json, index.json and tar headers
 * give them. They come from whoever made the archive, so each one is checked before use:
 * an absolute path or a `..` component could name a file outside the archive (path
 * traversal, as in CVE-2018-15664-style "docker cp"/load escapes), so both are refused
 * instead of being cleaned up.
 */
import { BerthError } from '../../core/errors';

/** `a/./b//c` → `a/b/c`; refuses absolute paths, `..` and empty paths. */
export function archivePath(path: string, what: string): string {
  if (path.includes('\0')) throw unsafe(what, path, 'it contains a NUL byte');
  if (path.startsWith('/')) throw unsafe(what, path, 'it is absolute');
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(what, path, 'it has a ".." component');
  if (parts.length === 0) throw unsafe(what, path, 'it is empty');
  return parts.join('/');
}

function unsafe(what: string, path: string, why: string): BerthError {
  return new BerthError('EUNSAFE_ARCHIVE', `${what}: refusing path ${JSON.stringify(path)}: ${why}`, {
    hint: 'the archive is malformed or crafted to read files outside itself; nothing was loaded',
  });
}

/**
 * Resolves a symlink target found at `linkPath` inside the archive to an archive path.
 * Absolute targets and targets that climb above the archive root are refused: following
 * them would read the host's files (a symlinked layer.tar pointing at /etc/shadow).
 */
export function resolveLinkTarget(linkPath: string, target: string, what: string): string {
  if (target.startsWith('/')) throw unsafe(what, `${linkPath} -> ${target}`, 'the symlink points outside the archive');
  const parts = linkPath.split('/').slice(0, -1);
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw unsafe(what, `${linkPath} -> ${target}`, 'the symlink points outside the archive');
      parts.pop();
    } else parts.push(p);
  }
  if (parts.length === 0) throw unsafe(what, `${linkPath} -> ${target}`, 'the symlink points at the archive root');
  return parts.join('/');
}
