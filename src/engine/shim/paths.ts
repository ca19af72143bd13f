/**
 * What berth-shim keeps in the container directory it is given (--dir), and how to reach
 * its sockets. A unix socket path must fit in 108 bytes; the shim binds its sockets relative
 * to that directory (its cwd), and clients whose full path would be too long connect through
 * /proc/self/fd/<dir fd>/<name> instead.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { nativeDir } from '../../sys';

export const ATTACH_SOCKET = 'attach.sock';
export const CONSOLE_SOCKET = 'console.sock';
export const EXIT_FILE = 'exit.json';
export const SHIM_PID_FILE = 'shim.pid';
/** The shim's own diagnostics (and the exit and health commands' output). */
export const SHIM_LOG = 'shim.log';
/** External runtimes: their --log (JSON lines), read when `create` fails. */
export const RUNTIME_LOG = 'runtime.log';
export const CONTAINER_PID_FILE = 'container.pid';

/** sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

export function shimBinaryPath(): string {
  return join(nativeDir(), 'berth-shim');
}

/**
 * Runs `fn` with a connectable path for `dir/name`: the path itself when it fits, else the
 * same file reached through an fd of `dir` (valid only in this process, only during `fn`).
 */
export async function withSocketPath<T>(dir: string, name: string, fn: (path: string) => Promise<T>): Promise<T> {
  const full = join(dir, name);
  if (Buffer.byteLength(full) <= MAX_SOCKET_PATH) return fn(full);
  const dirHandle = await open(dir, 'r');
  try {
    return await fn(`/proc/self/fd/${dirHandle.fd}/${name}`);
  } finally {
    await dirHandle.close();
  }
}
