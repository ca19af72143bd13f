/**
 * Clients of the shim's attach socket.
 *
 * `openAttach` is the raw connection: after the shim's ATTACHED reply, the socket carries
 * the container's output exactly as docker's attach endpoint does (multiplexed frames, or
 * raw bytes with a terminal), so the API server can pipe it to a hijacked HTTP connection
 * as it is. `attach` is the CLI's: it demultiplexes onto stdout/stderr, forwards stdin
 * through the detach-key matcher, and sends terminal resizes.
 */
import { createConnection, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { BerthError, errnoCode } from '../../core/errors';
import { DEFAULT_DETACH_KEYS, DetachKeyMatcher, parseDetachKeys } from './detach-keys';
import { ATTACH_SOCKET, withSocketPath } from './paths';
import {
  ATTACHED_LEN,
  MSG_STARTED,
  MSG_STDIN,
  MSG_STDIN_CLOSE,
  STREAM_STDERR,
  StreamDemuxer,
  helloMessage,
  muxFrame,
  parseAttached,
  resizeMessage,
  type Streams,
} from './protocol';

export interface AttachConnection {
  /** The container has a terminal: output is raw, not framed. */
  tty: boolean;
  /** The shim takes our stdin (asked for, and the container's stdin is open). */
  stdin: boolean;
  /** After the ATTACHED reply: the output stream. Ends when the container has exited. */
  socket: Socket;
  /** Returns false when the socket's buffer is full (wait for 'drain'). */
  sendStdin(data: Buffer): boolean;
  /** Our stdin ended (with --stdin-once the container's is closed too). */
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** Leaves; the container runs on. */
  close(): void;
}

async function connect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Reads exactly n bytes from a paused socket, leaving the rest buffered in it. */
async function readExactly(s: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tryRead = (): void => {
      const b = s.read(n) as Buffer | null;
      if (b) {
        cleanup();
        resolve(b);
      }
    };
    const onEnd = (): void => {
      cleanup();
      reject(new BerthError('ESTATE', 'the shim closed the attach connection (the container has exited)'));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const cleanup = (): void => {
      s.off('readable', tryRead);
      s.off('end', onEnd);
      s.off('error', onError);
    };
    s.on('readable', tryRead);
    s.once('end', onEnd);
    s.once('error', onError);
    tryRead();
  });
}

/**
 * Connects to the shim in `dir` asking for `streams`; resolves after the shim's reply, from
 * which point no output is missed. Fails with ESTATE when no shim is there (the container
 * is not running).
 */
