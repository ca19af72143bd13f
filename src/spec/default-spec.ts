/**
 * The config.json that `berth-runtime spec` writes: the same shape as `runc spec` (an
 * interactive `sh`, a read-only rootfs at ./rootfs, the standard /proc, /dev, /sys mounts and
 * namespaces), but with Docker's default capabilities and masked/read-only paths so that the
 * example is also a sensible starting point for real use.
 */
import type { Mount, RuntimeConfig } from './types';
import { OCI_VERSION } from './state';
import { ALL_CAPABILITIES, CAPABILITY_NUMBERS, DEFAULT_CAPABILITIES } from './capabilities';

export { ALL_CAPABILITIES, CAPABILITY_NUMBERS, DEFAULT_CAPABILITIES };

/** Docker's list: kernel interfaces that leak host information or allow host-wide actions. */
export const DEFAULT_MASKED_PATHS: string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's list: readable for tools that inspect them, but not writable from the container. */
export const DEFAULT_READONLY_PATHS: string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function defaultSpec(opts: { rootless?: boolean } = {}): RuntimeConfig {
  const caps = [...DEFAULT_CAPABILITIES];
  const spec: RuntimeConfig = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'berth',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'cgroup' }],
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  return opts.rootless ? toRootless(spec) : spec;
}

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/**
 * What runc's --rootless changes: an unprivileged user can create a user namespace (mapping
 * only its own ids to root), but not a network namespace with connectivity, a fresh sysfs,
 * mounts owned by other ids, or cgroups.
 */
function toRootless(spec: RuntimeConfig): RuntimeConfig {
  const linux = spec.linux!;
  linux.namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user');
  linux.namespaces.push({ type: 'user' });
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }];
  linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }];
  delete linux.resources;
  spec.mounts = (spec.mounts ?? []).map((m) => {
    // sysfs can only be mounted by the owner of the network namespace: bind the host's instead.
    if (m.destination === '/sys') {
      return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    }
    // uid=/gid= options would name ids that are not mapped in the namespace.
    const options = m.options?.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
    return options ? { ...m, options } : m;
  });
  return spec;
}
