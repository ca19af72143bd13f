/**
 * The content store: blobs addressed by digest under `<root>/content/blobs/<alg>/<hex>`.
 *
 * A blob under its final name is always complete and verified: writers go through an ingest
 * (see ingest.ts) that checks size and digest before an fsync + rename publishes the data.
 * The store knows nothing about manifests; which blobs are still needed is decided by the
 * caller that walks from its roots (see images/gc.ts), under the store's GC lock.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BerthError, diskFullError, errnoCode } from '../core/errors';
import { DigestCounter, digestOf, parseDigest, type DigestAlgorithm } from './digest';
import { fsyncDir } from '../core/fs-atomic';
import { ContentWriter, dataLength, isGoneIngest, openAppend, retireIngestDir, type BlobInfo, type Expected, type IngestPaths } from './ingest';
import { readdirOrEmpty } from '../core/fs-exists';
import { acquireLock, tryLock, type FileLock } from '../core/lock';

export type { BlobInfo, Expected } from './ingest';
export { ContentWriter } from './ingest';

export interface IngestStatus {
  /** The blob's digest, or `.tmp-<pid>-<hex>` for a stream stored by `ingestStream` (size -1). */
  digest: string;
  size: number;
  offset: number;
  /** Another process is writing it right now. */
  active: boolean;
}

/** Prefix of the private ingest directories of `ingestStream` (digest not known in advance). */
const TEMP_INGEST_PREFIX = '.tmp-';

export type OpenWriterResult = { status: 'exists'; info: BlobInfo } | { status: 'writer'; writer: ContentWriter };

export class ContentStore {
  /** `<root>/content` */
  readonly dir: string;

  constructor(stateRoot: string) {
    this.dir = join(stateRoot, 'content');
  }

  blobPath(digest: string): string {
    const { algorithm, hex } = parseDigest(digest);
    return join(this.dir, 'blobs', algorithm, hex);
  }

  private ingestPaths(digest: string): IngestPaths {
    const { algorithm, hex } = parseDigest(digest);
    const dir = join(this.dir, 'ingest', `${algorithm}-${hex}`);
    return { dir, data: join(dir, 'data'), meta: join(dir, 'meta.json'), lock: join(dir, 'lock') };
  }

  private tempIngestPaths(name: string): IngestPaths {
    if (!/^\.tmp-[0-9]+-[0-9a-f]+$/.test(name)) throw new BerthError('EINVALID_ARGUMENT', `not a temporary ingest name: ${name}`);
    const dir = join(this.dir, 'ingest', name);
    return { dir, data: join(dir, 'data'), meta: join(dir, 'meta.json'), lock: join(dir, 'lock') };
  }

