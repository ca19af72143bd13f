/**
 * `inspect --anatomy`: how a running container is made on this machine, read from the kernel
 * (not from our own records, which say what we asked for): its namespaces next to ours, its
 * cgroups with their limit files, its mounts with the root filesystem's layers, capability
 * sets, seccomp, no_new_privs, id maps, and its monitor's memory. The engine's records only
 * name things (which profile we chose, which layer a directory holds).
 */
import { readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { BerthError } from '../../core/errors';
import type { LinuxSeccomp, RuntimeConfig } from '../../spec/types';
import { DEFAULT_CAPABILITIES } from '../../spec/capabilities';
import type { RecordContext } from '../containers/context';
import { getContainer } from '../containers/lookup';
import { containerName, type ContainerRecord } from '../containers/record';
import { runPaths } from '../containers/runtime';
import { seccompChoice } from '../spec/oci';
import { cgroupPlaces, type CgroupPlace } from './cgroups';
import {
  classifyMount, isIdentityMap, namespaceInode, parseIdMap, parseKbLines, parseMountinfo, parseOverlayOptions, parseProcCgroup,
  parseProcStatus, type IdMapEntry, type MountEntry, type ProcessSecurity,
} from './decode';
import { compareStrings } from '../../core/compare';

export const NAMESPACE_TYPES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

export interface NamespaceView {
  type: (typeof NAMESPACE_TYPES)[number];
  container: number | undefined;
  host: number | undefined;
  /** Same inode as ours: the container shares it with the host (e.g. --pid host). */
  shared: boolean;
}

export interface LayerView {
  /** The overlay lowerdir as mounted. */
  dir: string;
  chainId?: string;
  diffId?: string;
  size?: number;
}

export interface RootfsView {
  fstype: string;
  source: string;
  readOnly: boolean;
  /** Top first. */
  layers: LayerView[];
  upperdir?: string;
  workdir?: string;
}

export interface SeccompView {
  /** From the kernel: 0 disabled, 1 strict, 2 filter. */
  mode: 0 | 1 | 2;
  filters: number | undefined;
  /** What the engine chose: Berth's default profile, none, or the user's file. */
  profile: 'default' | 'unconfined' | 'custom';
  file?: string;
  defaultAction?: string;
  /** Rules (syscalls entries) and the syscall names they cover. */
  rules: number;
  syscalls: number;
  architectures: string[];
}

export interface ContainerAnatomy {
  id: string;
  name: string;
  pid: number;
  runtime: string;
  namespaces: NamespaceView[];
  cgroups: CgroupPlace[];
  rootfs: RootfsView | undefined;
  mounts: MountEntry[];
  masked: string[];
  readonlyPaths: string[];
  security: ProcessSecurity;
  /** Capabilities beyond / missing from docker's default set (effective). */
  capabilityDelta: { added: string[]; dropped: string[] };
  seccomp: SeccompView;
  idMaps: { uid: IdMapEntry[]; gid: IdMapEntry[]; identity: boolean };
  shim: { pid: number; rssKiB?: number; pssKiB?: number } | undefined;
}

function read(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await read(path);
  } catch {
    return undefined;
  }
}

async function nsInode(pid: number | 'self', type: string): Promise<number | undefined> {
  try {
    return namespaceInode(await readlink(`/proc/${pid}/ns/${type}`));
  } catch {
    return undefined;
  }
}

async function bundleConfig(engine: RecordContext, rec: ContainerRecord): Promise<RuntimeConfig | undefined> {
  const text = await readOptional(join(runPaths(engine.runRoot, rec.Id).bundle, 'config.json'));
  return text ? (JSON.parse(text) as RuntimeConfig) : undefined;
}

function seccompView(rec: ContainerRecord, security: ProcessSecurity, profile: LinuxSeccomp | undefined): SeccompView {
  const choice = seccompChoice(rec.HostConfig);
  const rules = profile?.syscalls ?? [];
  return {
    mode: security.seccompMode,
    filters: security.seccompFilters,
    profile: choice.kind === 'file' ? 'custom' : choice.kind,
    ...(choice.kind === 'file' ? { file: choice.path } : {}),
    ...(profile ? { defaultAction: profile.defaultAction } : {}),
    rules: rules.length,
    syscalls: rules.reduce((n, r) => n + (r.names?.length ?? 0), 0),
    architectures: profile?.architectures ?? [],
  };
}

