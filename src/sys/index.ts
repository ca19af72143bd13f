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
  /** mknod(2); `mode` includes the file type (S_IFCHR, S_IFBLK, S_IFIFO). */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** The l*xattr family: never follows a final-component symlink. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** null when the attribute is absent. */
  lgetxattr(path: string, name: string): Buffer | null;
  llistxattr(path: string): string[];
  /**
   * Opens `relPath` read-only below `dir` with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
   * no component may be a symlink or leave `dir`. Returns the fd (the caller closes it).
   */
  openBeneath(dir: string, relPath: string): number;
  /**
   * Opens `path` as if `root` were `/` (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
   * symlinks are followed but "..", absolute targets and renames racing the walk can never
   * leave `root` (native/sys/resolve.c). `flags` is a sum of the IN_ROOT_* constants.
   * Returns the fd (the caller closes it).
   */
  openInRoot(root: string, path: string, flags: number): number;
  /** utimensat(AT_SYMLINK_NOFOLLOW) with nanoseconds (Node's lutimes rounds them away). */
  lutimens(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
  /**
   * Mounts overlayfs at `target` (see native/sys/overlay.c). Relative paths are relative to
   * `baseDir`; `lowers` are top first. Uses the new mount API with one `lowerdir+` per layer
   * (no page-size limit), or mount(2) with relative paths from a thread with its own cwd.
   * Returns which of the two was used.
   */
  mountOverlay(
    target: string,
    baseDir: string,
    lowers: string[],
    upper: string | null,
    work: string | null,
    options: string[],
    flags: number,
    api: OverlayMountApi,
  ): 'fsmount' | 'mount';
  /** A connected AF_UNIX stream pair (close-on-exec), for passing fds to a child. */
  socketpair(): [number, number];
  /**
   * A pipe (close-on-exec): [read end, write end]. For a child's stdio where it must be a
   * real pipe: Node's `stdio: 'pipe'` gives a socketpair, which /dev/stdout cannot reopen.
   */
  pipe(): [number, number];
  /** Receives one message and the fd attached to it (SCM_RIGHTS) without blocking (EAGAIN if none). */
  recvFd(sock: number): { fd: number; data: Buffer };
  /**
   * Connects to the unix stream socket at `path`, sends `data` with `fd` attached (SCM_RIGHTS,
   * first sendmsg only) and closes the connection; ETIMEDOUT after `timeoutMs`.
   */
  sendFd(path: string, data: Buffer, fd: number, timeoutMs: number): void;
  /** fcntl(F_DUPFD_CLOEXEC): a second fd for the same open file (e.g. a pty master read and
   * written by two Node streams, each of which closes its own fd). */
  dupFd(fd: number): number;
  /** ioctl(TIOCSWINSZ) on a terminal (a pty master: the container's terminal size). */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** Sets or clears OPOST (output post-processing such as ONLCR) of a terminal. */
  setOutputProcessing(fd: number, on: boolean): void;

  // --- network namespaces and rtnetlink (native/sys/netns.c; used by src/network/netns.ts) ---
  /**
   * Makes a new network namespace with loopback up and bind-mounts it on the existing file
   * `path`, from a short-lived thread: the calling process's namespaces do not change.
   */
  netnsCreate(path: string): Promise<void>;
  /**
   * A NETLINK_ROUTE socket (bound, blocking with a receive timeout, extended ACKs on) created
   * inside the netns file `nsPath` (null: the caller's netns). The socket stays in that netns.
   */
  netnsOpenNetlink(nsPath: string | null): Promise<number>;
  /** open(file, flags | O_CLOEXEC) from a thread inside the netns `nsPath` (for /proc/sys/net). */
  netnsOpenFile(nsPath: string, file: string, flags: number): Promise<number>;
}

/** 0: new mount API, falling back to mount(2) on kernels without `lowerdir+`; 1: new API only; 2: mount(2) only. */
export type OverlayMountApi = 0 | 1 | 2;

/** openInRoot flags: the result must be a directory / the last component is not followed / O_PATH. */
export const IN_ROOT_DIRECTORY = 1;
export const IN_ROOT_NOFOLLOW = 2;
export const IN_ROOT_PATH = 4;

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const MNT_DETACH = 2;
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_BIND = 4096;
export const MS_REC = 16384;

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