export async function openAttach(dir: string, streams: Streams): Promise<AttachConnection> {
  let socket: Socket;
  try {
    socket = await withSocketPath(dir, ATTACH_SOCKET, connect);
  } catch (e) {
    const code = errnoCode(e);
    // no socket, nobody listening, or a shim closing it as the container exits
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET') {
      throw new BerthError('ESTATE', 'the container is not running (no monitor to attach to)', { cause: e });
    }
    throw new BerthError('ESYSCALL', `connect to ${dir}/${ATTACH_SOCKET}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  socket.write(helloMessage(streams));
  let ack;
  try {
    ack = parseAttached(await readExactly(socket, ATTACHED_LEN));
  } catch (e) {
    socket.destroy();
    if (errnoCode(e) === 'ECONNRESET' || errnoCode(e) === 'EPIPE') {
      throw new BerthError('ESTATE', 'the shim closed the attach connection (the container has exited)', { cause: e });
    }
    throw e;
  }
  return {
    tty: ack.tty,
    stdin: ack.stdin,
    socket,
    sendStdin: (data) => (data.length === 0 || socket.destroyed ? true : socket.write(muxFrame(MSG_STDIN, data))),
    closeStdin: () => {
      if (!socket.destroyed) socket.write(muxFrame(MSG_STDIN_CLOSE));
    },
    resize: (rows, cols) => {
      if (!socket.destroyed) socket.write(resizeMessage(rows, cols));
    },
    close: () => socket.destroy(),
  };
}

/** Tells the shim the container was started (health checks begin). A gone shim is fine. */
export async function notifyStarted(dir: string): Promise<void> {
  let conn: AttachConnection;
  try {
    conn = await openAttach(dir, {});
  } catch (e) {
    if (e instanceof BerthError && e.code === 'ESTATE') return; // already exited
    throw e;
  }
  // the container may exit (and the shim close us) at any moment: that is no error here
  conn.socket.on('error', () => undefined);
  await new Promise<void>((resolve) => conn.socket.end(muxFrame(MSG_STARTED), () => resolve()));
  conn.close();
}

export type ResizeHook = (send: (rows: number, cols: number) => void) => (() => void) | void;

export interface AttachOptions {
  /** Forwarded to the container if it was started with stdin open; ignored otherwise. */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /**
   * Expected terminal mode (the caller sets up raw mode from it); the shim's reply is
   * authoritative and a mismatch is an error.
   */
  tty: boolean;
  /** docker's notation; default "ctrl-p,ctrl-q"; null: no detach keys. */
  detachKeys?: string | null;
  /** With a terminal: called once with a function that sends a size (send the current
   * one, subscribe to changes, return the unsubscriber), e.g. `rawTerminal().onResize`. */
  onResize?: ResizeHook;
  /** Called once the shim has acknowledged: from here on no output is missed (start now). */
  onAttached?: () => void | Promise<void>;
}

/**
 * Attaches until the container's output ends (it exited) or the user types the detach keys.
 * Leaving never affects the container. Our stdin ending closes the container's stdin only
 * if the shim was launched with stdinOnce.
 */
export async function attach(dir: string, opts: AttachOptions): Promise<{ detached: boolean }> {
  const keys = opts.detachKeys === null ? Buffer.alloc(0) : parseDetachKeys(opts.detachKeys || DEFAULT_DETACH_KEYS);
  const conn = await openAttach(dir, { stdout: !!opts.stdout, stderr: !!opts.stderr, stdin: !!opts.stdin });
  if (conn.tty !== opts.tty) {
    conn.close();
    throw new BerthError('EINVALID_ARGUMENT', `the container ${conn.tty ? 'has' : 'has no'} terminal but attach was asked for ${opts.tty ? 'one' : 'none'}`);
  }
  const socket = conn.socket;
  let unsubscribeResize: (() => void) | void = undefined;
  let stdinCleanup: (() => void) | undefined;
  let settle!: (r: { detached: boolean }) => void;
  let fail!: (e: unknown) => void;
  const done = new Promise<{ detached: boolean }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  let finished = false;
  const finish = (detached: boolean): void => {
    if (finished) return;
    finished = true;
    stdinCleanup?.();
    if (unsubscribeResize) unsubscribeResize();
    if (detached) conn.close();
    settle({ detached });
  };

  // output
  const demux = conn.tty ? undefined : new StreamDemuxer();
  const write = (w: Writable | undefined, data: Buffer): void => {
    if (!w || data.length === 0) return;
    if (!w.write(data)) {
      socket.pause();
      w.once('drain', () => socket.resume());
    }
  };
  socket.on('data', (chunk: Buffer) => {
    if (!demux) return write(opts.stdout, chunk);
    let chunks;
    try {
      chunks = demux.push(chunk);
    } catch (e) {
      finished = true;
      stdinCleanup?.();
      conn.close();
      fail(e);
      return;
    }
    for (const c of chunks) write(c.stream === STREAM_STDERR ? opts.stderr : opts.stdout, c.data);
  });
  socket.resume(); // the ATTACHED reply was read in paused mode
  socket.once('end', () => finish(false));
  socket.once('close', () => finish(false));
  socket.once('error', (e) => {
    // the shim went away abruptly (killed): the stream is over all the same
    if (errnoCode(e) === 'ECONNRESET' || errnoCode(e) === 'EPIPE') finish(false);
    else fail(e);
  });

  if (conn.tty && opts.onResize) unsubscribeResize = opts.onResize((rows, cols) => conn.resize(rows, cols));

  // input
  const input = opts.stdin;
  if (input && conn.stdin) {
    const matcher = new DetachKeyMatcher(keys);
    const onData = (chunk: Buffer | string): void => {
      const { forward, detach } = matcher.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (forward.length && !conn.sendStdin(forward)) {
        input.pause();
        socket.once('drain', () => input.resume());
      }
      if (detach) finish(true);
    };
    const onEnd = (): void => conn.closeStdin();
    input.on('data', onData);
    input.once('end', onEnd);
    stdinCleanup = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
    };
  } else if (input && keys.length) {
    // No stdin for the container, but the detach keys still work (docker does the same).
    const matcher = new DetachKeyMatcher(keys);
    const onData = (chunk: Buffer | string): void => {
      if (matcher.feed(typeof chunk === 'string' ? Buffer.from(chunk) : chunk).detach) finish(true);
    };
    input.on('data', onData);
    stdinCleanup = () => {
      input.off('data', onData);
      input.pause();
    };
  }
  await opts.onAttached?.();
  return done;
}
