/**
 * Reading a container's json-file log across its rotated files (<log>.N oldest ... <log>.1,
 * then <log>), as `docker logs` does: stream and time filters, --tail (found by scanning the
 * files backwards, so a long log is not parsed whole), and --follow.
 *
 * Follow ends exactly when everything the container wrote has been read: the shim writes
 * exit.json only after it has drained the container's output and closed the log, so once
 * exit.json is seen *before* a read, that read reaches the true end. Files are tracked by
 * identity, not name: each is opened as soon as it appears (PinnedFiles) and read from that
 * open file, so a rotation that renames it, or drops it past max-file, loses nothing. A file
 * is read to its end and closed once a newer one exists (the shim renames a file only after
 * its last write). Only what was dropped before the follower first looked can be missing,
 * as with docker.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { isSameProcessAlive } from '../../runtime/process-info';
import { formatFixedNs, parseLogLine, toNs, type LogEntry, type LogTime } from './log-format';
import { EXIT_FILE } from './paths';
import { pathExists } from '../../core/fs-exists';

export interface ReadLogsOptions {
  /** Keep reading new entries until the container has exited (see untilExit / shim). */
  follow?: boolean;
  /** Entries at or after this time. */
  since?: LogTime;
  /** Entries at or before this time; reading stops at the first later entry. */
  until?: LogTime;
  /** Only the last N matching entries (then new ones, when following). */
  tail?: number;
  /** Prefix each line with its time in docker's fixed nine-digit format. */
  timestamps?: boolean;
  /** Streams to include (both by default). */
  stdout?: boolean;
  stderr?: boolean;
  /** The shim's directory: following ends once exit.json is there and everything is read. */
  untilExit?: string;
  /** Following also ends when this shim is gone (lost: no exit.json will ever come). */
  shim?: { pid: number; startTime?: number };
  signal?: AbortSignal;
  /** Fallback poll interval while following (file watches wake us sooner). */
  pollMs?: number;
}

const CHUNK = 64 * 1024;

/** Existing log files, oldest first (a rotation in progress leaves at most one gap). */
export async function logFiles(logPath: string): Promise<string[]> {
  const rotated: string[] = [];
  for (let i = 1, misses = 0; misses < 2; i++) {
    if (await pathExists(`${logPath}.${i}`)) {
      rotated.push(`${logPath}.${i}`);
      misses = 0;
    } else {
      misses++;
    }
  }
  rotated.reverse();
  if (await pathExists(logPath)) rotated.push(logPath);
  return rotated;
}


async function openQuiet(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, 'r');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** Forward reader of complete lines; an unterminated tail waits for its newline. */
class Cursor {
  private rest: Buffer = Buffer.alloc(0);

  constructor(
    readonly fh: FileHandle,
    public pos: number,
    readonly ino: number,
  ) {}

  async *lines(): AsyncGenerator<Buffer> {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await this.fh.read(buf, 0, CHUNK, this.pos);
      if (bytesRead === 0) return;
      this.pos += bytesRead;
      let data = this.rest.length ? Buffer.concat([this.rest, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
      let start = 0;
      for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
        yield data.subarray(start, nl);
        start = nl + 1;
      }
      data = data.subarray(start);
      this.rest = Buffer.from(data);
    }
  }

  /** The file shrank below what we read (max-file 1 truncates instead of rotating). */
  async truncated(): Promise<boolean> {
    const st = await this.fh.stat();
    return st.size < this.pos - this.rest.length;
  }

  reset(): void {
    this.pos = 0;
    this.rest = Buffer.alloc(0);
  }
}

/** Offset just after the last newline (0 if none): what a reader may take as complete. */
async function completeEnd(fh: FileHandle, size: number): Promise<number> {
  let end = size;
  const buf = Buffer.alloc(4096);
  while (end > 0) {
    const start = Math.max(0, end - buf.length);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
    if (nl >= 0) return start + nl + 1;
    end = start;
  }
  return 0;
}

