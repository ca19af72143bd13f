/**
 * The engine's event log: one JSON line per event in `<root>/events.log`, appended by every
 * Berth process (and by the shim's exit command), read by `berth events`. It doubles as an
 * audit trail: each line says who (uid, user name, pid) did what to which object and when.
 *
 * Lines are appended with O_APPEND in a single write, so concurrent writers never interleave
 * within a line. At 10 MB the file is rotated to events.log.1 (one generation kept).
 *
 * All file access is asynchronous (an API server serves other clients meanwhile). A process
 * appends its events one after another through a queue, so they are recorded in the order
 * they were emitted.
 */
import { watch } from 'node:fs';
import { appendFile, open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { errnoCode } from '../core/errors';
import type { EngineEvent, EventType } from './event-types';
import { inWindow } from './events-query';

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
  /** The last append of this process: the next one starts when it is done. */
  private appended: Promise<void> = Promise.resolve();

  constructor(root: string) {
    this.file = join(root, 'events.log');
  }

  /**
   * Records an event; never fails the operation it reports on (the promise never rejects).
   * It settles once the line is written; a process that ends normally writes it first.
   */
  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): Promise<void> {
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
    const line = `${JSON.stringify(ev)}\n`;
    this.appended = this.appended.then(() => this.append(line));
    return this.appended;
  }

  private async append(line: string): Promise<void> {
    try {
      try {
        if ((await stat(this.file)).size > MAX_BYTES) await rename(this.file, `${this.file}.1`);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
      await appendFile(this.file, line, { mode: 0o600 });
    } catch {
      /* the event log is best effort */
    }
  }

  /** Events recorded so far (rotated generation first). */
  async read(): Promise<EngineEvent[]> {
    const out: EngineEvent[] = [];
    for (const f of [`${this.file}.1`, this.file]) {
      const text = await readIfExists(f);
      if (text === undefined) continue;
      for (const line of text.split('\n')) parseLine(line, (e) => out.push(e));
    }
    return out;
  }

  /**
   * Calls `onEvent` for every event appended from now on (with `fromStart`: every recorded
   * event first, read from the same position, so none emitted meanwhile is lost or repeated),
   * until the signal aborts. Uses inotify (fs.watch) with a slow poll as a fallback for missed
   * notifications.
   */
  async follow(onEvent: (e: EngineEvent) => void, signal: AbortSignal, opts: { fromStart?: boolean } = {}): Promise<void> {
    let offset = 0;
    if (opts.fromStart) {
      const rotated = await readIfExists(`${this.file}.1`);
      if (rotated !== undefined) for (const line of rotated.split('\n')) parseLine(line, onEvent);
    } else {
      offset = await stat(this.file).then((st) => st.size, () => 0);
    }
    let partial = '';
    const readNew = async (): Promise<void> => {
      let size = 0;
      try {
        size = (await stat(this.file)).size;
      } catch {
        return;
      }
      if (size < offset) offset = 0; // rotated
      if (size === offset) return;
      const fh = await open(this.file, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        offset += bytesRead;
        partial += buf.subarray(0, bytesRead).toString('utf8');
      } finally {
        await fh.close();
      }
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) parseLine(l, onEvent);
    };
    // One read at a time (a notification during a read asks for one more): overlapping reads
    // from the same offset would pass events on twice.
    let reading: Promise<void> | undefined;
    let again = false;
    const drain = (): Promise<void> => {
      if (reading) {
        again = true;
        return reading;
      }
      reading = (async () => {
        do {
          again = false;
          await readNew().catch(() => undefined);
        } while (again);
        reading = undefined;
      })();
      return reading;
    };
    return new Promise<void>((resolve) => {
      let watcher: ReturnType<typeof watch> | undefined;
      try {
        watcher = watch(this.file.replace(/\/[^/]*$/, ''), () => void drain());
      } catch {
        /* no inotify: the poll below still works */
      }
      const timer = setInterval(() => void drain(), 500);
      const stop = () => {
        clearInterval(timer);
        watcher?.close();
        // What was appended before the stop is still passed on.
        void drain().then(resolve);
      };
      void drain();
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
      for (const e of await this.read()) pass(e);
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

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e;
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
