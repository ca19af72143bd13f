/**
 * Scratch space for archive work (a spooled stdin archive, a layer decompressed to learn its
 * size): `<root>/tmp/<pid>-<random>/`, removed when the operation ends. Directories of
 * processes that no longer run (killed mid-load) are removed by the next caller.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function makeTempDir(tmpRoot: string): Promise<TempDir> {
  await mkdir(tmpRoot, { recursive: true, mode: 0o700 });
  for (const name of await readdir(tmpRoot).catch(() => [] as string[])) {
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) await rm(join(tmpRoot, name), { recursive: true, force: true });
  }
  const path = join(tmpRoot, `${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(path, { mode: 0o700 });
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
