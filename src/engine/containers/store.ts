/**
 * Container records on disk:
 *   <root>/containers/<id>/container.json   the record (written temp + fsync + rename)
 *   <root>/containers/<id>/lock             flock taken around every change of that container
 *   <root>/names/<name>                     the id owning a name, created with O_EXCL
 * The name file is the arbiter of uniqueness across concurrent CLI processes: whoever creates
 * it first owns the name. A name file whose container has no record (a create killed between
 * the two steps) is stale and reclaimed by the next user of that name.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, errnoCode } from '../../core/errors';
import { writeFileAtomicSync } from '../../core/fs-atomic';
import { acquireLock } from '../../core/lock';
import type { ContainerRecord } from './record';

const ID_RE = /^[0-9a-f]{64}$/;

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function noSuchContainer(query: string): BerthError {
  return new BerthError('ENOT_FOUND', `No such container: ${query}`, { hint: 'list containers with: berth ps -a' });
}

export class ContainerStore {
  readonly dir: string;
  readonly namesDir: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
    this.namesDir = join(root, 'names');
  }

  private ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  private recordPath(id: string): string {
    return join(this.dir, id, 'container.json');
  }

  /** Claims `name` for `id`; a conflict names the current owner. */
  reserveName(name: string, id: string): void {
    this.ensure();
    const file = join(this.namesDir, name);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(file, id, { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if (errnoCode(e) !== 'EEXIST') throw e;
      }
      const owner = readFileSync(file, 'utf8').trim();
      if (owner === id) return;
      if (existsSync(this.recordPath(owner))) {
        throw new BerthError('EEXISTS', `Conflict. The container name "/${name}" is already in use by container "${owner}"`, {
          hint: 'remove (or rename) that container to be able to reuse that name, or choose another --name',
        });
      }
      // Stale: its container never got (or lost) its record.
      rmSync(file, { force: true });
    }
    throw new BerthError('EEXISTS', `the container name "/${name}" is being claimed by another process`, { hint: 'retry' });
  }

  releaseName(name: string, id: string): void {
    const file = join(this.namesDir, name);
    try {
      if (readFileSync(file, 'utf8').trim() === id) unlinkSync(file);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }

  /** Records a new container: name first (uniqueness), then directory and record. */
  create(rec: ContainerRecord): void {
    const name = rec.Name.replace(/^\//, '');
    this.reserveName(name, rec.Id);
    try {
      mkdirSync(this.containerDir(rec.Id), { mode: 0o700 });
      this.save(rec);
    } catch (e) {
      rmSync(this.containerDir(rec.Id), { recursive: true, force: true });
      this.releaseName(name, rec.Id);
      throw e;
    }
  }

  save(rec: ContainerRecord): void {
    writeFileAtomicSync(this.recordPath(rec.Id), JSON.stringify(rec));
  }

  load(id: string): ContainerRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.recordPath(id), 'utf8')) as ContainerRecord;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.dir).filter((d) => ID_RE.test(d) && existsSync(this.recordPath(d)));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  list(): ContainerRecord[] {
    return this.ids()
      .map((id) => this.load(id))
      .filter((r): r is ContainerRecord => r !== undefined);
  }

  /** docker's lookup order: full id, name, then a unique id prefix. */
  resolve(query: string): ContainerRecord {
    const q = query.replace(/^\//, '');
    if (ID_RE.test(q)) {
      const r = this.load(q);
      if (r) return r;
    }
    try {
      const owner = readFileSync(join(this.namesDir, q), 'utf8').trim();
      const r = this.load(owner);
      if (r) return r;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT' && errnoCode(e) !== 'ENOTDIR' && errnoCode(e) !== 'EINVAL') throw e;
    }
    if (/^[0-9a-f]+$/.test(q)) {
      const matches = this.ids().filter((id) => id.startsWith(q));
      if (matches.length > 1) {
        throw new BerthError('EINVALID_ARGUMENT', `multiple containers found with id prefix ${q}`, { hint: 'give more characters of the id, or the name' });
      }
      if (matches.length === 1) {
        const r = this.load(matches[0]!);
        if (r) return r;
      }
    }
    throw noSuchContainer(query);
  }

  /** Runs `fn` holding the container's lock, with its freshly read record. */
  async withLock<T>(id: string, fn: (rec: ContainerRecord) => Promise<T> | T): Promise<T> {
    const lock = await acquireLock(join(this.containerDir(id), 'lock'));
    try {
      const rec = this.load(id);
      if (!rec) throw noSuchContainer(id);
      return await fn(rec);
    } finally {
      lock.release();
    }
  }

  /** Reads, changes and saves the record under its lock. */
  update(id: string, change: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
    return this.withLock(id, (rec) => {
      change(rec);
      this.save(rec);
      return rec;
    });
  }

  rename(rec: ContainerRecord, newName: string): void {
    const old = rec.Name.replace(/^\//, '');
    this.reserveName(newName, rec.Id);
    rec.Name = `/${newName}`;
    try {
      this.save(rec);
    } catch (e) {
      this.releaseName(newName, rec.Id);
      throw e;
    }
    this.releaseName(old, rec.Id);
  }

  /** Removes record and name; the caller has released every other resource first. */
  remove(rec: ContainerRecord): void {
    rmSync(this.containerDir(rec.Id), { recursive: true, force: true });
    this.releaseName(rec.Name.replace(/^\//, ''), rec.Id);
  }
}
