/**
 * Container records on disk:
 *   <root>/containers/<id>/container.json   the record (written temp + fsync + rename)
 *   <root>/containers/<id>/lock             flock taken around every change of that container;
 *                                           a create holds it from the record's first write
 *                                           to its last, a removal from start to end
 *   <root>/containers/<id>/start.lock       flock held by a start until the process runs
 *   <root>/containers/<id>/exit.lock        flock held shared by commands that wait for the
 *                                           exit status (attached run, start -a, wait): --rm
 *                                           waits for them (recover.ts)
 *   <root>/containers/.trash-<id>-<hex>/    a record being deleted (renamed here first)
 *   <root>/names/<name>                     the id owning a name
 *   <root>/names.lock                       flock around reclaiming a stale name
 *
 * Ordering, so that a process killed at any point leaves something the next one can judge:
 * a create writes its record (marked `creating`, lock held) before it claims the name, so a
 * name file always points at an existing record while its owner lives. Name files appear
 * complete or not at all (written aside, then link(2)ed into place, which fails if the name
 * exists). A claim whose record is gone, or whose record carries another name and is not
 * locked (a rename in progress holds the lock), is stale: it is removed under names.lock
 * after a second look, so two reclaimers never both win. A removal releases the name first
 * and then renames the directory away, so a crash leaves either a record in "removing"
 * (finished by the next command) or nothing.
 */
import { link, mkdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, errnoCode, isDiskFull } from '../../core/errors';
import { crashPoint } from '../../core/crash-point';
import { writeFileAtomic } from '../../core/fs-atomic';
import { acquireLock, tryLock, type FileLock } from '../../core/lock';
import type { ContainerRecord } from './record';
import { pathExists, readdirOrEmpty } from '../../core/fs-exists';

const ID_RE = /^[0-9a-f]{64}$/;
/** A new container's directory before it moves to its id (`.new-<pid>-<hex>`). */
const NEW_PREFIX = '.new-';

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function noSuchContainer(query: string): BerthError {
  return new BerthError('ENOT_FOUND', `No such container: ${query}`, { hint: 'list containers with: berth ps -a' });
}

