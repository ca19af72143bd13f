/**
 * The OCI config.json for an engine container, from its docker-shaped configuration (image
 * config already merged in) and the host paths the engine prepared (mounted rootfs, generated
 * /etc files, volumes, namespaces to join). Defaults are docker's: its capability set, masked
 * and read-only paths, device rules, /dev/shm of 64 MiB, a private cgroup namespace on cgroup
 * v2 hosts, and the default seccomp profile unless `--security-opt seccomp=unconfined`.
 */
import { readFile } from 'node:fs/promises';
import { BerthError } from '../../core/errors';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../spec/default-spec';
import { OCI_VERSION } from '../../spec/state';
import type { LinuxSeccomp, Mount, Namespace, NamespaceType, Rlimit, RuntimeConfig } from '../../spec/types';
import type { ContainerConfig, HostConfig } from '../docker-types';
import { computeCapabilities } from './capabilities';
import { buildResources, deviceFromHost, privilegedDevices } from './resources';
import type { ResolvedUser } from './user';

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;

export interface SpecInput {
  id: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Host path of the mounted root filesystem. */
  rootfs: string;
  user: ResolvedUser;
  /** Host paths of the generated files bind-mounted over /etc/{hosts,hostname,resolv.conf}. */
  etcFiles?: { hosts?: string; hostname?: string; resolvConf?: string };
  /** Volumes, binds and tmpfs mounts, already resolved to OCI form, in mount order. */
  mounts?: Mount[];
  /** Namespaces to join instead of creating (container:NAME modes, a prepared netns). */
  joinNamespaces?: Partial<Record<NamespaceType, string>>;
  cgroupsPath: string;
  /** The host's cgroup layout decides docker's default cgroup namespace mode. */
  cgroupV2: boolean;
  /** The seccomp profile to apply; undefined means unconfined. */
  seccomp: LinuxSeccomp | undefined;
  /** `--init`: host path of the reaper, bind-mounted at /dev/init and run as PID 1. */
  initBinary?: string;
}

function invalid(message: string, hint?: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', message, hint ? { hint } : {});
}

/** Env as docker builds it: PATH default, HOSTNAME, TERM for a tty, HOME from passwd; later entries win. */
export function containerEnv(config: ContainerConfig, hostname: string, home: string): string[] {
  const byKey = new Map<string, string>();
  const put = (e: string) => byKey.set(e.includes('=') ? e.slice(0, e.indexOf('=')) : e, e);
  put(DEFAULT_PATH);
  put(`HOSTNAME=${hostname}`);
  if (config.Tty) put('TERM=xterm');
  for (const e of config.Env ?? []) put(e);
  if (!byKey.has('HOME')) put(`HOME=${home}`);
  return [...byKey.values()];
}

const ULIMIT_NAMES: Record<string, string> = {
  core: 'RLIMIT_CORE', cpu: 'RLIMIT_CPU', data: 'RLIMIT_DATA', fsize: 'RLIMIT_FSIZE', locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK', msgqueue: 'RLIMIT_MSGQUEUE', nice: 'RLIMIT_NICE', nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC', rss: 'RLIMIT_RSS', rtprio: 'RLIMIT_RTPRIO', rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING', stack: 'RLIMIT_STACK', as: 'RLIMIT_AS',
};

export function ulimitType(name: string): string {
  const t = ULIMIT_NAMES[name.toLowerCase()];
  if (!t) throw invalid(`unknown ulimit "${name}"`, `use one of ${Object.keys(ULIMIT_NAMES).join(', ')}`);
  return t;
}

/** Sysctls a container may set: only namespaced ones, and net.* only with its own network. */
function checkSysctls(sysctls: Record<string, string>, hostNet: boolean, hostIpc: boolean): void {
  const ipc = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  for (const key of Object.keys(sysctls)) {
    if (ipc.includes(key) || key.startsWith('fs.mqueue.')) {
      if (hostIpc) throw invalid(`sysctl ${key} is not allowed with --ipc host`, 'it would change the host');
    } else if (key.startsWith('net.')) {
      if (hostNet) throw invalid(`sysctl ${key} is not allowed with --network host`, 'it would change the host');
    } else {
      throw invalid(`sysctl ${key} is not allowed in a container: it is not namespaced`, 'only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* can be set per container');
    }
  }
}

function namespaceMode(mode: string | undefined): 'private' | 'host' | 'container' | 'none' {
  if (!mode || mode === 'private' || mode === 'shareable' || mode === 'bridge' || mode === 'default') return 'private';
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'none';
  if (mode.startsWith('container:')) return 'container';
  return 'private';
}

/** Namespace modes each flag takes; anything else is refused rather than quietly made private. */
const NAMESPACE_MODES: Record<string, { field: string; modes: string[] }> = {
  pid: { field: 'PidMode', modes: ['', 'private', 'host'] },
  ipc: { field: 'IpcMode', modes: ['', 'private', 'shareable', 'host', 'none'] },
  uts: { field: 'UTSMode', modes: ['', 'private', 'host'] },
};

