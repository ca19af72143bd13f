/**
 * Local volumes, laid out as docker's:
 *   <root>/volumes/<name>/_data          what containers mount
 *   <root>/volumes/<name>/volume.json    name, labels, options, creation time, anonymity
 * Creation is atomic: the directory is prepared under a temporary name and renamed into place,
 * so a volume either exists completely or not at all, and two concurrent creates of the same
 * name both end up using the one volume (docker's `volume create` is idempotent by name).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BerthError, errnoCode } from '../../core/errors';
import { writeFileAtomicSync } from '../../core/fs-atomic';
import { compareStrings } from '../../core/compare';

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

  get(name: string): VolumeRecord | undefined {
    if (!VOLUME_NAME_RE.test(name)) return undefined;
    try {
      return JSON.parse(readFileSync(this.metaPath(name), 'utf8')) as VolumeRecord;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return undefined;
      throw e;
    }
  }

  resolve(name: string): VolumeRecord {
    const v = this.get(name);
    if (!v) throw noSuchVolume(name);
    return v;
  }

  /** Creates the volume, or returns the existing one of that name. `created` tells which. */
  create(opts: { name?: string; labels?: Record<string, string>; options?: Record<string, string>; anonymous?: boolean } = {}): { volume: VolumeRecord; created: boolean } {
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
    const existing = this.get(name);
    if (existing) return { volume: existing, created: false };
    mkdirSync(this.dir, { recursive: true, mode: 0o701 });
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
      mkdirSync(join(staging, '_data'), { recursive: true, mode: 0o755 });
      writeFileAtomicSync(join(staging, 'volume.json'), JSON.stringify(volume));
      renameSync(staging, final);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      // Lost a race with another create of the same name: use theirs.
      const other = this.get(name);
      if (other) return { volume: other, created: false };
      throw e;
    }
    return { volume, created: true };
  }

  list(): VolumeRecord[] {
    let names: string[] = [];
    try {
      names = readdirSync(this.dir);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    return names
      .filter((n) => !n.startsWith('.'))
      .map((n) => this.get(n))
      .filter((v): v is VolumeRecord => v !== undefined)
      .sort((a, b) => compareStrings(a.Name, b.Name));
  }

  /** Deletes the volume and its data: the record goes first, so a crash leaves no half volume. */
  remove(name: string): void {
    const dir = join(this.dir, name);
    if (!existsSync(this.metaPath(name))) throw noSuchVolume(name);
    const doomed = join(this.dir, `.removing-${name}-${randomBytes(4).toString('hex')}`);
    renameSync(dir, doomed);
    rmSync(doomed, { recursive: true, force: true });
  }

  /** Leftovers of killed creates/removes (dot-directories older than a minute). */
  staleStaging(now = Date.now()): string[] {
    try {
      return readdirSync(this.dir).filter((n) => (n.startsWith('.creating-') || n.startsWith('.removing-')) && now - statSync(join(this.dir, n)).mtimeMs > 60_000);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  cleanStaging(now = Date.now()): string[] {
    const gone = this.staleStaging(now);
    for (const n of gone) rmSync(join(this.dir, n), { recursive: true, force: true });
    return gone;
  }
}
