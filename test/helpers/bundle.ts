/**
 * OCI bundles for the conformance tests: a busybox rootfs (with /bin/berth-checker) and a
 * config.json shaped like `runc spec`'s, but without a terminal and with a host directory
 * bind-mounted read-write at /out. Container processes write what the tests read into /out
 * (e.g. `berth-checker report > /out/report.json`): a file survives the container, needs no
 * pipe held open across `create`/`start`, and works the same for every runtime.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeConfig } from '../../src/spec/types';
import { makeBusyboxRootfs, tempDir } from './rootfs';

export const OUT = '/out';

/** Parent cgroup (under every controller's root) that test bundles put their containers in. */
export const CGROUP_PARENT = 'berth-conformance';

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  dir: string;
  rootfs: string;
  /** Host directory mounted at /out inside the container. */
  outDir: string;
  config: RuntimeConfig;
  /** cgroupsPath written into config.json (relative to every controller's root). */
  cgroupsPath: string;
  /** Re-writes config.json after changing `config`. */
  save(): void;
  /** Reads a file the container wrote to /out, or undefined when it does not exist. */
  readOut(name: string): string | undefined;
  /** Parses a JSON file from /out; throws naming the file (and its text) when absent or invalid. */
  readJson<T = unknown>(name: string): T;
  /** Waits until the container has written /out/<name> (throws after timeoutMs). */
  waitForOut(name: string, timeoutMs?: number): Promise<string>;
  cleanup(): void;
}

/** The config `runc spec` writes, minus the terminal, plus /out, a cgroupsPath and our args. */
export function defaultConfig(name: string, outDir: string): RuntimeConfig {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['sh', '-c', `berth-checker report > ${OUT}/report.json`],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'berth-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: OUT, type: 'bind', source: outDir, options: ['rbind', 'rw'] },
    ],
    linux: {
      cgroupsPath: `/${CGROUP_PARENT}/${name}`,
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * A temporary bundle for container `name` (use the container id: it names the directory and
 * the cgroup). `mutate` edits the config (and may touch `bundle.rootfs`) before it is written.
 */
export function makeBundle(name: string, mutate?: (cfg: RuntimeConfig, bundle: Bundle) => void): Bundle {
  const tmp = tempDir(`bundle-${name}`);
  // World-traversable so a container in a user namespace (mapped to an unprivileged host uid)
  // can still reach its rootfs; /out is world-writable for the same reason.
  chmodSync(tmp.path, 0o755);
  const rootfs = makeBusyboxRootfs(join(tmp.path, 'rootfs'));
  chmodSync(rootfs, 0o755);
  const outDir = join(tmp.path, 'out');
  mkdirSync(outDir);
  chmodSync(outDir, 0o777);
  mkdirSync(join(rootfs, 'out'), { recursive: true });
  const config = defaultConfig(name, outDir);
  const bundle: Bundle = {
    dir: tmp.path,
    rootfs,
    outDir,
    config,
    cgroupsPath: config.linux!.cgroupsPath!,
    save() {
      writeFileSync(join(tmp.path, 'config.json'), JSON.stringify(bundle.config, null, 2));
      bundle.cgroupsPath = bundle.config.linux?.cgroupsPath ?? '';
    },
    readOut(file: string) {
      const p = join(outDir, file);
      return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
    },
    readJson<T>(file: string): T {
      const text = bundle.readOut(file);
      if (text === undefined) throw new Error(`the container did not write ${OUT}/${file}`);
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new Error(`${OUT}/${file} is not JSON (${(e as Error).message}): ${text.slice(0, 500)}`);
      }
    },
    async waitForOut(file: string, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = bundle.readOut(file);
        if (text !== undefined && text.length > 0) return text;
        if (Date.now() > deadline) throw new Error(`the container did not write ${OUT}/${file} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    cleanup: tmp.cleanup,
  };
  mutate?.(config, bundle);
  bundle.save();
  return bundle;
}

/** Args of a process that reports readiness in /out/ready and then sleeps until killed. */
export function readyThenSleep(extra = ''): string[] {
  return ['sh', '-c', `${extra}echo ready > ${OUT}/ready; exec sleep 1000000`];
}

/** Process args running a shell script inside the container. */
export function sh(script: string): string[] {
  return ['sh', '-c', script];
}

/** Removes a bundle even if a test failed half-way (safe to call twice). */
export function removeBundle(b: Bundle): void {
  rmSync(b.dir, { recursive: true, force: true });
}

/** Shape of `berth-checker report` (see native/checker). */
export interface CheckerReport {
  pid: number;
  ppid: number;
  umask: string;
  cwd: string | null;
  oom_score_adj: number | null;
  personality: { value: number; domain: string };
  ioprio: { class?: string; priority?: number; errno?: string };
  scheduler: { policy?: string; priority?: number; nice?: number; reset_on_fork?: boolean };
  uid: number;
  euid: number;
  gid: number;
  egid: number;
  groups: number[];
  uid_map: Array<{ container: number; host: number; size: number }>;
  gid_map: Array<{ container: number; host: number; size: number }>;
  setgroups: string | null;
  hostname: string | null;
  domainname: string | null;
  caps: Record<'inheritable' | 'permitted' | 'effective' | 'bounding' | 'ambient', { hex: string | null; names?: string[] }>;
  no_new_privs: number | null;
  seccomp_mode: number | null;
  seccomp_filters: number | null;
  rlimits: Record<string, { soft: number; hard: number }>;
  namespaces: Record<string, number>;
  cgroup: Array<{ hierarchy: number; controllers: string; path: string }>;
  fds: Array<{ fd: number; target: string | null }>;
  mounts: Array<{ id: number; parent: number; dev: string; root: string; mount_point: string; options: string; optional: string[]; fstype: string; source: string; super_options: string }>;
  env: string[];
  exe_access: { path: string; read: OpenResult; write: OpenResult };
}

export interface OpenResult {
  ok: boolean;
  errno: string;
  errno_num: number;
}

export interface StatResult {
  path: string;
  ok: boolean;
  errno?: string;
  type?: string;
  mode?: string;
  uid?: number;
  gid?: number;
  major?: number;
  minor?: number;
  size?: number;
  readonly?: boolean;
  nosuid?: boolean;
  nodev?: boolean;
  noexec?: boolean;
}

export interface SyscallResult {
  syscall: string;
  ret: number;
  errno: string;
  errno_num: number;
}
