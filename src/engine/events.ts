/**
 * The engine's event log: one JSON line per event in `<root>/events.log`, appended by every
 * Berth process (and by the shim's exit command), read by `berth events`. It doubles as an
 * audit trail: each line says who (uid, user name, pid) did what to which object and when.
 *
 * Lines are appended with O_APPEND in a single write, so concurrent writers never interleave
 * within a line. At 10 MB the file is rotated to events.log.1 (one generation kept).
 */
import { appendFileSync, existsSync, readFileSync, renameSync, statSync, openSync, readSync, closeSync, watch } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { errnoCode } from '../core/errors';
import { inWindow } from './events-query';
import type { EngineEvent, EventType } from './event-types';

export type { EngineEvent, EventType } from './event-types';

const MAX_BYTES = 10 * 1024 * 1024;

function whoAmI(): { uid: number; name: string; pid: number } {
  let name = '';
  try {
    name = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return { uid: process.getuid?.() ?? 0, name, pid: process.pid };
}

export class EventLog {
  readonly file: string;

  constructor(root: string) {
    this.file = join(root, 'events.log');
  }

  /** Records an event; never fails the operation it reports on. */
  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): void {
    const now = process.hrtime.bigint();
    const wall = BigInt(Date.now()) * 1_000_000n + (now % 1_000_000n);
    const ev: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(wall / 1_000_000_000n),
      timeNano: Number(wall),
      user: whoAmI(),
    };
    try {
      try {
        if (statSync(this.file).size > MAX_BYTES) renameSync(this.file, `${this.file}.1`);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
      appendFileSync(this.file, `${JSON.stringify(ev)}\n`, { mode: 0o600 });
    } catch {
      /* the event log is best effort */
    }
  }

  /** Events recorded so far (rotated generation first). */
  read(): EngineEvent[] {
    const out: EngineEvent[] = [];
    for (const f of [`${this.file}.1`, this.file]) {
      if (!existsSync(f)) continue;
      for (const line of readFileSync(f, 'utf8').split('\n')) parseLine(line, (e) => out.push(e));
    }
    return out;
  }

  /**
   * Calls `onEvent` for every event appended from now on (with `fromStart`: every recorded
   * event first, read from the same position, so none emitted meanwhile is lost or repeated),
   * until the signal aborts. Uses inotify (fs.watch) with a slow poll as a fallback for missed
   * notifications.
   */
  follow(onEvent: (e: EngineEvent) => void, signal: AbortSignal, opts: { fromStart?: boolean } = {}): Promise<void> {
    let offset = 0;
    if (opts.fromStart) {
      const rotated = `${this.file}.1`;
      if (existsSync(rotated)) for (const line of readFileSync(rotated, 'utf8').split('\n')) parseLine(line, onEvent);
    } else if (existsSync(this.file)) offset = statSync(this.file).size;
    let partial = '';
    const drain = () => {
      let size = 0;
      try {
        size = statSync(this.file).size;
      } catch {
        return;
      }
      if (size < offset) offset = 0; // rotated
      if (size === offset) return;
      const fd = openSync(this.file, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        const n = readSync(fd, buf, 0, buf.length, offset);
        offset += n;
        partial += buf.subarray(0, n).toString('utf8');
      } finally {
        closeSync(fd);
      }
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) parseLine(l, onEvent);
    };
    return new Promise<void>((resolve) => {
      let watcher: ReturnType<typeof watch> | undefined;
      try {
        watcher = watch(this.file.replace(/\/[^/]*$/, ''), () => drain());
      } catch {
        /* no inotify: the poll below still works */
      }
      const timer = setInterval(drain, 500);
      const stop = () => {
        clearInterval(timer);
        watcher?.close();
        drain();
        resolve();
      };
      drain();
      if (signal.aborted) stop();
      else signal.addEventListener('abort', stop, { once: true });
    });
  }

  /**
   * `berth events`: recorded events from `since` (none without it), then live ones until
   * `until` (forever without it, i.e. until the signal aborts). Only events `accept` takes
   * are passed on.
   */
  async stream(opts: { since?: bigint; until?: bigint; accept?: (e: EngineEvent) => boolean }, onEvent: (e: EngineEvent) => void, signal: AbortSignal): Promise<void> {
    const window = { ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.until !== undefined ? { until: opts.until } : {}) };
    const pass = (e: EngineEvent) => {
      if (inWindow(e, window) && (opts.accept?.(e) ?? true)) onEvent(e);
    };
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    if (opts.until !== undefined && opts.until <= nowNs) {
      for (const e of this.read()) pass(e);
      return;
    }
    const done = new AbortController();
    const abort = () => done.abort();
    signal.addEventListener('abort', abort, { once: true });
    const timer = opts.until !== undefined ? setTimeout(abort, Number((opts.until - nowNs) / 1_000_000n) + 1) : undefined;
    try {
      await this.follow(pass, done.signal, { fromStart: opts.since !== undefined });
    } finally {
      if (timer) clearTimeout(timer);
      signal.removeEventListener('abort', abort);
    }
  }
}

function parseLine(line: string, onEvent: (e: EngineEvent) => void): void {
  if (!line) return;
  let e: EngineEvent;
  try {
    e = JSON.parse(line) as EngineEvent;
  } catch {
    return; // a torn line from a crash
  }
  onEvent(e);
}
