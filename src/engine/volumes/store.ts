/**
 * Local volumes, laid out as docker's:
 *   <root>/volumes/<name>/_data          what containers mount
 *   <root>/volumes/<name>/volume.json    name, labels, options, creation time, anonymity
 * Creation is atomic: the directory is prepared under a temporary name and renamed into place,
 * so a volume either exists completely or not at all, and two concurrent creates of the same
 * name both end up using the one volume (docker's `volume create` is idempotent by name).
 */
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, errnoCode } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs-atomic';
import { compareStrings } from '../../core/compare';
import { pathExists } from '../../core/fs-exists';

export interface VolumeRecord {
  Name: string;
  Driver: 'local';
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Options: Record<string, string>;
  Scope: 'local';
  /** Created for a container's VOLUME or -v /path, not by name. */
  Anonymous: boolean;
}

export const VOLUME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]+$/;

export function noSuchVolume(name: string): BerthError {
  return new BerthError('ENOT_FOUND', `No such volume: ${name}`, { hint: 'list volumes with: berth volume ls' });
}

export class VolumeStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'volumes');
  }

  private metaPath(name: string): string {
    return join(this.dir, name, 'volume.json');
  }

  async get(name: string): Promise<VolumeRecord | undefined> {
    if (!VOLUME_NAME_RE.test(name)) return undefined;
    try {
      return JSON.parse(await readFile(this.metaPath(name), 'utf8')) as VolumeRecord;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  async resolve(name: string): Promise<VolumeRecord> {
    const v = await this.get(name);
    if (!v) throw noSuchVolume(name);
    return v;
  }

  /** Creates the volume, or returns the existing one of that name. `created` tells which. */
  async create(opts: { name?: string; labels?: Record<string, string>; options?: Record<string, string>; anonymous?: boolean } = {}): Promise<{ volume: VolumeRecord; created: boolean }> {
    // `anonymous` with a name: re-creating a lost anonymous volume under its old name (system check).
    const anonymous = opts.anonymous ?? opts.name === undefined;
    const name = opts.name ?? randomBytes(32).toString('hex');
    if (!VOLUME_NAME_RE.test(name)) {
      throw new BerthError('EINVALID_ARGUMENT', `invalid volume name "${name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed (at least two characters)`, {
        hint: 'choose a name such as "data" or "pg_data"',
      });
    }
    for (const k of Object.keys(opts.options ?? {})) {
      // The local driver's mount options (type/device/o) would mount host devices: not supported.
      throw new BerthError('EINVALID_ARGUMENT', `volume option "${k}" is not supported by the local driver`, { hint: 'create the volume without --opt' });
    }
    const existing = await this.get(name);
    if (existing) return { volume: existing, created: false };
    await mkdir(this.dir, { recursive: true, mode: 0o701 });
    const staging = join(this.dir, `.creating-${name}-${process.pid}-${randomBytes(4).toString('hex')}`);
    const final = join(this.dir, name);
    const volume: VolumeRecord = {
      Name: name,
      Driver: 'local',
      Mountpoint: join(final, '_data'),
      CreatedAt: new Date().toISOString(),
      Labels: opts.labels ?? {},
      Options: {},
      Scope: 'local',
      Anonymous: anonymous,
    };
    try {
      // Record written durably before the rename publishes the volume (each step awaited in order).
      await mkdir(join(staging, '_data'), { recursive: true, mode: 0o755 });
      await writeFileAtomic(join(staging, 'volume.json'), JSON.stringify(volume));
      await rename(staging, final);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      // Lost a race with another create of the same name: use theirs.
      const other = await this.get(name);
      if (other) return { volume: other, created: false };
      throw e;
    }
    return { volume, created: true };
  }

  async list(): Promise<VolumeRecord[]> {
    let names: string[] = [];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    const records = await Promise.all(names.filter((n) => !n.startsWith('.')).map((n) => this.get(n)));
    return records.filter((v): v is VolumeRecord => v !== undefined).sort((a, b) => compareStrings(a.Name, b.Name));
  }

  /** Deletes the volume and its data: the record goes first, so a crash leaves no half volume. */
  async remove(name: string): Promise<void> {
    const dir = join(this.dir, name);
    if (!(await pathExists(this.metaPath(name)))) throw noSuchVolume(name);
    const doomed = join(this.dir, `.removing-${name}-${randomBytes(4).toString('hex')}`);
    await rename(dir, doomed);
    await rm(doomed, { recursive: true, force: true });
  }

  /** Leftovers of killed creates/removes (dot-directories older than a minute). */
  async staleStaging(now = Date.now()): Promise<string[]> {
    try {
      const stale: string[] = [];
      for (const n of await readdir(this.dir)) {
        if ((n.startsWith('.creating-') || n.startsWith('.removing-')) && now - (await stat(join(this.dir, n))).mtimeMs > 60_000) stale.push(n);
      }
      return stale;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  async cleanStaging(now = Date.now()): Promise<string[]> {
    const gone = await this.staleStaging(now);
    for (const n of gone) await rm(join(this.dir, n), { recursive: true, force: true });
    return gone;
  }
}
