/** What exists on the filesystem, asked without blocking the event loop. */
import { access, readdir } from 'node:fs/promises';
import { errnoCode } from './errors';

/** Whether a path exists (for the caller, as access(2) sees it). */

export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The names in a directory; none when the directory does not exist (yet, or any more). */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  }
}
