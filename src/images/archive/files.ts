/**
 * The files of an image layout or archive, wherever they are: inside a tar file (docker-archive,
 * oci-archive; see tar-index.ts) or in a directory (an OCI image layout). Readers of the
 * formats work on this interface only.
 *
 * A directory belongs to whoever made it: every file is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS) below the layout's root, so a symlinked `index.json` or blob cannot
 * make Berth read a host file (and no component may be swapped for a symlink meanwhile).
 */
import { createReadStream, fstatSync, closeSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { BerthError, errnoCode } from '../../core/errors';
import { sys as realSys, type Sys } from '../../sys';
import { archivePath } from './paths';
import { TarIndex } from './tar-index';

export interface LayoutFiles {
  /** Names the archive or directory in errors. */
  readonly what: string;
  exists(path: string): Promise<boolean>;
  size(path: string): Promise<number>;
  /** A whole small file; ELIMIT past `maxBytes`. */
  read(path: string, maxBytes: number): Promise<Buffer>;
  /** Up to the first `n` bytes. */
  head(path: string, n: number): Promise<Buffer>;
  open(path: string): Promise<Readable>;
  close(): Promise<void>;
}

export class TarFiles implements LayoutFiles {
  private constructor(
    private readonly index: TarIndex,
    readonly what: string,
  ) {}

  static async open(path: string, what: string): Promise<TarFiles> {
    return new TarFiles(await TarIndex.open(path, what), what);
  }

  async exists(path: string): Promise<boolean> {
    return this.index.find(path) !== undefined;
  }

  async size(path: string): Promise<number> {
    return this.index.get(path).size;
  }

  read(path: string, maxBytes: number): Promise<Buffer> {
    return this.index.read(path, maxBytes);
  }

  head(path: string, n: number): Promise<Buffer> {
    return this.index.head(path, n);
  }

  async open(path: string): Promise<Readable> {
    return this.index.openRead(path);
  }

  close(): Promise<void> {
    return this.index.close();
  }
}

export class DirFiles implements LayoutFiles {
  constructor(
    private readonly dir: string,
    readonly what: string,
    private readonly sys: Sys = realSys(),
  ) {}

  /** Opens `path` below the directory; undefined when it does not exist. */
  private openFd(path: string): { fd: number; size: number } | undefined {
    const rel = archivePath(path, this.what);
    let fd: number;
    try {
      fd = this.sys.openBeneath(this.dir, rel);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP' || code === 'EXDEV') {
        throw new BerthError('EUNSAFE_ARCHIVE', `${this.what}: ${rel} is (or lies under) a symlink; image layouts are read without following symlinks`, {
          hint: 'a layout made by an image tool has none; this one may be crafted to read files outside it',
        });
      }
      throw new BerthError('ENOT_FOUND', `${this.what}: cannot open ${rel}: ${(e as Error).message}`, { cause: e });
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new BerthError('EBAD_ARCHIVE', `${this.what}: ${rel} is not a regular file`);
    }
    return { fd, size: st.size };
  }

  private need(path: string): { fd: number; size: number } {
    const f = this.openFd(path);
    if (!f) throw new BerthError('EBAD_ARCHIVE', `${this.what} has no file ${path}`, { hint: 'the layout is incomplete' });
    return f;
  }

  async exists(path: string): Promise<boolean> {
    const f = this.openFd(path);
    if (f) closeSync(f.fd);
    return f !== undefined;
  }

  async size(path: string): Promise<number> {
    const f = this.need(path);
    closeSync(f.fd);
    return f.size;
  }

  async read(path: string, maxBytes: number): Promise<Buffer> {
    const f = this.need(path);
    try {
      if (f.size > maxBytes) throw new BerthError('ELIMIT', `${this.what}: ${path} is ${f.size} bytes, over the ${maxBytes}-byte limit for it`);
      return readFd(f.fd, f.size);
    } finally {
      closeSync(f.fd);
    }
  }

  async head(path: string, n: number): Promise<Buffer> {
    const f = this.need(path);
    try {
      return readFd(f.fd, Math.min(n, f.size));
    } finally {
      closeSync(f.fd);
    }
  }

  async open(path: string): Promise<Readable> {
    return createReadStream('', { fd: this.need(path).fd });
  }

  async close(): Promise<void> {}
}

function readFd(fd: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}