/** Checks --pid/--ipc/--uts values and refuses --userns, which the engine does not implement. */
export function checkNamespaceModes(hc: HostConfig): void {
  for (const [flag, { field, modes }] of Object.entries(NAMESPACE_MODES)) {
    const v = (hc as unknown as Record<string, string | undefined>)[field] ?? '';
    if (modes.includes(v)) continue;
    if (v.startsWith('container:') && v.length > 'container:'.length) continue;
    throw invalid(`invalid --${flag} "${v}"`, `use ${modes.filter(Boolean).join(', ')} or container:NAME`);
  }
  const userns = hc.UsernsMode ?? '';
  if (userns !== '' && userns !== 'host') {
    // Accepting it would run the container as real root while the user asked for remapped ids.
    throw new BerthError('EUNSUPPORTED', `--userns ${userns}: user namespaces are not supported by the engine yet (the runtime has them; the engine does not map ids or chown layers)`, {
      hint: 'drop --userns (containers then run without a user namespace, as docker does by default), or use berth-runtime with a config.json that has linux.uidMappings',
    });
  }
}

function namespaces(input: SpecInput): Namespace[] {
  const hc = input.hostConfig;
  const join = input.joinNamespaces ?? {};
  const out: Namespace[] = [{ type: 'mount' }];
  const add = (type: NamespaceType, mode: string | undefined) => {
    const m = namespaceMode(mode);
    if (m === 'host') return;
    const path = join[type];
    if (m === 'container' && !path) throw new BerthError('EINTERNAL', `${type} namespace mode ${mode} needs the other container's namespace path`);
    out.push(path ? { type, path } : { type });
  };
  add('pid', hc.PidMode);
  add('network', hc.NetworkMode);
  add('ipc', hc.IpcMode);
  add('uts', hc.UTSMode);
  const cgroupns = hc.CgroupnsMode || (input.cgroupV2 ? 'private' : 'host');
  if (cgroupns === 'private') out.push({ type: 'cgroup' });
  return out;
}

