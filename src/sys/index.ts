/**
 * The syscall seam. Node lacks a few system calls (flock, mount, ...); they come from a
 * tiny N-API addon written in C (native/sys/addon.c) rather than an FFI such as koffi:
 * the C toolchain is already required for berth-init, an addon needs no extra npm
 * dependency or prebuilt binary, and its surface stays a handful of typed functions.
 *
 * Callers use the `Sys` interface so that logic can be unit-tested with a recording fake.
 */
import { join } from 'node:path';

export interface Sys {
  flock(fd: number, op: number): void;
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount(target: string, flags: number): void;
  mkfifo(path: string, mode: number): void;
  /** Loads a cgroup device eBPF program and attaches it (BPF_F_ALLOW_MULTI) to a cgroup2 directory. */
  bpfAttachDeviceFilter(cgroupDir: string, program: Buffer): void;
  /** A connected AF_UNIX stream pair (close-on-exec), for passing fds to a child. */
  socketpair(): [number, number];
  /** Receives one message and the fd attached to it (SCM_RIGHTS) without blocking (EAGAIN if none). */
  recvFd(sock: number): { fd: number; data: Buffer };
  /**
   * Connects to the unix stream socket at `path`, sends `data` with `fd` attached (SCM_RIGHTS,
   * first sendmsg only) and closes the connection; ETIMEDOUT after `timeoutMs`.
   */
  sendFd(path: string, data: Buffer, fd: number, timeoutMs: number): void;
}

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const MNT_DETACH = 2;

/** Directory that holds the compiled native programs (build/Release). */
export function nativeDir(): string {
  if (process.env.BERTH_NATIVE_DIR) return process.env.BERTH_NATIVE_DIR;
  // Both the bundled files (dist/*.js) and the tsc output (out/src/sys/*.js) resolve from
  // the package root, found by walking up to the directory that holds package.json.
  return join(packageRoot(), 'build', 'Release');
}

export function packageRoot(): string {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'binding.gyp'))) return dir;
    dir = join(dir, '..');
  }
  throw new Error(`cannot locate the berth package root from ${__dirname}`);
}

let real: Sys | undefined;

/** The real kernel, through the addon (loaded on first use). */
export function sys(): Sys {
  if (!real) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    real = require(join(nativeDir(), 'berth_sys.node')) as Sys;
  }
  return real;
}
