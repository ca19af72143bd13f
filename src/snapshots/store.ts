/**
 * On-disk bookkeeping shared by both snapshotters, under `<root>/layers/<snapshotter>/`:
 *
 *   lock                       flock held for every metadata change (short, synchronous sections)
 *   sha256/<hex>/layer.json    committed layer record; its presence is what "has layer" means
 *   sha256/<hex>/fs/           the layer's tree (overlay: the layer's own changes; copy: the full tree)
 *   staging/<id>/, <id>.lock   a layer being unpacked (fs/; the lock is flocked by the unpacker); published
 *                              by one rename into sha256/<hex>, so a killed unpack leaves only staging
 *   active/<key>/              container snapshots: snapshot.json plus the driver's dirs
 *   trash/<random>/            directories being deleted (renamed here first, so no half-deleted
 *                              layer is ever visible under its chain id)
 *
 * Stale staging dirs (their unpacker died: the flock is free), container snapshots whose
 * creation was killed before their snapshot.json existed, and the trash are cleaned by
 * `open()`, i.e. the next time any command opens the snapshotter.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint } from '../core/crash-point';
import { BerthError, wrap } from '../core/errors';
import type { Sys } from '../sys';
import { chainHex, checkKey, lstatMaybe, readdirMaybe, readJson, tryLock, withFileLock, writeFileAtomic, fsyncDir } from './fsutil';
import type { ActiveRecord, LayerRecord } from './types';

export interface Staging {
  dir: string;
  /** Where the layer tree goes. */
  fs: string;
  /** fd of the staging lock (held until published or discarded). */
  lockFd: number;
}

export class LayerStore {
  constructor(
    readonly dir: string,
    readonly sys: Sys,
  ) {}

  open(): void {
    for (const d of ['sha256', 'staging', 'active', 'trash']) mkdirSync(join(this.dir, d), { recursive: true, mode: 0o700 });
    this.cleanStaging();
    this.cleanActive();
    this.emptyTrash();
  }

  locked<T>(fn: () => T): T {
    return withFileLock(this.sys, join(this.dir, 'lock'), fn);
  }

  // --- layers ---------------------------------------------------------------------------

  layerDir(chainId: string): string {
    return join(this.dir, 'sha256', chainHex(chainId));
  }

  layerFs(chainId: string): string {
    return join(this.layerDir(chainId), 'fs');
  }

  layer(chainId: string): LayerRecord | undefined {
    const rec = readJson(join(this.layerDir(chainId), 'layer.json'));
    return rec === undefined ? undefined : (rec as LayerRecord);
  }

  listLayers(): LayerRecord[] {
    return readRecords<LayerRecord>(join(this.dir, 'sha256'), 'layer.json');
  }

  /**
   * Creates a staging dir, its lock held by us until publish/discard. The lock file
   * (`staging/<id>.lock`) exists and is locked before the directory does, so a cleaner never
   * mistakes a staging dir being created for an abandoned one.
   */
  stage(): Staging {
    const id = randomBytes(8).toString('hex');
    const lockFile = join(this.dir, 'staging', `${id}.lock`);
    closeSync(openSync(lockFile, 'wx', 0o600));
    const lockFd = tryLock(this.sys, lockFile);
    if (lockFd === undefined) throw new BerthError('EINTERNAL', `cannot lock new staging lock ${lockFile}`);
    const dir = join(this.dir, 'staging', id);
    mkdirSync(dir, { mode: 0o700 });
    return { dir, fs: join(dir, 'fs'), lockFd };
  }

  /**
   * Publishes a staged layer under its chain id by one rename. Returns false when another
   * unpack of the same chain id won the race (ours is then discarded: both are identical).
   */
  publish(staging: Staging, record: LayerRecord): boolean {
    writeFileAtomic(join(staging.dir, 'layer.json'), `${JSON.stringify(record, null, 2)}\n`);
    const target = this.layerDir(record.chainId);
    const won = this.locked(() => {
      if (lstatMaybe(target)) return false;
      renameSync(staging.dir, target);
      fsyncDir(join(this.dir, 'sha256'));
      return true;
    });
    if (!won) this.trash(staging.dir);
    this.releaseStaging(staging);
    return won;
  }

  discard(staging: Staging): void {
    this.trash(staging.dir);
    this.releaseStaging(staging);
  }

  private releaseStaging(staging: Staging): void {
    rmSync(`${staging.dir}.lock`, { force: true });
    closeSync(staging.lockFd);
  }