function baseMounts(hc: HostConfig): Mount[] {
  const sysRo = hc.Privileged ? [] : ['ro'];
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysRo] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', ...sysRo] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
  if (namespaceMode(hc.IpcMode) !== 'host' && hc.IpcMode !== 'none' && namespaceMode(hc.IpcMode) !== 'container') {
    const size = hc.ShmSize && hc.ShmSize > 0 ? hc.ShmSize : DEFAULT_SHM_SIZE;
    mounts.push({ destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${size}`] });
  }
  return mounts;
}

/**
 * label= and apparmor= are accepted where the host has no SELinux / AppArmor (docker ignores
 * them there too: there is nothing to confine with). Where the host has one, the engine would
 * have to apply the profile and does not yet: refusing beats running unconfined unnoticed.
 */
async function checkLsmOption(key: 'label' | 'apparmor', value: string): Promise<void> {
  const lsmActive = async (path: string, want?: string): Promise<boolean> => {
    try {
      const v = (await readFile(path, 'utf8')).trim();
      return want === undefined || v === want;
    } catch {
      return false;
    }
  };
  const harmless = key === 'apparmor' ? value === 'unconfined' : value === 'disable';
  const active = key === 'apparmor' ? await lsmActive('/sys/module/apparmor/parameters/enabled', 'Y') : await lsmActive('/sys/fs/selinux/enforce');
  if (active && !harmless) {
    throw new BerthError('EUNSUPPORTED', `--security-opt ${key}=${value}: this host has ${key === 'apparmor' ? 'AppArmor' : 'SELinux'} but Berth cannot apply ${key === 'apparmor' ? 'profiles' : 'labels'} yet`, {
      hint: `drop the option, or use ${key === 'apparmor' ? 'apparmor=unconfined' : 'label=disable'} to say so explicitly`,
    });
  }
}

/** --security-opt parsed; the label= and apparmor= options are checked against the host by the caller (checkLsmOption). */
function securityOptions(hc: HostConfig): { noNewPrivileges: boolean; seccompUnconfined: boolean; seccompFile?: string; lsm: Array<['label' | 'apparmor', string]> } {
  let noNewPrivileges = false;
  let seccompUnconfined = false;
  let seccompFile: string | undefined;
  const lsm: Array<['label' | 'apparmor', string]> = [];
  for (const opt of hc.SecurityOpt ?? []) {
    const [key, value] = opt.includes('=') ? [opt.slice(0, opt.indexOf('=')), opt.slice(opt.indexOf('=') + 1)] : opt.split(':', 2);
    switch (key) {
      case 'no-new-privileges':
        noNewPrivileges = value === undefined || value === '' || value === 'true';
        break;
      case 'seccomp':
        if (value === 'unconfined') seccompUnconfined = true;
        else if (value) seccompFile = value;
        break;
      case 'label':
      case 'apparmor':
        lsm.push([key, value ?? '']);
        break;
      default:
        throw invalid(`invalid --security-opt "${opt}"`, 'use no-new-privileges[=true], seccomp=unconfined|PATH, label=..., apparmor=...');
    }
  }
  return { noNewPrivileges, seccompUnconfined, ...(seccompFile ? { seccompFile } : {}), lsm };
}

/** What the engine needs to know about --security-opt before building the spec. */
export function seccompChoice(hc: HostConfig): { kind: 'default' } | { kind: 'unconfined' } | { kind: 'file'; path: string } {
  if (hc.Privileged) return { kind: 'unconfined' };
  const s = securityOptions(hc);
  if (s.seccompUnconfined) return { kind: 'unconfined' };
  if (s.seccompFile) return { kind: 'file', path: s.seccompFile };
  return { kind: 'default' };
}

export function processArgs(config: ContainerConfig): string[] {
  const args = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (!args.length) throw invalid('no command specified', 'give a command after the image name, or use an image with CMD or ENTRYPOINT');
  return args;
}

export async function buildOciSpec(input: SpecInput): Promise<RuntimeConfig> {
  const { config, hostConfig: hc, user } = input;
  const hostname = config.Hostname || input.id.slice(0, 12);
  const caps = computeCapabilities({ capAdd: hc.CapAdd, capDrop: hc.CapDrop, privileged: hc.Privileged });
  const sec = securityOptions(hc);
  for (const [key, value] of sec.lsm) await checkLsmOption(key, value);
  checkNamespaceModes(hc);
  const hostNet = namespaceMode(hc.NetworkMode) === 'host';
  checkSysctls(hc.Sysctls ?? {}, hostNet, namespaceMode(hc.IpcMode) === 'host');

  let args = processArgs(config);
  const mounts = baseMounts(hc);
  if (input.initBinary) {
    mounts.push({ destination: '/dev/init', type: 'bind', source: input.initBinary, options: ['rbind', 'ro', 'nosuid', 'nodev'] });
    args = ['/dev/init', '--', ...args];
  }
  const etc = input.etcFiles ?? {};
  const etcMount = (dest: string, source: string | undefined) =>
    source && mounts.push({ destination: dest, type: 'bind', source, options: ['rbind', 'rprivate', ...(hc.ReadonlyRootfs ? ['ro'] : [])] });
  // After the user's mounts, so that a volume over /etc keeps them visible (docker mounts by
  // depth: /etc before /etc/hosts); a mount of the user's at one of them wins (docker's rule).
  const own = new Set((input.mounts ?? []).map((m) => m.destination.replace(/\/+$/, '')));
  mounts.push(...(input.mounts ?? []));
  for (const [dest, source] of [['/etc/resolv.conf', etc.resolvConf], ['/etc/hostname', etc.hostname], ['/etc/hosts', etc.hosts]] as const) {
    if (!own.has(dest)) etcMount(dest, source);
  }

  const rlimits: Rlimit[] = (hc.Ulimits ?? []).map((u) => ({ type: ulimitType(u.Name), soft: u.Soft, hard: u.Hard }));
  const hostDevices = await Promise.all((hc.Devices ?? []).map(deviceFromHost));
  // --privileged: all the host's nodes (the device cgroup allows everything); --device entries win.
  const devices = [...(hc.Privileged ? (await privilegedDevices()).filter((d) => !hostDevices.some((h) => h.device.path === d.path)) : []), ...hostDevices.map((d) => d.device)];

  const spec: RuntimeConfig = {
    ociVersion: OCI_VERSION,
    root: { path: input.rootfs, readonly: hc.ReadonlyRootfs === true },
    process: {
      terminal: config.Tty === true,
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args,
      env: containerEnv(config, hostname, user.home),
      cwd: config.WorkingDir || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: sec.noNewPrivileges,
      ...(rlimits.length ? { rlimits } : {}),
      ...(hc.OomScoreAdj ? { oomScoreAdj: hc.OomScoreAdj } : {}),
      ...(hc.ConsoleSize && config.Tty ? { consoleSize: { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] } } : {}),
    },
    mounts,
    linux: {
      namespaces: namespaces(input),
      resources: buildResources(hc, hostDevices),
      cgroupsPath: input.cgroupsPath,
      ...(devices.length ? { devices } : {}),
      ...(hc.Sysctls && Object.keys(hc.Sysctls).length ? { sysctl: { ...hc.Sysctls } } : {}),
      ...(input.seccomp ? { seccomp: input.seccomp } : {}),
      maskedPaths: hc.Privileged ? [] : (hc.MaskedPaths ?? DEFAULT_MASKED_PATHS),
      readonlyPaths: hc.Privileged ? [] : (hc.ReadonlyPaths ?? DEFAULT_READONLY_PATHS),
      rootfsPropagation: 'rprivate',
    },
    ...(hc.Annotations && Object.keys(hc.Annotations).length ? { annotations: { ...hc.Annotations } } : {}),
  };
  // Only in a UTS namespace of its own: joining another container's must not rename that one.
  if (namespaceMode(hc.UTSMode) === 'private') {
    spec.hostname = hostname;
    if (config.Domainname) spec.domainname = config.Domainname;
  }
  return spec;
}