export class ContainerStore {
  readonly dir: string;
  readonly namesDir: string;
  private readonly namesLock: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
    this.namesDir = join(root, 'names');
    this.namesLock = join(root, 'names.lock');
  }

  private async ensure(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.namesDir, { recursive: true, mode: 0o700 });
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  private recordPath(id: string): string {
    return join(this.dir, id, 'container.json');
  }

  private nameFile(name: string): string {
    return join(this.namesDir, name);
  }

  private async readOwner(name: string): Promise<string | undefined> {
    try {
      return (await readFile(this.nameFile(name), 'utf8')).trim();
    } catch (e) {
      if (['ENOENT', 'ENOTDIR', 'EINVAL', 'EISDIR'].includes(errnoCode(e) ?? '')) return undefined;
      throw e;
    }
  }

  /**
   * A claim nobody will complete: its record is gone, or its record has another name and
   * nobody holds the record's lock (a rename in progress does).
   */
  private async isStaleClaim(name: string, owner: string): Promise<boolean> {
    const rec = await this.load(owner);
    if (!rec) return true;
    if (rec.Name === `/${name}`) return false;
    const lock = this.tryLock(owner);
    if (!lock) return false;
    lock.release();
    return (await this.load(owner))?.Name !== `/${name}`;
  }

  /** Removes a stale claim after a second look under names.lock (another reclaimer may have won). */
  private async reclaim(name: string, owner: string): Promise<void> {
    await mkdir(this.namesDir, { recursive: true, mode: 0o700 });
    const lock = tryLock(this.namesLock);
    if (!lock) return; // someone else is reclaiming: the caller's next look sees the outcome
    try {
      if ((await this.readOwner(name)) === owner && (await this.isStaleClaim(name, owner))) await unlink(this.nameFile(name));
    } finally {
      lock.release();
    }
  }

  /** Claims `name` for `id` (whose directory exists); a conflict names the current owner. */
  async reserveName(name: string, id: string): Promise<void> {
    await this.ensure();
    const file = this.nameFile(name);
    // Written aside (in the container's own directory: same filesystem) and linked into
    // place, so nobody ever reads an empty or partial claim.
    const aside = join(this.containerDir(id), `name-${randomBytes(4).toString('hex')}`);
    await writeFile(aside, id, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await link(aside, file);
          return;
        } catch (e) {
          if (errnoCode(e) !== 'EEXIST') throw e;
        }
        const owner = await this.readOwner(name);
        if (owner === undefined) continue; // released meanwhile
        if (owner === id) return;
        if (!(await this.isStaleClaim(name, owner))) {
          throw new BerthError('EEXISTS', `Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
            hint: 'remove (or rename) that container to be able to reuse that name, or choose another --name',
          });
        }
        await this.reclaim(name, owner);
      }
      throw new BerthError('EEXISTS', `the container name "/${name}" is being claimed by another process`, { hint: 'retry' });
    } finally {
      await rm(aside, { force: true });
    }
  }

  async releaseName(name: string, id: string): Promise<void> {
    try {
      if ((await this.readOwner(name)) === id) await unlink(this.nameFile(name));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }

  /**
   * Starts recording a new container: directory, lock (held until the caller releases it),
   * the record (which the caller marks `Berth.creating`), then the name. The caller
   * finishes and saves the record without the mark; whoever finds a record still marked
   * with its lock free knows that its creator died. A name conflict undoes it all and throws.
   */
  async begin(rec: ContainerRecord): Promise<FileLock> {
    await this.ensure();
    // Made aside and moved into place with its lock already held: a directory under its id
    // without a record and with a free lock is then always a killed create's (halfMade).
    const aside = join(this.dir, `${NEW_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(aside, { mode: 0o700 });
    const lock = tryLock(join(aside, 'lock'));
    if (!lock) throw new BerthError('EINTERNAL', `the new container directory ${aside} is locked by another process`);
    try {
      await rename(aside, this.containerDir(rec.Id));
    } catch (e) {
      lock.release();
      await rm(aside, { recursive: true, force: true });
      throw e;
    }
    crashPoint('create:dir');
    try {
      await this.save(rec);
      crashPoint('create:recorded');
      await this.reserveName(rec.Name.replace(/^\//, ''), rec.Id);
      crashPoint('create:named');
    } catch (e) {
      await this.trash(rec.Id);
      lock.release();
      throw e;
    }
    return lock;
  }

  save(rec: ContainerRecord): Promise<void> {
    return writeFileAtomic(this.recordPath(rec.Id), JSON.stringify(rec));
  }

  /**
   * Saves the record unless the disk is full (false: nothing written). For the writes that
   * must not stand between a user and ending a container; the next settle writes them.
   */
  async saveIfRoom(rec: ContainerRecord): Promise<boolean> {
    try {
      await this.save(rec);
      return true;
    } catch (e) {
      if (isDiskFull(e)) return false;
      throw e;
    }
  }

  async load(id: string): Promise<ContainerRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.recordPath(id), 'utf8')) as ContainerRecord;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  async ids(): Promise<string[]> {
    const entries = (await readdirOrEmpty(this.dir)).filter((d) => ID_RE.test(d));
    const recorded = await Promise.all(entries.map((d) => pathExists(this.recordPath(d))));
    return entries.filter((_, i) => recorded[i]);
  }

  async list(): Promise<ContainerRecord[]> {
    const recs = await Promise.all((await this.ids()).map((id) => this.load(id)));
    return recs.filter((r): r is ContainerRecord => r !== undefined);
  }

  /** docker's lookup order: full id, name, then a unique id prefix. */
  async resolve(query: string): Promise<ContainerRecord> {
    const q = query.replace(/^\//, '');
    if (ID_RE.test(q)) {
      const r = await this.load(q);
      if (r) return r;
    }
    const owner = q && !q.includes('/') ? await this.readOwner(q) : undefined;
    if (owner) {
      const r = await this.load(owner);
      // A claim by a record of another name is a rename or create that did not finish.
      if (r && r.Name === `/${q}`) return r;
    }
    if (/^[0-9a-f]+$/.test(q)) {
      const matches = (await this.ids()).filter((id) => id.startsWith(q));
      if (matches.length > 1) {
        throw new BerthError('EINVALID_ARGUMENT', `multiple containers found with id prefix ${q}`, { hint: 'give more characters of the id, or the name' });
      }
      if (matches.length === 1) {
        const r = await this.load(matches[0]!);
        if (r) return r;
      }
    }
    throw noSuchContainer(query);
  }

  /** Runs `fn` holding the container's lock, with its freshly read record. */
  async withLock<T>(id: string, fn: (rec: ContainerRecord) => Promise<T> | T): Promise<T> {
    let lock: FileLock;
    try {
      lock = await acquireLock(join(this.containerDir(id), 'lock'));
    } catch (e) {
      // removed meanwhile: the directory went, lock file and all
      if (errnoCode(e) === 'ENOENT') throw noSuchContainer(id);
      throw e;
    }
    try {
      const rec = await this.load(id);
      if (!rec) throw noSuchContainer(id);
      return await fn(rec);
    } finally {
      lock.release();
    }
  }

  /**
   * A lock of the container if it is free now (to tell whether a marker's holder lives).
   * Stays synchronous: open + flock(LOCK_NB) are single non-blocking syscalls, and a lock
   * object must exist the moment the caller decides on it.
   */
  tryLock(id: string, file: 'lock' | 'start.lock' | 'exit.lock' | 'restart.lock' = 'lock', opts: { shared?: boolean } = {}): FileLock | undefined {
    try {
      return tryLock(join(this.containerDir(id), file), opts);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Reads, changes and saves the record under its lock. */
  update(id: string, change: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
    return this.withLock(id, async (rec) => {
      change(rec);
      await this.save(rec);
      return rec;
    });
  }

  /** Under the container's lock (the caller's), so a concurrent sweep never takes the new claim for stale. */
  async rename(rec: ContainerRecord, newName: string): Promise<void> {
    const old = rec.Name.replace(/^\//, '');
    await this.reserveName(newName, rec.Id);
    rec.Name = `/${newName}`;
    try {
      await this.save(rec);
    } catch (e) {
      await this.releaseName(newName, rec.Id);
      throw e;
    }
    await this.releaseName(old, rec.Id);
  }

  /** Removes name and record; the caller has released every other resource first. */
  async remove(rec: ContainerRecord): Promise<void> {
    await this.releaseName(rec.Name.replace(/^\//, ''), rec.Id);
    crashPoint('rm:record-removed');
    await this.trash(rec.Id);
  }

  /** The directory goes in one rename (ids() never sees half of it), then is deleted. */
  private async trash(id: string): Promise<void> {
    const doomed = join(this.dir, `.trash-${id}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.containerDir(id), doomed);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return;
      throw e;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  /**
   * Directories a killed create left without a record (no command lists them): an id's
   * directory without container.json whose lock is free (begin holds it from before the
   * directory has its id until the record exists), and `.new-<pid>-*` of a dead process.
   */
  async halfMade(): Promise<string[]> {
    const found: string[] = [];
    for (const e of await readdirOrEmpty(this.dir)) {
      if (e.startsWith(NEW_PREFIX)) {
        if (!processExists(Number(/^\.new-([0-9]+)-/.exec(e)?.[1]))) found.push(e);
        continue;
      }
      if (!ID_RE.test(e) || (await pathExists(this.recordPath(e)))) continue;
      const lock = this.tryLock(e);
      if (!lock) continue; // its create is at work
      lock.release();
      if (!(await pathExists(this.recordPath(e)))) found.push(e);
    }
    return found;
  }

  /** Deletes one entry of halfMade, after a second look under its lock. */
  async removeHalfMade(entry: string): Promise<void> {
    if (entry.startsWith(NEW_PREFIX)) {
      if (!processExists(Number(/^\.new-([0-9]+)-/.exec(entry)?.[1]))) await rm(join(this.dir, entry), { recursive: true, force: true });
      return;
    }
    if (!ID_RE.test(entry)) return;
    const lock = this.tryLock(entry);
    if (!lock) return;
    try {
      if (!(await pathExists(this.recordPath(entry)))) await this.trash(entry);
    } finally {
      lock.release();
    }
  }

  /**
   * Leftovers of killed processes that no record explains: deleted directories not yet
   * gone, directories of creates killed before their record, and name claims whose record
   * is gone.
   */
  async sweep(): Promise<void> {
    for (const e of await readdirOrEmpty(this.dir)) if (e.startsWith('.trash-')) await rm(join(this.dir, e), { recursive: true, force: true });
    for (const e of await this.halfMade()) await this.removeHalfMade(e);
    for (const n of await readdirOrEmpty(this.namesDir)) {
      const owner = await this.readOwner(n);
      if (owner !== undefined && !(await pathExists(this.recordPath(owner)))) await this.reclaim(n, owner);
    }
  }
}



/** Whether a process with this pid exists (a pid of 0 or NaN: no). */
function processExists(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}
