/**
 * Pure decoders of what the kernel shows about a process (/proc/PID/status, mountinfo,
 * cgroup, uid_map) for `inspect --anatomy`. No file access here, so each one is unit-tested
 * on captured text.
 */
import { ALL_CAPABILITIES } from '../../spec/capabilities';

/** Capability names of a /proc/PID/status mask ("00000000a80425fb"); unknown bits as "CAP_<n>". */
export function decodeCapabilities(hex: string): string[] {
  let mask: bigint;
  try {
    mask = BigInt(`0x${hex.trim() || '0'}`);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) out.push(ALL_CAPABILITIES[bit] ?? `CAP_${bit}`);
  }
  return out;
}

export type CapabilitySet = 'effective' | 'permitted' | 'inheritable' | 'bounding' | 'ambient';

export interface ProcessSecurity {
  capabilities: Record<CapabilitySet, string[]>;
  noNewPrivs: boolean;
  /** 0 disabled, 1 strict, 2 filter (Seccomp: in status). */
  seccompMode: 0 | 1 | 2;
  /** Number of attached seccomp filters (Seccomp_filters:, Linux 5.9+), undefined if not shown. */
  seccompFilters: number | undefined;
  /** real, effective, saved, filesystem. */
  uids: number[];
  gids: number[];
  groups: number[];
}

/** The security-relevant lines of /proc/PID/status. */
export function parseProcStatus(text: string): ProcessSecurity {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const nums = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean).map(Number);
  const mode = Number(fields.get('Seccomp') ?? 0);
  const filters = fields.get('Seccomp_filters');
  return {
    capabilities: {
      effective: decodeCapabilities(fields.get('CapEff') ?? ''),
      permitted: decodeCapabilities(fields.get('CapPrm') ?? ''),
      inheritable: decodeCapabilities(fields.get('CapInh') ?? ''),
      bounding: decodeCapabilities(fields.get('CapBnd') ?? ''),
      ambient: decodeCapabilities(fields.get('CapAmb') ?? ''),
    },
    noNewPrivs: fields.get('NoNewPrivs') === '1',
    seccompMode: mode === 1 || mode === 2 ? mode : 0,
    seccompFilters: filters === undefined ? undefined : Number(filters),
    uids: nums('Uid'),
    gids: nums('Gid'),
    groups: nums('Groups'),
  };
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
export function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export interface MountEntry {
  id: number;
  parent: number;
  /** major:minor */
  device: string;
  /** The path inside the filesystem that is mounted (a bind mount's source subtree). */
  root: string;
  target: string;
  options: string[];
  fstype: string;
  source: string;
  superOptions: string[];
}

/** /proc/PID/mountinfo (proc(5)): fields up to the optional ones, "-", then type, source, options. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    if (dash < 0 || f.length < dash + 3) continue;
    out.push({
      id: Number(f[0]),
      parent: Number(f[1]),
      device: f[2]!,
      root: unescapeMountField(f[3]!),
      target: unescapeMountField(f[4]!),
      options: f[5]!.split(','),
      fstype: f[dash + 1]!,
      source: unescapeMountField(f[dash + 2]!),
      superOptions: (f[dash + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return out;
}

export interface OverlayLayout {
  /** Top first, as overlayfs lists them. */
  lowerdirs: string[];
  upperdir: string | undefined;
  workdir: string | undefined;
}

/**
 * The directories of an overlay mount from its super options: `lowerdir=a:b` (mount(2)) or
 * one `lowerdir+=` per layer (the new mount API, Linux 6.8+). Colons and commas inside
 * paths are backslash-escaped by the kernel.
 */
export function parseOverlayOptions(options: string[]): OverlayLayout {
  const lowers: string[] = [];
  let upperdir: string | undefined;
  let workdir: string | undefined;
  for (const o of options) {
    const i = o.indexOf('=');
    const key = i < 0 ? o : o.slice(0, i);
    const value = i < 0 ? '' : o.slice(i + 1);
    if (key === 'lowerdir') lowers.push(...value.split(/(?<!\\):/).map((p) => p.replace(/\\(.)/g, '$1')));
    else if (key === 'lowerdir+') lowers.push(value.replace(/\\(.)/g, '$1'));
    else if (key === 'upperdir') upperdir = value;
    else if (key === 'workdir') workdir = value;
  }
  return { lowerdirs: lowers, upperdir, workdir };
}

/**
 * Mounts runtimes add to hide host information (`maskedPaths`, `readonlyPaths`), told
 * apart from the container's own mounts so the anatomy lists them in one line each:
 * masked directories are empty read-only tmpfs mounts, masked files are binds of a /dev
 * node over them, read-only paths are read-only binds of a proc or sys subtree.
 */
export function classifyMount(m: MountEntry): 'masked' | 'readonly' | 'mount' {
  const ro = m.options.includes('ro');
  if (m.fstype === 'tmpfs' && m.source === 'none' && ro && m.target !== '/') return 'masked';
  if (m.root === '/null' && m.target.startsWith('/proc/')) return 'masked';
  if ((m.fstype === 'proc' || m.fstype === 'sysfs') && m.root !== '/' && ro) return 'readonly';
  return 'mount';
}

export interface CgroupMembership {
  /** Hierarchy id; 0 is cgroup2. */
  hierarchy: number;
  /** v1 controllers of the hierarchy (named hierarchies such as name=systemd included); [] for cgroup2. */
  controllers: string[];
  path: string;
}

/** /proc/PID/cgroup: "id:controllers:path" lines; paths relative to the reader's cgroup namespace. */
export function parseProcCgroup(text: string): CgroupMembership[] {
  const out: CgroupMembership[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (m) out.push({ hierarchy: Number(m[1]), controllers: m[2] ? m[2].split(',') : [], path: m[3]! });
  }
  return out;
}

export interface IdMapEntry {
  inside: number;
  outside: number;
  count: number;
}

/** /proc/PID/uid_map or gid_map. */
export function parseIdMap(text: string): IdMapEntry[] {
  const out: IdMapEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3 && f.every((x) => /^\d+$/.test(x))) out.push({ inside: Number(f[0]), outside: Number(f[1]), count: Number(f[2]) });
  }
  return out;
}

/** The initial user namespace's map: every id is itself (no user namespace in effect). */
export function isIdentityMap(map: IdMapEntry[]): boolean {
  return map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295;
}

/** "user:[4026531837]" -> 4026531837. */
export function namespaceInode(link: string): number | undefined {
  const m = /\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : undefined;
}

/** Kernel "no limit" values: v1 prints a page-rounded LLONG_MAX, v2 prints "max". */
export function isUnlimited(value: string): boolean {
  if (value === 'max' || value === '-1') return true;
  return /^\d{19}$/.test(value) && BigInt(value) >= 0x7fff_ffff_ffff_f000n;
}

/** Bytes as the nearest binary unit ("64 MiB"), for limit files that hold byte counts. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** smaps_rollup / status "Key:   1234 kB" lines -> KiB by key. */
export function parseKbLines(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
