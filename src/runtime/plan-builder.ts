/**
 * OCI config (already validated) + runtime options -> init plan. Everything that can be
 * decided without the kernel is decided here, in TypeScript, so that berth-init stays a
 * straight-line executor: option strings become flags, names become numbers, defaults
 * (devices, umask) are filled in, and limits are clamped to what this host allows.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { BerthError } from '../core/errors';
import type { Device, Hook, IdMapping, NamespaceType, RuntimeConfig } from '../spec/types';
import { capabilityMasks, raisableAmbient } from './capabilities';
import { parseMountOptions, MS_BIND, MS_PRIVATE, MS_REC, MS_SHARED, MS_SLAVE, MS_UNBINDABLE } from './mount-options';
import {
  MODE_CREATE,
  MODE_EXEC,
  MOUNT_BIND,
  MOUNT_CGROUP,
  MOUNT_TMPCOPYUP,
  MOUNT_NORMAL,
  PF_FOREGROUND,
  PF_NEW_CGROUPNS,
  PF_LOOPBACK_UP,
  PF_NO_NEW_KEYRING,
  PF_NO_NEW_PRIVS,
  PF_NO_PIVOT,
  PF_ROOT_READONLY,
  PF_TERMINAL,
  type Plan,
  type PlanDevice,
  type PlanHook,
  type PlanMount,
} from './plan';
import { planRlimits } from './rlimits';
import type { SeccompProgram } from '../seccomp';

export const CLONE_NEWTIME = 0x80;
export const CLONE_NEWNS = 0x20000;
export const CLONE_NEWCGROUP = 0x2000000;
export const CLONE_NEWUTS = 0x4000000;
export const CLONE_NEWIPC = 0x8000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

export const NAMESPACE_FLAGS: Record<NamespaceType, number> = {
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  mount: CLONE_NEWNS,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  user: CLONE_NEWUSER,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

/** The devices every container gets (runtime spec, "Default Devices"). */
export const DEFAULT_DEVICES: ReadonlyArray<{ path: string; major: number; minor: number }> = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const PROPAGATION: Record<string, number> = {
  private: MS_PRIVATE,
  rprivate: MS_PRIVATE | MS_REC,
  shared: MS_SHARED,
  rshared: MS_SHARED | MS_REC,
  slave: MS_SLAVE,
  rslave: MS_SLAVE | MS_REC,
  unbindable: MS_UNBINDABLE,
  runbindable: MS_UNBINDABLE | MS_REC,
};

const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};

const SCHED_FLAGS: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x1n,
  SCHED_FLAG_RECLAIM: 0x2n,
  SCHED_FLAG_DL_OVERRUN: 0x4n,
  SCHED_FLAG_KEEP_POLICY: 0x8n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};

const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export type { SeccompProgram } from '../seccomp';

/** What a plan is built from besides the config: the caller's choices for this container. */
export interface PlanOptions {
  mode: 'create' | 'exec';
  /** Validated config; for exec, the container's config with `process` replaced. */
  config: RuntimeConfig;
  /** Absolute rootfs path (create only). */
  rootfs: string;
  /** Bundle directory: relative bind-mount sources are resolved against it (default: cwd). */
  bundle?: string;
  /** create: FIFO that C blocks writing to until `start` opens it for reading. */
  execFifo?: string;
  /** process.terminal: unix socket that receives the pty master (SCM_RIGHTS). */
  consoleSocket?: string;
  /** Pass fds 3..3+N-1 of this process to the container process. */
  preserveFds?: number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** P stays, forwards signals, and exits with the container process's status. */
  foreground?: boolean;
  /** exec: host pid of the container's init, whose namespaces are joined. */
  joinPid?: number;
  id: string;
  warn?: (msg: string) => void;
}

export interface PlanDeps {
  /** BPF for linux.seccomp (src/seccomp); required when the config has a seccomp profile. */
  compileSeccomp?: (profile: NonNullable<NonNullable<RuntimeConfig['linux']>['seccomp']>) => SeccompProgram;
  /** Hard limits of this process by rlimit name (default: read /proc/self/limits). */
  hostHardLimits?: Map<string, bigint>;
  /** Whether the host enforces AppArmor (default: read /sys/module/apparmor). */
  apparmorEnabled?: boolean;
}