  /** Removes stale staging dirs: those whose lock nobody holds (their unpacker is gone). */
  cleanStaging(): void {
    const names = readdirMaybe(join(this.dir, 'staging'));
    for (const name of names) {
      if (name.endsWith('.lock')) {
        // A lock without its directory: its unpacker died before mkdir or after publishing.
        const lockFile = join(this.dir, 'staging', name);
        if (names.includes(name.slice(0, -'.lock'.length))) continue;
        const fd = tryLock(this.sys, lockFile);
        if (fd !== undefined) {
          if (!lstatMaybe(lockFile.slice(0, -'.lock'.length))) rmSync(lockFile, { force: true });
          closeSync(fd);
        }
        continue;
      }
      const dir = join(this.dir, 'staging', name);
      const lockFile = `${dir}.lock`;
      const fd = tryLock(this.sys, lockFile);
      if (fd === undefined && lstatMaybe(lockFile)) continue; // its unpacker is alive
      try {
        this.trash(dir);
        rmSync(lockFile, { force: true });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
  }

  // --- container snapshots ------------------------------------------------------------------

  activeDir(key: string): string {
    checkKey(key);
    return join(this.dir, 'active', key);
  }

  active(key: string): ActiveRecord | undefined {
    const rec = readJson(join(this.activeDir(key), 'snapshot.json'));
    return rec === undefined ? undefined : (rec as ActiveRecord);
  }

  listActive(): ActiveRecord[] {
    return readRecords<ActiveRecord>(join(this.dir, 'active'), 'snapshot.json');
  }

  /**
   * Directories under active/ without their snapshot.json: createActive makes both under the
   * store's lock, so one seen without the other while holding that lock was left by a
   * process killed in between (its snapshot.json.tmp-* may be there too).
   */
  unfinishedActive(): string[] {
    return readdirMaybe(join(this.dir, 'active')).filter((key) => readJson(join(this.dir, 'active', key, 'snapshot.json')) === undefined && lstatMaybe(join(this.dir, 'active', key))?.isDirectory());
  }

  /** Deletes what unfinishedActive finds (under the lock, so no creation is in progress). */
  cleanActive(): string[] {
    if (this.unfinishedActive().length === 0) return []; // the common case: no lock taken
    return this.locked(() => {
      const keys = this.unfinishedActive();
      for (const key of keys) this.trash(join(this.dir, 'active', key));
      return keys;
    });
  }

  /** Must run inside `locked`. Creates active/<key>/ with its record. */
  createActive(rec: ActiveRecord): string {
    const dir = this.activeDir(rec.key);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new BerthError('EEXISTS', `snapshot ${rec.key} already exists`, { hint: 'remove it first or choose another key' });
      }
      throw wrap('ESYSCALL', `cannot create ${dir}`, e);
    }
    crashPoint('create:snapshot-dir');
    writeFileAtomic(join(dir, 'snapshot.json'), `${JSON.stringify(rec, null, 2)}\n`);
    return dir;
  }

  // --- deletion -------------------------------------------------------------------------------

  /** Moves `path` into the trash (atomic: it disappears from its place at once) and deletes it. */
  trash(path: string): void {
    const to = join(this.dir, 'trash', randomBytes(8).toString('hex'));
    try {
      renameSync(path, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw wrap('ESYSCALL', `cannot move ${path} to the trash`, e);
    }
    rmSync(to, { recursive: true, force: true });
  }

  /** Like trash() but the slow recursive delete happens asynchronously. */
  async trashAsync(path: string): Promise<void> {
    const to = join(this.dir, 'trash', randomBytes(8).toString('hex'));
    try {
      renameSync(path, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw wrap('ESYSCALL', `cannot move ${path} to the trash`, e);
    }
    await rm(to, { recursive: true, force: true });
  }

  emptyTrash(): void {
    for (const name of readdirMaybe(join(this.dir, 'trash'))) rmSync(join(this.dir, 'trash', name), { recursive: true, force: true });
  }
}

/** The `file` record of every subdirectory of `dir`, in name order (subdirectories without one are skipped). */
function readRecords<T>(dir: string, file: string): T[] {
  const out: T[] = [];
  for (const name of readdirMaybe(dir).sort()) {
    const rec = readJson(join(dir, name, file));
    if (rec !== undefined) out.push(rec as T);
  }
  return out;
}