/** Complete lines ending at or before `end` (right after a newline), last first, with offsets. */
async function* linesBackward(fh: FileHandle, end: number): AsyncGenerator<{ offset: number; line: Buffer }> {
  if (end === 0) return;
  let pos = end - 1; // the final newline terminates the first line we yield
  let pending: Buffer = Buffer.alloc(0);
  const buf = Buffer.alloc(CHUNK);
  while (pos > 0) {
    const start = Math.max(0, pos - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, pos - start, start);
    const chunk = buf.subarray(0, bytesRead);
    let segEnd = chunk.length;
    for (let k = chunk.length - 1; k >= 0; k--) {
      if (chunk[k] !== 10) continue;
      yield { offset: start + k + 1, line: Buffer.concat([chunk.subarray(k + 1, segEnd), pending]) };
      pending = Buffer.alloc(0);
      segEnd = k;
    }
    pending = Buffer.concat([chunk.subarray(0, segEnd), pending]);
    pos = start;
  }
  yield { offset: 0, line: pending };
}

interface Filter {
  stdout: boolean;
  stderr: boolean;
  since: bigint | undefined;
  until: bigint | undefined;
}

function matches(e: LogEntry, f: Filter): boolean {
  if (e.stream === 'stdout' ? !f.stdout : !f.stderr) return false;
  if (f.since !== undefined && e.timeNs < f.since) return false;
  if (f.until !== undefined && e.timeNs > f.until) return false;
  return true;
}

/** Where reading starts so that exactly the last `n` matching entries come out. */
async function tailStart(handles: FileHandle[], ends: number[], n: number, f: Filter): Promise<{ file: number; offset: number }> {
  if (n <= 0) return { file: handles.length - 1, offset: ends[handles.length - 1]! };
  let count = 0;
  for (let i = handles.length - 1; i >= 0; i--) {
    for await (const { offset, line } of linesBackward(handles[i]!, ends[i]!)) {
      const e = parseLogLine(line);
      if (e && matches(e, f) && ++count >= n) return { file: i, offset };
    }
  }
  return { file: 0, offset: 0 };
}

class ChangeWaiter {
  private readonly watchers: FSWatcher[] = [];
  private wake: (() => void) | undefined;

  /** `onChange` runs on every event, also while the reader is suspended in a yield. */
  constructor(dirs: string[], onChange?: () => void) {
    for (const d of new Set(dirs)) {
      try {
        this.watchers.push(
          watch(d, () => {
            onChange?.();
            this.wake?.();
          }),
        );
      } catch {
        /* no inotify (limits): the poll interval still wakes us */
      }
    }
  }

  wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.wake = done;
    });
  }

  close(): void {
    for (const w of this.watchers) w.close();
  }
}

/**
 * The log's files, held open by identity (inode) from the moment they are seen, oldest first.
 * A file that is open stays readable after the shim renames it away or drops it (max-file),
 * so a follower that opens each new file as soon as it appears reads every line written
 * after it started, however slowly its consumer takes them. Scans run one at a time; the
 * newest held file is never closed, so its inode number cannot be reused meanwhile.
 */
class PinnedFiles {
  /** Files not finished yet, oldest first; the reader takes them from the front. */
  readonly queue: { fh: FileHandle; ino: number }[] = [];
  private newest: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly logPath: string) {}

  /** Opens the files that appeared since the last scan (coalesced: at most one waits). */
  scan(): Promise<void> {
    if (!this.queued) {
      const next = this.chain.then(() => {
        this.queued = undefined;
        return this.scanNow();
      });
      this.queued = next;
      this.chain = next.catch(() => undefined);
    }
    return this.queued;
  }

  private async scanNow(): Promise<void> {
    if (this.closed) return;
    const name = (k: number): string => (k === 0 ? this.logPath : `${this.logPath}.${k}`);
    // Every file starts at <log>: open what is there now, then walk back through its
    // predecessors until the newest file we hold (or the oldest left). Opened files are never
    // let go meanwhile, so a rotation during the walk cannot make one slip away.
    const head = await openQuiet(this.logPath);
    if (!head) return; // between a rename and the new file: its creation wakes us again
    const headIno = (await head.stat()).ino;
    if (headIno === this.newest || this.closed) {
      await head.close();
      return;
    }
    const chain = [{ fh: head, ino: headIno }];
    for (let cur = chain[0]!; ; ) {
      // Where `cur` is now, and the next name after it (a rotation leaves at most one gap).
      const at = await this.indexOf(cur.ino);
      if (at === undefined) break; // dropped: so is everything older
      let k = at + 1;
      if ((await inodeOf(name(k))) === undefined) k++;
      const fh = await openQuiet(name(k));
      if (!fh) {
        if ((await inodeOf(name(at))) === cur.ino) break; // no older file is left
        continue;
      }
      const ino = (await fh.stat()).ino;
      // Only if `cur` did not move meanwhile is what we opened its predecessor (files move
      // up one name per rotation, the older one first).
      if ((await inodeOf(name(at))) !== cur.ino) {
        await fh.close();
        continue;
      }
      if (ino === this.newest) {
        await fh.close();
        break;
      }
      cur = { fh, ino };
      chain.push(cur);
    }
    if (this.closed) {
      for (const f of chain) await f.fh.close();
      return;
    }
    this.queue.push(...chain.reverse());
    this.newest = headIno;
  }

  /** The name index (0 for <log>) of the file with inode `ino`, if it has a name. */
  private async indexOf(ino: number): Promise<number | undefined> {
    for (let i = 0, misses = 0; misses < 2; i++) {
      const x = await inodeOf(i === 0 ? this.logPath : `${this.logPath}.${i}`);
      if (x === ino) return i;
      misses = x === undefined ? misses + 1 : 0;
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    for (const f of this.queue.splice(0)) await f.fh.close().catch(() => undefined);
  }
}

