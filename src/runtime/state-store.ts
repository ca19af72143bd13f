/**
 * The runtime's state directory (`--root`, default /run/berth-runtime): one directory per
 * container holding `state.json` (our record) and, between create and start, `exec.fifo`.
 *
 * Writes are temp + fsync + rename so a reader never sees half a record. Per-container
 * operations hold an flock on the container directory: the kernel drops it if the holder
 * dies, so a killed CLI never leaves a stale lock behind.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, constants as fsc, existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors';
import { writeFileAtomicSync } from '../core/fs-atomic';
import { LOCK_EX, LOCK_UN, sys } from '../sys';
import type { RuntimeConfig } from '../spec/types';

export const DEFAULT_STATE_ROOT = '/run/berth-runtime';

/** What we remember about a container between CLI invocations. */
export interface ContainerRecord {
  id: string;
  bundle: string;
  rootfs: string;
  pid: number;
  /** Start time of `pid` (clock ticks), to detect pid reuse. */
  pidStartTime?: number;
  created: string;
  owner: string;
  config: RuntimeConfig;
  /** Set once `start` has opened the exec fifo. */
  started?: boolean;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_+.-]*$/;

export function validateId(id: string): void {
  if (!id) throw new BerthError('EINVALID_ARGUMENT', 'container id must not be empty', { hint: 'pass an id such as "web1"' });
  if (!ID_RE.test(id) || id.length > 1024) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid container id "${id}": only letters, digits and _ + . - are allowed (not first)`, {
      hint: 'choose an id such as "web1" or "a1b2c3"',
    });
  }
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  fifoPath(id: string): string {
    return join(this.dir(id), 'exec.fifo');
  }

  ensureRoot(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
  }

  /** Creates the container directory; fails if the id is taken. */
  reserve(id: string): void {
    validateId(id);
    this.ensureRoot();
    try {
      mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') {
        throw new BerthError('EEXISTS', `container "${id}" already exists in ${this.root}`, {
          hint: `delete it first (berth-runtime delete ${id}) or choose another id`,
        });
      }
      throw e;
    }
  }

  exists(id: string): boolean {
    return existsSync(join(this.dir(id), 'state.json'));
  }

  load(id: string): ContainerRecord {
    validateId(id);
    let text: string;
    try {
      text = readFileSync(join(this.dir(id), 'state.json'), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') {
        throw new BerthError('ENOT_FOUND', `container "${id}" does not exist`, {
          hint: `list containers with: berth-runtime --root ${this.root} list`,
        });
      }
      throw e;
    }
    return JSON.parse(text) as ContainerRecord;
  }

  save(rec: ContainerRecord): void {
    writeFileAtomic(join(this.dir(rec.id), 'state.json'), JSON.stringify(rec));
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(this.root, d.name, 'state.json')))
        .map((d) => d.name)
        .sort();
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** Runs `fn` holding the container's lock. */
  async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    let fd: number;
    try {
      fd = openSync(this.dir(id), fsc.O_RDONLY | fsc.O_DIRECTORY);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        throw new BerthError('ENOT_FOUND', `container "${id}" does not exist`, {
          hint: `list containers with: berth-runtime --root ${this.root} list`,
        });
      }
      throw e;
    }
    try {
      sys().flock(fd, LOCK_EX);
      return await fn();
    } finally {
      try {
        sys().flock(fd, LOCK_UN);
      } catch {
        /* the directory may be gone already */
      }
      closeSync(fd);
    }
  }
}

/** Readers see either the old or the new content (temp + fsync + rename). */
export const writeFileAtomic = writeFileAtomicSync;
