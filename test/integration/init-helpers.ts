/**
 * Shared setup for the berth-init integration tests: a busybox rootfs, an exec fifo, a config
 * shaped like `runc spec`'s, and a runner that creates the container through startInit,
 * starts it by reading the fifo and collects what the container wrote to its stdout (a file
 * passed as fd 1).
 */
import { alive } from '../helpers/cli';
import { closeSync, constants, mkdirSync, openSync, readFileSync, readSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxAvailable, makeBusyboxRootfs, tempDir } from '../helpers/rootfs';
import { DEFAULT_CAPABILITIES } from '../../src/spec/capabilities';
import type { RuntimeConfig } from '../../src/spec/types';
import { startInit, type InitHandle, type InitOptions } from '../../src/runtime/init-driver';
import { initBinaryPath } from '../../src/runtime/init-launcher';
import { sys } from '../../src/sys';

export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!busyboxAvailable()) return 'busybox-static not installed';
  if (!existsSync(initBinaryPath())) return `${initBinaryPath()} missing: run npm run install`;
  return undefined;
}

export function baseConfig(rootfs: string, script: string): RuntimeConfig {
  return {
    ociVersion: '1.0.2',
    process: {
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', script],
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'],
      cwd: '/',
      capabilities: { bounding: [...DEFAULT_CAPABILITIES], effective: [...DEFAULT_CAPABILITIES], permitted: [...DEFAULT_CAPABILITIES] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs },
    hostname: 'init-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }],
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export interface Sandbox {
  dir: string;
  rootfs: string;
  fifo: string;
  cleanup(): void;
}

export function sandbox(name: string): Sandbox {
  const t = tempDir(`init-${name}`);
  const rootfs = makeBusyboxRootfs(join(t.path, 'rootfs'));
  const fifo = join(t.path, 'exec.fifo');
  sys().mkfifo(fifo, 0o622);
  mkdirSync(join(t.path, 'out'));
  return { dir: t.path, rootfs, fifo, cleanup: t.cleanup };
}

export interface RunResult {
  status: number;
  stdout: string;
  pid: number;
}

/** create (foreground) -> start -> wait; returns the exit status and what went to fd 1. */
export async function createStartWait(
  sb: Sandbox,
  config: RuntimeConfig,
  extra: Partial<InitOptions> = {},
  warnings: string[] = [],
): Promise<RunResult> {
  const outPath = join(sb.dir, 'out', `stdout-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const out = openSync(outPath, 'w');
  let handle: InitHandle;
  try {
    handle = await startInit(
      {
        mode: 'create',
        id: 'init-test',
        config,
        rootfs: sb.rootfs,
        execFifo: sb.fifo,
        foreground: true,
        warn: (m) => warnings.push(m),
        ...extra,
        // fd 1 is always the file we read back; extra.stdio may set stdin
        stdio: [extra.stdio?.[0] ?? 'inherit', out, 'inherit'],
      },
      { onPid: async () => undefined, onCreateRuntime: async () => '{"status":"creating"}' },
    );
  } finally {
    closeSync(out);
  }
  await startFifo(sb.fifo, handle.pid);
  const status = await handle.wait();
  return { status, stdout: readFileSync(outPath, 'utf8'), pid: handle.pid };
}

/** Parses `cat /proc/self/status` output into a field map. */
export function procStatus(text: string): Record<string, string> {
  const r: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) r[m[1]!] = m[2]!;
  }
  return r;
}

export const processAlive = alive;

/** `start`: reads the byte C writes into the fifo, without blocking forever if C died. */
export async function startFifo(fifo: string, pid: number): Promise<void> {
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(1);
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf, 0, 1, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
      if (n === 1) return;
      if (!processAlive(pid)) throw new Error(`container process ${pid} died before it was started`);
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    closeSync(fd);
  }
}