function invalid(message: string, hint?: string): BerthError {
  return new BerthError('EINVALID_CONFIG', message, hint ? { hint } : {});
}

/** Whether the container gets a new namespace of `type` (listed without a path). */
export function newNamespaces(config: RuntimeConfig): Set<NamespaceType> {
  return new Set((config.linux?.namespaces ?? []).filter((n) => !n.path).map((n) => n.type));
}

function planHook(h: Hook): PlanHook {
  return { path: h.path, args: h.args && h.args.length ? h.args : [h.path], env: h.env ?? [], timeout: h.timeout ?? 0 };
}

function planMounts(config: RuntimeConfig, bundle: string): PlanMount[] {
  return (config.mounts ?? []).map((m, i) => {
    const where = `mounts[${i}] (${m.destination})`;
    if (!isAbsolute(m.destination)) throw invalid(`${where}: destination must be an absolute path`);
    const o = parseMountOptions(m.options, where);
    const bind = o.bind || m.type === 'bind';
    let kind = MOUNT_NORMAL;
    if (bind) kind = MOUNT_BIND;
    else if (m.type === 'cgroup' || m.type === 'cgroup2') kind = MOUNT_CGROUP;
    if (o.idmap && !bind) throw invalid(`${where}: "idmap" is only supported on bind mounts`);
    if (o.copyUp) {
      if (m.type !== 'tmpfs' || bind) throw invalid(`${where}: "tmpcopyup" is only supported on tmpfs mounts`, 'drop "tmpcopyup" or make it a tmpfs mount');
      kind = MOUNT_TMPCOPYUP;
    }
    const pm: PlanMount = {
      destination: m.destination,
      kind,
      flags: bind ? o.flags | MS_BIND : o.flags,
      propagation: o.propagation,
      attrSet: o.attrSet,
      attrClr: o.attrClr,
    };
    if (m.source !== undefined) {
      // bind sources are host paths, relative ones relative to the bundle (runtime spec)
      pm.source = bind && !isAbsolute(m.source) ? resolve(bundle, m.source) : m.source;
    }
    if (m.type !== undefined && m.type !== 'bind' && m.type !== 'none') pm.type = m.type;
    if (o.data !== undefined) pm.data = o.data;
    if (o.idmap) {
      const conv = (l: typeof m.uidMappings) => (l ?? []).map((x) => ({ inside: x.containerID, outside: x.hostID, count: x.size }));
      pm.idmap = { uidMappings: conv(m.uidMappings), gidMappings: conv(m.gidMappings), recursive: o.recursiveIdmap };
    }
    return pm;
  });
}

function deviceType(d: Device, i: number): number {
  switch (d.type) {
    case 'c':
    case 'u':
      return S_IFCHR;
    case 'b':
      return S_IFBLK;
    case 'p':
      return S_IFIFO;
    default:
      throw invalid(`linux.devices[${i}].type: unknown device type "${String(d.type)}"`, 'use c, u, b or p');
  }
}

function planDevices(config: RuntimeConfig): PlanDevice[] {
  // A bind-mounted /dev is the host's (or the user's): do not create nodes in it.
  const devBound = (config.mounts ?? []).some(
    (m) => m.destination.replace(/\/+$/, '') === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
  const byPath = new Map<string, PlanDevice>();
  if (!devBound) {
    for (const d of DEFAULT_DEVICES) {
      byPath.set(d.path, { path: d.path, type: S_IFCHR, major: d.major, minor: d.minor, mode: 0o666, uid: 0, gid: 0, fallbackBind: true });
    }
  }
  (config.linux?.devices ?? []).forEach((d, i) => {
    const type = deviceType(d, i);
    if (type !== S_IFIFO && (d.major === undefined || d.minor === undefined)) {
      throw invalid(`linux.devices[${i}] (${d.path}): major and minor are required for type "${d.type}"`);
    }
    const isDefault = byPath.get(d.path)?.fallbackBind === true;
    byPath.set(d.path, {
      path: d.path,
      type,
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      // Only the permission bits: the type comes from `type` (the validator checked that any
      // type bits in fileMode agree with it).
      mode: (d.fileMode ?? 0o666) & 0o7777,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      fallbackBind: isDefault,
    });
  });
  return [...byPath.values()];
}

function hostHasAppArmor(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return false;
  }
}

