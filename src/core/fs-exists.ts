/** Whether a path exists (for the caller, as access(2) sees it), without blocking the event loop. */
import { access } from 'node:fs/promises';

export function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
