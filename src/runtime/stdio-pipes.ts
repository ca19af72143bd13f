/**
 * The stdio of a process that `exec` (or a health check) starts in a container: three pipes
 * that we relay, never our own fds. A container process given the caller's fds could reopen
 * the caller's files through /proc/self/fd (`exec ... >> hostfile`), and with the caller's
 * terminal as its stdin push input into the operator's shell (TIOCSTI). Docker hands exec'd
 * processes pipes too (containerd's fifos); berth-shim does the same for `run`.
 *
 * Real pipes, not the socketpairs Node makes for `stdio: 'pipe'`: programs reopen
 * /dev/stdout, which works on a pipe and fails (ENXIO) on a socket.
 */
import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { sys } from '../sys';

/** How long output is still relayed after the process exited while something else (a
 * background process it started) holds the pipes open; the shim waits as long for `run`. */
const DRAIN_AFTER_EXIT_MS = 2000;

export interface ExecStdioIo {
  /** Relayed to the process's stdin; absent: the process reads EOF at once. */
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

export interface PipedStdio {
  /** fds 0..2 for the child (close-on-exec here; the spawn puts them in place). */
  readonly fds: [number, number, number];
  /**
   * The child has been started (or could not be): close our copies of its ends, so that its
   * exit shows as EOF on the output pipes. Idempotent.
   */
  spawned(): void;
  /**
   * After the process exited: resolves once stdout and stderr reached EOF and were written
   * on, or DRAIN_AFTER_EXIT_MS after the call if something else still holds the pipes.
   * Stops relaying stdin. Everything is closed afterwards.
   */
  finish(): Promise<void>;
}

function pipeEnd(fd: number, dir: 'read' | 'write'): Socket {
  // libuv opens a pipe fd as a stream and makes only our end non-blocking (each end of a
  // pipe is its own open file), so the child's ends stay as a program expects them.
  return new Socket({ fd, readable: dir === 'read', writable: dir === 'write' });
}

/** Makes the pipes and starts relaying at once (output is never left to fill a pipe). */
export function pipeStdio(io: ExecStdioIo): PipedStdio {
  const made: number[] = [];
  const pipe = (): [number, number] => {
    const p = sys().pipe();
    made.push(...p);
    return p;
  };
  let inR: number, inW: number, outR: number, outW: number, errR: number, errW: number;
  try {
    [inR, inW] = pipe();
    [outR, outW] = pipe();
    [errR, errW] = pipe();
  } catch (e) {
    for (const fd of made) closeSync(fd);
    throw e;
  }
  const childEnds = [inR, outW, errW];
  let childEndsOpen = true;

  const input = pipeEnd(inW, 'write');
  // The process may stop reading (or exit) before our input ends: EPIPE then only means that
  // nobody wants the rest.
  input.on('error', () => input.destroy());
  let unpipeStdin = (): void => undefined;
  if (io.stdin) {
    const src = io.stdin;
    src.pipe(input);
    unpipeStdin = () => src.unpipe(input);
    input.once('close', () => unpipeStdin());
  } else {
    input.end();
  }

  const relay = (fd: number, to: Writable): { sock: Socket; ended: Promise<void> } => {
    const sock = pipeEnd(fd, 'read');
    const ended = new Promise<void>((resolve) => {
      sock.once('end', resolve);
      sock.once('close', () => resolve());
      sock.once('error', () => resolve());
    });
    // Our stdout may be shared with the rest of the CLI: never end it from here.
    sock.pipe(to, { end: false });
    return { sock, ended };
  };
  const out = relay(outR, io.stdout);
  const err = relay(errR, io.stderr);

  const spawned = (): void => {
    if (!childEndsOpen) return;
    childEndsOpen = false;
    for (const fd of childEnds) closeSync(fd);
  };
  return {
    fds: [inR, outW, errW],
    spawned,
    finish: async () => {
      spawned();
      unpipeStdin();
      input.destroy();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_AFTER_EXIT_MS);
        timer.unref();
      });
      await Promise.race([Promise.all([out.ended, err.ended]), late]);
      clearTimeout(timer);
      out.sock.destroy();
      err.sock.destroy();
      // What was read has been handed to the destinations; wait until they took it, so
      // that the caller's exit does not cut the last output short.
      await Promise.all([flushed(io.stdout), flushed(io.stderr)]);
    },
  };
}

/** Resolves once everything written to `w` so far has been passed on. */
function flushed(w: Writable): Promise<void> {
  if (w.writableNeedDrain !== true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      w.off('drain', done);
      w.off('close', done);
      w.off('error', done);
      resolve();
    };
    w.on('drain', done);
    w.on('close', done);
    w.on('error', done);
  });
}