export function buildPlan(opts: PlanOptions, deps: PlanDeps = {}): Plan {
  const config = opts.config;
  const proc = config.process;
  if (!proc) throw invalid('process: missing (nothing to run)');
  if (!proc.args || proc.args.length === 0) throw invalid('process.args: must name the program to run', 'e.g. "args": ["sh"]');
  const warn = opts.warn ?? (() => undefined);
  const exec = opts.mode === 'exec';
  const linux = config.linux ?? {};

  let flags = 0;
  if (opts.foreground) flags |= PF_FOREGROUND;
  if (opts.noPivot) flags |= PF_NO_PIVOT;
  if (opts.noNewKeyring) flags |= PF_NO_NEW_KEYRING;
  if (proc.terminal) flags |= PF_TERMINAL;
  if (proc.noNewPrivileges) flags |= PF_NO_NEW_PRIVS;

  const caps = proc.capabilities ? raisableAmbient(capabilityMasks(proc.capabilities), warn) : undefined;
  const plan: Plan = {
    mode: exec ? MODE_EXEC : MODE_CREATE,
    flags,
    cloneFlags: 0,
    nsJoin: [],
    rootfsPropagation: 0,
    preserveFds: opts.preserveFds ?? 0,
    id: opts.id,
    mounts: [],
    devices: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctl: [],
    createContainerHooks: [],
    startContainerHooks: [],
    args: proc.args,
    env: proc.env ?? [],
    cwd: proc.cwd || '/',
    uid: proc.user.uid,
    gid: proc.user.gid,
    additionalGids: proc.user.additionalGids ?? [],
    rlimits: planRlimits(proc.rlimits, warn, deps.hostHardLimits),
  };
  if (caps) plan.caps = caps;
  if (opts.consoleSocket) plan.consoleSocket = opts.consoleSocket;
  if (proc.terminal && proc.consoleSize) plan.consoleSize = { rows: proc.consoleSize.height, cols: proc.consoleSize.width };
  if (proc.user.umask !== undefined) plan.umask = proc.user.umask;
  if (proc.oomScoreAdj !== undefined) plan.oomScoreAdj = proc.oomScoreAdj;
  if (proc.ioPriority) {
    const cls = IOPRIO_CLASSES[proc.ioPriority.class];
    if (cls === undefined) throw invalid(`process.ioPriority.class: unknown class "${proc.ioPriority.class}"`);
    plan.ioPriority = (cls << 13) | (proc.ioPriority.priority & 0x1fff);
  }
  if (proc.scheduler) {
    const s = proc.scheduler;
    const policy = SCHED_POLICIES[s.policy];
    if (policy === undefined) throw invalid(`process.scheduler.policy: unknown policy "${s.policy}"`);
    let sflags = 0n;
    for (const f of s.flags ?? []) {
      const v = SCHED_FLAGS[f];
      if (v === undefined) throw invalid(`process.scheduler.flags: unknown flag "${f}"`);
      sflags |= v;
    }
    plan.scheduler = {
      policy,
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      flags: sflags,
      runtime: BigInt(s.runtime ?? 0),
      deadline: BigInt(s.deadline ?? 0),
      period: BigInt(s.period ?? 0),
    };
  }
  if (proc.apparmorProfile && (deps.apparmorEnabled ?? hostHasAppArmor())) plan.apparmorProfile = proc.apparmorProfile;
  if (linux.personality) {
    plan.personality = linux.personality.domain === 'LINUX32' ? 0x0008 : 0x0000;
  }
  if (linux.seccomp) {
    if (!deps.compileSeccomp) throw new BerthError('EINTERNAL', 'linux.seccomp is set but no seccomp compiler was provided');
    plan.seccomp = deps.compileSeccomp(linux.seccomp);
  }

  if (exec) {
    if (!opts.joinPid) throw new BerthError('EINVALID_ARGUMENT', 'exec: joinPid (the container init pid) is required');
    plan.joinPid = opts.joinPid;
    return plan;
  }

  // ---- create only ----
  plan.rootfs = opts.rootfs;
  if (opts.execFifo) plan.execFifo = opts.execFifo;
  const fresh = newNamespaces(config);
  for (const ns of linux.namespaces ?? []) {
    const flag = NAMESPACE_FLAGS[ns.type];
    if (flag === undefined) throw invalid(`linux.namespaces: unknown type "${String(ns.type)}"`);
    if (ns.path) plan.nsJoin.push({ type: flag, path: ns.path });
    else if (ns.type === 'cgroup') plan.flags |= PF_NEW_CGROUPNS; // C unshares it once in its cgroup
    else plan.cloneFlags |= flag;
  }
  // A new network namespace starts with lo down; runc brings it up (its "loopback" network)
  // and so do we, for the engine and the runtime CLI alike. A joined one is left as it is.
  if (fresh.has('network')) plan.flags |= PF_LOOPBACK_UP;
  if (!fresh.has('mount')) {
    throw invalid('linux.namespaces: berth needs a new mount namespace ("type": "mount" without a path)', 'add {"type": "mount"}');
  }
  if (config.hostname !== undefined && config.hostname !== '') {
    if (!fresh.has('uts')) throw invalid('hostname: setting it needs a new UTS namespace', 'add {"type": "uts"} to linux.namespaces');
    plan.hostname = config.hostname;
  }
  if (config.domainname !== undefined && config.domainname !== '') {
    if (!fresh.has('uts')) throw invalid('domainname: setting it needs a new UTS namespace', 'add {"type": "uts"} to linux.namespaces');
    plan.domainname = config.domainname;
  }
  if (linux.timeOffsets && Object.keys(linux.timeOffsets).length) {
    if (!fresh.has('time')) throw invalid('linux.timeOffsets: needs a new time namespace', 'add {"type": "time"} to linux.namespaces');
    plan.timensOffsets = Object.entries(linux.timeOffsets)
      .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`)
      .join('\n');
  }
  if (linux.rootfsPropagation) {
    const p = PROPAGATION[linux.rootfsPropagation];
    if (p === undefined) throw invalid(`linux.rootfsPropagation: unknown value "${linux.rootfsPropagation}"`);
    plan.rootfsPropagation = p;
  }
  if (config.root?.readonly) plan.flags |= PF_ROOT_READONLY;
  plan.mounts = planMounts(config, opts.bundle ?? process.cwd());
  plan.devices = planDevices(config);
  plan.maskedPaths = linux.maskedPaths ?? [];
  plan.readonlyPaths = linux.readonlyPaths ?? [];
  for (const [k, v] of Object.entries(linux.sysctl ?? {})) {
    if (k.split(/[./]/).includes('..') || k.includes('/..') || k.startsWith('/')) throw invalid(`linux.sysctl: invalid key "${k}"`);
    plan.sysctl.push([k, v]);
  }
  plan.createContainerHooks = (config.hooks?.createContainer ?? []).map(planHook);
  plan.startContainerHooks = (config.hooks?.startContainer ?? []).map(planHook);
  return plan;
}

/** uid_map/gid_map file contents for a new user namespace, or undefined when none is made. */
export function idMapFiles(config: RuntimeConfig): { uidMap: string; gidMap: string } | undefined {
  if (!newNamespaces(config).has('user')) return undefined;
  const fmt = (l: IdMapping[] | undefined, field: string) => {
    if (!l || l.length === 0) throw invalid(`${field}: a new user namespace needs at least one mapping`, 'e.g. [{"containerID": 0, "hostID": 100000, "size": 65536}]');
    return l.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
  };
  return { uidMap: fmt(config.linux?.uidMappings, 'linux.uidMappings'), gidMap: fmt(config.linux?.gidMappings, 'linux.gidMappings') };
}