  /** Creates the store directories (mode 0700: blobs may hold private images). */
  async init(): Promise<void> {
    for (const d of [this.dir, join(this.dir, 'blobs'), join(this.dir, 'blobs', 'sha256'), join(this.dir, 'ingest')]) {
      await mkdir(d, { recursive: true, mode: 0o700 });
    }
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  async has(digest: string): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** Streams a committed blob (optionally from byte `start`). */
  async openRead(digest: string, start = 0): Promise<Readable> {
    const path = this.blobPath(digest);
    if (!(await this.stat(digest))) throw this.notFound(digest);
    return createReadStream(path, { start });
  }

  /**
   * Reads a small blob (manifest, config) whole, refusing anything over `maxBytes`, and checks
   * its digest again: these bytes decide what else is trusted.
   */
  async readBlob(digest: string, maxBytes: number): Promise<Buffer> {
    const info = await this.stat(digest);
    if (!info) throw this.notFound(digest);
    if (info.size > maxBytes) {
      throw new BerthError('ELIMIT', `blob ${digest} is ${info.size} bytes, over the ${maxBytes}-byte limit for this kind of document`);
    }
    const data = await readFile(this.blobPath(digest));
    const actual = digestOf(data, parseDigest(digest).algorithm);
    if (actual !== digest) {
      throw new BerthError('EDIGEST', `stored blob ${digest} is corrupt (its content hashes to ${actual})`, {
        hint: 'remove it (berth image prune, or delete the image) and pull again',
      });
    }
    return data;
  }

  /** Stores an in-memory blob (manifests, configs), verifying it when `expected` is given. */
  async writeBlob(data: Buffer, expected?: Expected): Promise<BlobInfo> {
    const want: Expected = expected ?? { digest: digestOf(data), size: data.length };
    const opened = await this.openWriter(want);
    if (opened.status === 'exists') return opened.info;
    const w = opened.writer;
    try {
      // A resumed ingest of an in-memory blob: drop it, rewriting is cheaper than reading back.
      if (w.offset > 0) {
        await w.discard();
        return this.writeBlob(data, want);
      }
      await w.write(data);
    } catch (e) {
      await w.discard();
      throw e;
    }
    return w.commit();
  }

  /**
   * Stores a stream whose digest is not known in advance (a layer being compressed while it
   * is produced): the bytes go to a private ingest (`ingest/.tmp-<pid>-<random>/data`, flock'd
   * like the others, so GC with `removeIngests` skips it while it is written and removes it
   * if the process dies), are hashed on the way, and are published by fsync + rename under
   * the digest they turned out to have. Nothing appears under `blobs/` unless the whole
   * stream was read.
   */
  async ingestStream(source: AsyncIterable<Buffer | Uint8Array>, opts: { algorithm?: DigestAlgorithm; signal?: AbortSignal } = {}): Promise<BlobInfo & { created: boolean }> {
    await this.init();
    const dir = join(this.dir, 'ingest', `${TEMP_INGEST_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o700 });
    const lock = await acquireLock(join(dir, 'lock'));
    try {
      const data = join(dir, 'data');
      const fh = await open(data, 'wx', 0o600);
      const counter = new DigestCounter(opts.algorithm ?? 'sha256');
      try {
        for await (const raw of source) {
          if (opts.signal?.aborted) throw new BerthError('EABORTED', 'cancelled while storing a blob', { cause: opts.signal.reason });
          const chunk = Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
          counter.update(chunk);
          let done = 0;
          while (done < chunk.length) done += (await fh.write(chunk, done, chunk.length - done)).bytesWritten;
        }
        await fh.sync();
      } catch (e) {
        throw diskFullError(e, data);
      } finally {
        await fh.close();
      }
      const info = { digest: counter.digest(), size: counter.bytes, created: false };
      if (!(await this.stat(info.digest))) {
        const blob = this.blobPath(info.digest);
        await mkdir(join(blob, '..'), { recursive: true, mode: 0o700 });
        await rename(data, blob);
        await fsyncDir(join(blob, '..'));
        info.created = true;
      }
      return info;
    } finally {
      // GC probes this lock (open with O_CREAT) while it lists ingests: retire, not rm.
      await retireIngestDir(dir);
      lock.release();
    }
  }

  /**
   * Opens the ingest for `expected`, waiting while another process writes the same blob.
   * Returns `exists` when the blob is (or meanwhile became) committed. A kept partial ingest
   * for the same digest is resumed: `writer.offset` says how much of it is there.
   */
  async openWriter(expected: Expected, opts: { signal?: AbortSignal } = {}): Promise<OpenWriterResult> {
    const paths = this.ingestPaths(expected.digest);
    const existing = await this.stat(expected.digest);
    if (existing) return { status: 'exists', info: existing };
    await this.init();
    let lock: FileLock;
    for (;;) {
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      try {
        lock = await acquireLock(paths.lock, opts.signal ? { signal: opts.signal } : {});
        break;
      } catch (e) {
        // The directory was removed by a committing writer between mkdir and open: go again.
        if (errnoCode(e) === 'ENOENT') continue;
        throw e;
      }
    }
    try {
      const done = await this.stat(expected.digest);
      if (done) {
        // Committed by the writer we waited for; drop the directory our wait re-created.
        if ((await dataLength(paths.data)) === 0) await retireIngestDir(paths.dir);
        lock.release();
        return { status: 'exists', info: done };
      }
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      let offset = await dataLength(paths.data);
      const meta = await readMeta(paths.meta);
      if (offset > expected.size || (meta && (meta.digest !== expected.digest || meta.size !== expected.size))) {
        await rm(paths.data, { force: true });
        offset = 0;
      }
      if (!meta || offset === 0) {
        await writeFile(paths.meta, JSON.stringify({ digest: expected.digest, size: expected.size, started: new Date().toISOString() }), { mode: 0o600 }).catch((e: unknown) => {
          throw diskFullError(e, paths.meta);
        });
      }
      const fh = await openAppend(paths.data);
      return { status: 'writer', writer: new ContentWriter(expected, offset, paths, this.blobPath(expected.digest), fh, lock) };
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  /** Removes a committed blob (GC and tests; callers hold the GC lock). */
  async delete(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  /** Every committed blob. */
  async list(): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    const blobs = join(this.dir, 'blobs');
    for (const alg of await readdirOrEmpty(blobs)) {
      if (alg !== 'sha256' && alg !== 'sha512') continue;
      for (const hex of await readdirOrEmpty(join(blobs, alg))) {
        if (hex.startsWith('.')) continue;
        const digest = `${alg}:${hex}`;
        const info = await this.stat(digest).catch(() => undefined);
        if (info) out.push(info);
      }
    }
    return out;
  }

  /** Partial downloads kept for resuming. */
  async ingests(): Promise<IngestStatus[]> {
    const out: IngestStatus[] = [];
    for (const name of await readdirOrEmpty(join(this.dir, 'ingest'))) {
      if (isGoneIngest(name)) continue;
      if (name.startsWith(TEMP_INGEST_PREFIX)) {
        // A blob of not-yet-known digest (ingestStream): reported under its directory name.
        const paths = this.tempIngestPaths(name);
        const probe = tryLockQuiet(paths.lock);
        probe?.release();
        out.push({ digest: name, size: -1, offset: await dataLength(paths.data), active: probe === undefined });
        continue;
      }
      const dash = name.indexOf('-');
      if (dash < 0) continue;
      const digest = `${name.slice(0, dash)}:${name.slice(dash + 1)}`;
      let paths: IngestPaths;
      try {
        paths = this.ingestPaths(digest);
      } catch {
        continue;
      }
      const meta = await readMeta(paths.meta);
      const probe = tryLockQuiet(paths.lock);
      probe?.release();
      out.push({ digest, size: meta?.size ?? -1, offset: await dataLength(paths.data), active: probe === undefined });
    }
    return out;
  }

  /** Deletes the partial download of `digest` unless a writer holds it. Returns whether it did. */
  async removeIngest(digest: string): Promise<boolean> {
    const paths = digest.startsWith(TEMP_INGEST_PREFIX) ? this.tempIngestPaths(digest) : this.ingestPaths(digest);
    const lock = tryLockQuiet(paths.lock);
    if (!lock) return false;
    try {
      await retireIngestDir(paths.dir);
    } finally {
      lock.release();
    }
    return true;
  }

  /**
   * Deletes what retireIngestDir left half-removed: `.gone-<pid>-*` directories of processes
   * that no longer exist (a live one is still deleting its own). Returns how many.
   */
  async removeGoneIngests(): Promise<number> {
    let n = 0;
    for (const name of await readdirOrEmpty(join(this.dir, 'ingest'))) {
      if (!isGoneIngest(name)) continue;
      const pid = Number(/^\.gone-([0-9]+)-/.exec(name)?.[1]);
      if (pid > 0 && processExists(pid)) continue;
      await rm(join(this.dir, 'ingest', name), { recursive: true, force: true });
      n++;
    }
    return n;
  }

  /**
   * Holds the store's GC lock shared for the duration of `fn`: writers that create blobs not
   * yet reachable from any image record (a pull in progress) keep GC from deleting them.
   */
  async withLease<T>(fn: () => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    await this.init();
    const lock = await acquireLock(join(this.dir, 'gc.lock'), { shared: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /**
   * Runs `fn` under the exclusive GC lock if no lease is active right now; returns undefined
   * without running it otherwise (rollbacks that must not wait for someone else's pull).
   */
  async tryExclusive<T>(fn: () => Promise<T>): Promise<T | undefined> {
    await this.init();
    const lock = tryLock(join(this.dir, 'gc.lock'));
    if (!lock) return undefined;
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  /** Holds the GC lock exclusively (no lease is active) for the duration of `fn`. */
  async exclusive<T>(fn: () => Promise<T>, opts: { signal?: AbortSignal } = {}): Promise<T> {
    await this.init();
    const lock = await acquireLock(join(this.dir, 'gc.lock'), opts.signal ? { signal: opts.signal } : {});
    try {
      return await fn();
    } finally {
      lock.release();
    }
  }

  private notFound(digest: string): BerthError {
    return new BerthError('ENOT_FOUND', `blob ${digest} is not in the content store (${this.dir})`);
  }
}

async function readMeta(path: string): Promise<Expected | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as { digest?: unknown; size?: unknown };
    if (typeof v.digest === 'string' && typeof v.size === 'number') return { digest: v.digest, size: v.size };
  } catch {
    /* absent or torn by a crash: treated as no metadata */
  }
  return undefined;
}


function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
}

function tryLockQuiet(path: string): FileLock | undefined {
  try {
    return tryLock(path);
  } catch {
    return undefined;
  }
}