/** The layer a lowerdir holds, through the snapshotter's index link (l/<hex> -> ../sha256/<hex>/fs). */
async function layerOf(engine: RecordContext, dir: string): Promise<LayerView> {
  const abs = isAbsolute(dir) ? dir : join(engine.snapshotter.dir, dir);
  let real = abs;
  try {
    real = await realpath(abs);
  } catch {
    return { dir };
  }
  const hex = basename(dirname(real));
  if (basename(real) !== 'fs' || !/^[0-9a-f]{64}$/.test(hex)) return { dir };
  const layer = engine.snapshotter.layer(`sha256:${hex}`);
  return { dir, chainId: `sha256:${hex}`, ...(layer ? { diffId: layer.diffId, size: layer.size } : {}) };
}

async function rootfsView(engine: RecordContext, mounts: MountEntry[]): Promise<RootfsView | undefined> {
  const root = [...mounts].reverse().find((m) => m.target === '/');
  if (!root) return undefined;
  const view: RootfsView = { fstype: root.fstype, source: root.source, readOnly: root.options.includes('ro'), layers: [] };
  if (root.fstype === 'overlay') {
    const o = parseOverlayOptions(root.superOptions);
    view.layers = await Promise.all(o.lowerdirs.map((d) => layerOf(engine, d)));
    if (o.upperdir) view.upperdir = o.upperdir;
    if (o.workdir) view.workdir = o.workdir;
  }
  return view;
}

/** The anatomy of a running container; ESTATE when it does not run. */
export async function containerAnatomy(engine: RecordContext, query: string): Promise<ContainerAnatomy> {
  const rec = await getContainer(engine, query);
  const pid = rec.State.Pid;
  if (!rec.State.Running || !pid) {
    throw new BerthError('ESTATE', `container ${containerName(rec)} is not running: its anatomy is read from its live process`, { hint: `start it first: berth start ${containerName(rec)}` });
  }
  let status: string;
  let mountinfo: string;
  let cgroup: string;
  try {
    status = await read(`/proc/${pid}/status`);
    mountinfo = await read(`/proc/${pid}/mountinfo`);
    cgroup = await read(`/proc/${pid}/cgroup`);
  } catch (e) {
    throw new BerthError('ESTATE', `container ${containerName(rec)}: its process ${pid} is gone`, { cause: e, hint: 'it exited while we looked; see berth ps -a' });
  }
  const security = parseProcStatus(status);
  const mounts = parseMountinfo(mountinfo);
  const hostMounts = parseMountinfo(await read('/proc/self/mountinfo'));
  const config = await bundleConfig(engine, rec);
  const uid = parseIdMap((await readOptional(`/proc/${pid}/uid_map`)) ?? '');
  const gid = parseIdMap((await readOptional(`/proc/${pid}/gid_map`)) ?? '');
  const eff = security.capabilities.effective;
  let shim: ContainerAnatomy['shim'];
  if (rec.Berth.shimPid) {
    const smaps = parseKbLines((await readOptional(`/proc/${rec.Berth.shimPid}/smaps_rollup`)) ?? '');
    shim = { pid: rec.Berth.shimPid, ...(smaps.Rss !== undefined ? { rssKiB: smaps.Rss } : {}), ...(smaps.Pss !== undefined ? { pssKiB: smaps.Pss } : {}) };
  }
  const namespaces: NamespaceView[] = [];
  for (const type of NAMESPACE_TYPES) {
    const container = await nsInode(pid, type);
    const host = await nsInode('self', type);
    namespaces.push({ type, container, host, shared: container !== undefined && container === host });
  }
  return {
    id: rec.Id,
    name: containerName(rec),
    pid,
    runtime: rec.Berth.runtime,
    namespaces,
    cgroups: (await cgroupPlaces(parseProcCgroup(cgroup), hostMounts)).sort((x, y) => x.version - y.version || compareStrings(x.controllers.join(), y.controllers.join())),
    rootfs: await rootfsView(engine, mounts),
    mounts: mounts.filter((m) => m.target !== '/' && classifyMount(m) === 'mount'),
    masked: mounts.filter((m) => classifyMount(m) === 'masked').map((m) => m.target),
    readonlyPaths: mounts.filter((m) => classifyMount(m) === 'readonly').map((m) => m.target),
    security,
    capabilityDelta: { added: eff.filter((c) => !DEFAULT_CAPABILITIES.includes(c)), dropped: DEFAULT_CAPABILITIES.filter((c) => !eff.includes(c)) },
    seccomp: seccompView(rec, security, config?.linux?.seccomp),
    idMaps: { uid, gid, identity: isIdentityMap(uid) && isIdentityMap(gid) },
    shim,
  };
}
