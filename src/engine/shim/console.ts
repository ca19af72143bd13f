/**
 * A console socket in this process, for terminals the CLI (or the API server) holds itself
 * rather than a shim: `exec -t` run directly, where berth-init sends the pty master to
 * --console-socket. `listenConsole` receives the master (SCM_RIGHTS, through the addon:
 * libuv reads sockets with read(2), which drops passed fds), `proxyConsole` connects it to
 * our stdin/stdout until the container side of the terminal is closed.
 */
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ReadStream, WriteStream } from 'node:tty';
import { close } from 'node:fs';
import { BerthError, errnoCode } from '../../core/errors';
import { sys } from '../../sys';
import type { ResizeHook } from './attach';
import { DEFAULT_DETACH_KEYS, DetachKeyMatcher, parseDetachKeys } from './detach-keys';
import { MAX_SOCKET_PATH } from './paths';

export interface ConsoleReceiver {
  /** Pass as the console socket (`consoleSocket`) of create or exec. */
  path: string;
  /** The pty master's fd (ours to close), once the runtime has sent it. */
  master: Promise<number>;
  /** Stops listening (and fails `master` if nothing came). */
  close(): Promise<void>;
}

/** The fd libuv holds for an accepted socket (not reading: the server pauses on connect). */
function socketFd(s: Socket): number {
  const fd = (s as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new BerthError('EINTERNAL', 'console socket: cannot get the connection fd');
  return fd;
}

export async function listenConsole(path: string): Promise<ConsoleReceiver> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new BerthError('EINVALID_ARGUMENT', `console socket path too long: ${path}`, { hint: `use a path under ${MAX_SOCKET_PATH} bytes` });
  }
  let resolveMaster!: (fd: number) => void;
  let rejectMaster!: (e: Error) => void;
  const master = new Promise<number>((resolve, reject) => {
    resolveMaster = resolve;
    rejectMaster = reject;
  });
  master.catch(() => undefined); // a caller that never looks must not crash the process
  let got = false;
  const server: Server = createServer({ pauseOnConnect: true }, (conn) => {
    if (got) return conn.destroy();
    let fd: number;
    try {
      fd = socketFd(conn);
    } catch (e) {
      conn.destroy();
      return rejectMaster(e as Error);
    }
    let delay = 1;
    const poll = (): void => {
      if (got || conn.destroyed) return;
      try {
        const r = sys().recvFd(fd);
        got = true;
        conn.destroy();
        server.close();
        resolveMaster(r.fd);
      } catch (e) {
        if (errnoCode(e) === 'EAGAIN') {
          setTimeout(poll, delay);
          delay = Math.min(delay * 2, 20);
          return;
        }
        conn.destroy(); // not a runtime sending a terminal: wait for the next peer
      }
    };
    poll();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return {
    path,
    master,
    close: async () => {
      if (!got) rejectMaster(new BerthError('ESTATE', 'the console socket was closed before a terminal arrived'));
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface ConsoleProxyOptions {
  stdin?: Readable;
  stdout: Writable;
  /** e.g. `rawTerminal().onResize`. */
  onResize?: ResizeHook;
  /** docker's notation; default "ctrl-p,ctrl-q"; null: none. */
  detachKeys?: string | null;
}

/**
 * Copies between the pty master and our stdio until the container side closes (all its
 * processes exited: EIO) or the detach keys are typed. Takes ownership of `master`.
 */
export async function proxyConsole(master: number, io: ConsoleProxyOptions): Promise<{ detached: boolean }> {
  const keys = io.detachKeys === null ? Buffer.alloc(0) : parseDetachKeys(io.detachKeys || DEFAULT_DETACH_KEYS);
  let writeFd: number;
  try {
    writeFd = sys().dupFd(master);
  } catch (e) {
    close(master, () => undefined);
    throw e;
  }
  // Two streams, two fds: each closes its own.
  const reader = new ReadStream(master);
  const writer = new WriteStream(writeFd);
  writer.on('error', () => undefined); // EIO once the container side is gone; the reader reports the end
  let unsubscribe: (() => void) | void = undefined;
  if (io.onResize) {
    unsubscribe = io.onResize((rows, cols) => {
      try {
        sys().setWindowSize(writeFd, rows, cols);
      } catch {
        /* the terminal is gone */
      }
    });
  }
  return new Promise((resolve) => {
    let finished = false;
    const matcher = new DetachKeyMatcher(keys);
    const onInput = (chunk: Buffer | string): void => {
      const { forward, detach } = matcher.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (forward.length) writer.write(forward);
      if (detach) finish(true);
    };
    const finish = (detached: boolean): void => {
      if (finished) return;
      finished = true;
      io.stdin?.off('data', onInput);
      io.stdin?.pause();
      if (unsubscribe) unsubscribe();
      reader.destroy();
      writer.destroy();
      resolve({ detached });
    };
    reader.on('data', (d: Buffer) => {
      if (!io.stdout.write(d)) {
        reader.pause();
        io.stdout.once('drain', () => reader.resume());
      }
    });
    reader.once('end', () => finish(false));
    reader.once('error', () => finish(false)); // EIO: every slave fd is closed
    io.stdin?.on('data', onInput);
  });
}
