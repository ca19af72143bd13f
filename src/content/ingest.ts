/**
 * An ingest: a blob being written into the content store. Its bytes accumulate in
 * `content/ingest/<alg>-<hex>/data` next to `meta.json` (the expected digest and size), and
 * only `commit()` — after the digest and size check out — moves them to their final name
 * under `blobs/`. An interrupted write (error, AbortSignal, killed process) leaves the data
 * in the ingest directory; the next writer of the same digest resumes from its length.
 *
 * An ingest is owned by one writer at a time through an flock on `ingest/<...>/lock`, so two
 * processes pulling the same blob take turns instead of interleaving their bytes.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { BerthError, diskFullError } from '../core/errors';
import { DigestCounter, parseDigest } from './digest';
import { fsyncDir } from '../core/fs-atomic';
import type { FileLock } from '../core/lock';

export interface Expected {
  digest: string;
  size: number;
}

export interface BlobInfo {
  digest: string;
  size: number;
}

export interface IngestPaths {
  dir: string;
  data: string;
  meta: string;
  lock: string;
}

export class ContentWriter {
  private readonly counter: DigestCounter;
  private prefixHashed = false;
  private finished = false;

  /** @internal use ContentStore.openWriter */
  constructor(
    readonly expected: Expected,
    /** Bytes kept from an earlier, interrupted write. */
    readonly offset: number,
    private readonly paths: IngestPaths,
    private readonly blobPath: string,
    private readonly fh: FileHandle,
    private readonly lock: FileLock,
  ) {
    this.counter = new DigestCounter(parseDigest(expected.digest).algorithm);
    if (offset === 0) this.prefixHashed = true;
  }

  /** Bytes hashed so far (the resumed prefix once read, plus everything written). */
  get received(): number {
    return this.counter.bytes;
  }

  /**
   * The bytes kept from an earlier run, read back from disk. They pass through the digest as
   * they are read, so the caller can feed them to a decompressor in the same pass; read this
   * stream to its end before `write()`.
   */
  prefix(): Readable {
    if (this.offset === 0) return Readable.from([]);
    const counter = this.counter;
    const hashing = new Transform({
      transform: (chunk: Buffer, _enc, done) => {
        counter.update(chunk);
        done(null, chunk);
      },
      flush: (done) => {
        this.prefixHashed = counter.bytes === this.offset;
        done(this.prefixHashed ? null : new Error(`ingest data of ${this.expected.digest} changed while it was read back`));
      },
    });
    return createReadStream(this.paths.data, { start: 0, end: this.offset - 1 }).pipe(hashing);
  }

  /** Appends bytes received after the prefix. */
  async write(chunk: Uint8Array): Promise<void> {
    if (!this.prefixHashed) throw new Error('ContentWriter.write before the resumed prefix was read');
    if (this.counter.bytes + chunk.length > this.expected.size) {
      throw new BerthError('EDIGEST', `blob ${this.expected.digest} is larger than its descriptor says (${this.expected.size} bytes)`);
    }
    this.counter.update(chunk);
    let done = 0;
    try {
      while (done < chunk.length) {
        const { bytesWritten } = await this.fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    } catch (e) {
      throw diskFullError(e, this.paths.data);
    }
  }

  /**
   * Verifies size and digest, then publishes the blob under its final name (fsync + rename).
   * On a mismatch the ingest is discarded (its data is wrong; resuming it cannot help).
   */
  async commit(): Promise<BlobInfo> {
    this.assertOpen();
    try {
      this.verify();
    } catch (e) {
      await this.discard();
      throw e;
    }
    const got = this.counter.bytes;
    this.finished = true;
    try {
      await this.fh.sync().catch((e: unknown) => {
        throw diskFullError(e, this.paths.data);
      });
      await this.fh.close();
      const dir = join(this.blobPath, '..');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rename(this.paths.data, this.blobPath);
      await fsyncDir(dir);
      await retireIngestDir(this.paths.dir);
    } finally {
      this.lock.release();
    }
    return { digest: this.expected.digest, size: got };
  }

  /**
   * Checks size and digest of everything received, without publishing (so a caller can check
   * more, such as a layer's diff_id, before it commits). Throws EDIGEST naming both digests.
   */
  verify(): void {
    if (!this.prefixHashed) throw new Error('ContentWriter.verify before the resumed prefix was read');
    const got = this.counter.bytes;
    if (got !== this.expected.size) {
      throw new BerthError('EDIGEST', `blob ${this.expected.digest} is ${got} bytes, but its descriptor says ${this.expected.size}`, {
        hint: 'the source sent truncated or extra data; nothing was stored',
      });
    }
    const actual = this.counter.digest();
    if (actual !== this.expected.digest) {
      throw new BerthError('EDIGEST', `blob content does not match its digest: expected ${this.expected.digest}, got ${actual}`, {
        hint: 'the source sent corrupted data; nothing was stored',
      });
    }
  }

  /** Keeps the data for a later resume and releases the ingest. */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      await this.fh.close();
    } finally {
      this.lock.release();
    }
  }

  /** Deletes the partial data (it is wrong or unwanted) and releases the ingest. */
  async discard(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    try {
      await this.fh.close().catch(() => undefined);
      await rm(this.paths.data, { force: true });
      await rm(this.paths.meta, { force: true });
    } finally {
      // Removing the directory (and its lock file) is safe: tryLock re-checks the inode.
      await retireIngestDir(this.paths.dir);
      this.lock.release();
    }
  }

  private assertOpen(): void {
    if (this.finished) throw new Error(`ingest of ${this.expected.digest} is already closed`);
    if (!this.prefixHashed) throw new Error('ContentWriter.commit before the resumed prefix was read');
  }
}

/** Prefix of ingest directories being deleted (see retireIngestDir). */
export const GONE_INGEST_PREFIX = '.gone-';

/**
 * Deletes an ingest directory that other processes may be polling. A writer waiting for the
 * ingest opens its lock file with O_CREAT, which recreates the file inside a directory being
 * removed, and the final rmdir fails with ENOTEMPTY. So the directory is first renamed to a
 * name nobody opens anything in (`.gone-<pid>-<random>`), atomically: a waiter then finds the
 * path gone (ENOENT, it starts over) or a fresh directory of its own. A process killed before
 * the rm leaves a `.gone-` directory, which ContentStore.removeGoneIngests deletes.
 */
export async function retireIngestDir(dir: string): Promise<void> {
  const gone = join(dirname(dir), `${GONE_INGEST_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await rename(dir, gone);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await rm(gone, { recursive: true, force: true });
}

/** Whether `name` (an entry of ingest/) is a directory being deleted by retireIngestDir. */
export function isGoneIngest(name: string): boolean {
  return basename(name).startsWith(GONE_INGEST_PREFIX);
}

/** Size of an ingest's data file (0 when absent). */
export async function dataLength(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function openAppend(path: string): Promise<FileHandle> {
  return open(path, 'a', 0o600);
}