export async function* readLogs(logPath: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const f: Filter = {
    stdout: opts.stdout ?? true,
    stderr: opts.stderr ?? true,
    since: opts.since !== undefined ? toNs(opts.since) : undefined,
    until: opts.until !== undefined ? toNs(opts.until) : undefined,
  };
  const out = (e: LogEntry): LogEntry => (opts.timestamps ? { ...e, line: `${formatFixedNs(e.timeNs)} ${e.line}` } : e);

  const pinned = new PinnedFiles(logPath);
  // Following, every directory event opens what is new at once, even while our consumer
  // holds us in a yield: a file the shim drops before we opened it would be lost.
  const waiter = opts.follow
    ? new ChangeWaiter([dirname(logPath), ...(opts.untilExit ? [opts.untilExit] : [])], () => void pinned.scan().catch(() => undefined))
    : undefined;
  let current: Cursor | undefined;
  try {
    await pinned.scan();
    const handles = pinned.queue.map((q) => q.fh);
    const sizes = await Promise.all(handles.map(async (h) => (await h.stat()).size));
    const ends = await Promise.all(handles.map((h, i) => (i === handles.length - 1 ? completeEnd(h, sizes[i]!) : sizes[i]!)));
    let from = { file: 0, offset: 0 };
    if (opts.tail !== undefined && opts.tail >= 0 && handles.length) from = await tailStart(handles, ends, opts.tail, f);
    // Files before the tail's start are not needed.
    for (let i = 0; i < from.file; i++) await pinned.queue.shift()!.fh.close();
    let startOffset = from.offset;

    for (;;) {
      if (opts.signal?.aborted) return;
      // Looked at before reading: if the container had already exited, this read is the last.
      const finished = opts.follow ? await containerFinished(opts) : true;
      if (opts.follow) await pinned.scan();
      if (!current && pinned.queue.length) {
        const head = pinned.queue[0]!;
        current = new Cursor(head.fh, startOffset, head.ino);
        startOffset = 0;
      }
      // A newer file seen before this read means the shim is done with ours (it renames a
      // file only after its last write): this read takes it to its true end.
      const rotated = pinned.queue.length > 1;
      if (current) {
        for await (const line of current.lines()) {
          const e = parseLogLine(line);
          if (!e) continue;
          if (f.until !== undefined && e.timeNs > f.until) return;
          if (matches(e, f)) yield out(e);
        }
      }
      if (current && rotated) {
        pinned.queue.shift();
        await current.fh.close();
        current = undefined;
        continue;
      }
      if (!opts.follow) return;
      if (current && (await current.truncated())) {
        current.reset();
        continue;
      }
      if (finished) return;
      await waiter!.wait(opts.pollMs ?? 250, opts.signal);
    }
  } finally {
    waiter?.close();
    await pinned.close();
  }
}

async function containerFinished(opts: ReadLogsOptions): Promise<boolean> {
  if (opts.untilExit && (await pathExists(join(opts.untilExit, EXIT_FILE)))) return true;
  // a gone shim writes nothing more (lost, or it exited after writing exit.json)
  return opts.shim !== undefined && !isSameProcessAlive(opts.shim.pid, opts.shim.startTime);
}

async function inodeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}
