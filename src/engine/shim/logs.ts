/**
 * Reading a container's json-file log across its rotated files (<log>.N oldest ... <log>.1,
 * then <log>), as `docker logs` does: stream and time filters, --tail (found by scanning the
 * files backwards, so a long log is not parsed whole), and --follow.
 *
 * Follow ends exactly when everything the container wrote has been read: the shim writes
 * exit.json only after it has drained the container's output and closed the log, so once
 * exit.json is seen *before* a read, that read reaches the true end. Rotation while we
 * follow is seen as a new inode at <log>; the old file is complete by then (the shim
 * renames it only after its last write) and is read to its end before we switch.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from '../../core/errors';
import { isSameProcessAlive } from '../../runtime/process-info';
import { formatFixedNs, parseLogLine, toNs, type LogEntry, type LogTime } from './log-format';
import { EXIT_FILE } from './paths';

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
export function logFiles(logPath: string): string[] {
  const rotated: string[] = [];
  for (let i = 1, misses = 0; misses < 2; i++) {
    if (existsSync(`${logPath}.${i}`)) {
      rotated.push(`${logPath}.${i}`);
      misses = 0;
    } else {
      misses++;
    }
  }
  rotated.reverse();
  if (existsSync(logPath)) rotated.push(logPath);
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

  constructor(dirs: string[]) {
    for (const d of new Set(dirs)) {
      try {
        this.watchers.push(watch(d, () => this.wake?.()));
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

export async function* readLogs(logPath: string, opts: ReadLogsOptions = {}): AsyncGenerator<LogEntry> {
  const f: Filter = {
    stdout: opts.stdout ?? true,
    stderr: opts.stderr ?? true,
    since: opts.since !== undefined ? toNs(opts.since) : undefined,
    until: opts.until !== undefined ? toNs(opts.until) : undefined,
  };
  const out = (e: LogEntry): LogEntry => (opts.timestamps ? { ...e, line: `${formatFixedNs(e.timeNs)} ${e.line}` } : e);

  // Open every file first: a rotation after this point cannot make us read one twice.
  const handles: FileHandle[] = [];
  for (const p of logFiles(logPath)) {
    const fh = await openQuiet(p);
    if (fh) handles.push(fh);
  }
  let current: Cursor | undefined;
  const waiter = opts.follow ? new ChangeWaiter([dirname(logPath), ...(opts.untilExit ? [opts.untilExit] : [])]) : undefined;
  try {
    const sizes = await Promise.all(handles.map(async (h) => (await h.stat()).size));
    const ends = await Promise.all(handles.map((h, i) => (i === handles.length - 1 ? completeEnd(h, sizes[i]!) : sizes[i]!)));
    let from = { file: 0, offset: 0 };
    if (opts.tail !== undefined && opts.tail >= 0 && handles.length) from = await tailStart(handles, ends, opts.tail, f);

    // Rotated files: complete, read once.
    for (let i = from.file; i < handles.length - 1; i++) {
      const c = new Cursor(handles[i]!, i === from.file ? from.offset : 0, 0);
      for await (const line of c.lines()) {
        const e = parseLogLine(line);
        if (!e) continue;
        if (f.until !== undefined && e.timeNs > f.until) return;
        if (matches(e, f)) yield out(e);
      }
    }
    if (handles.length) {
      const last = handles.length - 1;
      const fh = handles[last]!;
      current = new Cursor(fh, from.file === last ? from.offset : 0, (await fh.stat()).ino);
    }

    for (;;) {
      if (opts.signal?.aborted) return;
      // Looked at before reading: if the container had already exited, this read is the last.
      const finished = opts.follow ? containerFinished(opts) : true;
      if (current) {
        for await (const line of current.lines()) {
          const e = parseLogLine(line);
          if (!e) continue;
          if (f.until !== undefined && e.timeNs > f.until) return;
          if (matches(e, f)) yield out(e);
        }
      }
      if (!opts.follow) return;
      // Rotated (or first created) since we opened it? Then move on to the file that came
      // next, which is not necessarily <log>: it may have rotated several times since.
      const next = await nextFile(logPath, current?.ino);
      if (next === 'wait' && finished) return;
      if (next !== 'same' && next !== 'wait') {
        if (current) {
          // the old file is complete: take its end, then move on
          for await (const line of current.lines()) {
            const e = parseLogLine(line);
            if (!e) continue;
            if (f.until !== undefined && e.timeNs > f.until) return;
            if (matches(e, f)) yield out(e);
          }
          await current.fh.close();
        }
        current = new Cursor(next.fh, 0, next.ino);
        continue;
      }
      if (current && (await current.truncated())) {
        current.reset();
        continue;
      }
      if (finished) return;
      await waiter!.wait(opts.pollMs ?? 250, opts.signal);
    }
  } finally {
    waiter?.close();
    const toClose = new Set<FileHandle>(handles);
    if (current) toClose.add(current.fh);
    for (const h of toClose) await h.close().catch(() => undefined);
  }
}

function containerFinished(opts: ReadLogsOptions): boolean {
  if (opts.untilExit && existsSync(join(opts.untilExit, EXIT_FILE))) return true;
  // a gone shim writes nothing more (lost, or it exited after writing exit.json)
  return opts.shim !== undefined && !isSameProcessAlive(opts.shim.pid, opts.shim.startTime);
}

/**
 * The file written after the one with inode `ino`: 'same' if that is still <log>, 'wait'
 * if there is none yet (no log yet, or a rotation half done). A file keeps its inode when
 * renamed, so ours is found at <log>.k and its successor at <log>.(k-1); both are checked
 * again after opening, and everything is retried if a rotation moved them meanwhile. If
 * ours was rotated away entirely (we fell more than max-file behind), the oldest file left
 * is next: what was in between is gone, as with docker.
 */
async function nextFile(logPath: string, ino: number | undefined): Promise<'same' | 'wait' | { fh: FileHandle; ino: number }> {
  const name = (k: number): string => (k === 0 ? logPath : `${logPath}.${k}`);
  for (;;) {
    const head = await inodeOf(logPath);
    if (ino === undefined) {
      if (head === undefined) return 'wait';
    } else if (head === ino) {
      return 'same';
    }
    let k = 0;
    let oldest = 0;
    if (ino !== undefined) {
      // a rotation in progress leaves at most one gap in the names: stop at the second
      for (let i = 1, misses = 0; misses < 2; i++) {
        const x = await inodeOf(name(i));
        if (x === undefined) {
          misses++;
          continue;
        }
        misses = 0;
        oldest = i;
        if (x === ino) {
          k = i;
          break;
        }
      }
    }
    const target = k > 0 ? k - 1 : oldest;
    const fh = await openQuiet(name(target));
    if (!fh) return 'wait';
    const got = (await fh.stat()).ino;
    const stillThere = (await inodeOf(name(target))) === got && (k === 0 || (await inodeOf(name(k))) === ino);
    if (stillThere) return { fh, ino: got };
    await fh.close();
  }
}

async function inodeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}
