/**
 * The cgroupfs manager for all three layouts. A v1 host has one directory per hierarchy, a v2 host
 * one unified directory, and a hybrid host both: v1 directories for the v1 controllers plus a
 * unified directory that holds the process and drives whatever controllers only cgroup2 has.
 * Each resource is routed to the hierarchy that owns its controller; a controller the config
 * needs but the host lacks is an error naming the resource field.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../core/errors';
import type { LinuxResources } from '../spec/types';
import { hasFile, readCgroupFile, readKeyValues, readOptional, writeCgroupFile } from './files';
import { DEFAULT_MOUNT_ROOT, detectLayout, unifiedControllers, v1Hierarchies, v1NamedHierarchies } from './layout';
import { parseCgroupsPath, readSelfCgroups, resolveInHierarchy } from './path';
import { collectPids, mkdirLevels, removeCreated, removeTree } from './tree';
import { emptyStats, readStatsV1, readStatsV2 } from './stats';
import type { CgroupLayout, CgroupManager, CgroupOptions, CgroupStats } from './types';
import * as v1 from './v1';
import * as v2 from './v2';
import { normalizeDeviceRule } from './devices';
import { withoutUnset } from './unset';
import { deviceFilterProgram, encodeProgram } from './devices-bpf';
import { sys } from '../sys';

/** Loads and attaches a cgroup device program (native/sys/bpf.c); injectable for tests. */
export type DeviceProgramAttacher = (cgroupDir: string, program: Buffer) => void;

/** cgroup2 controllers a new container gets enabled, so limits and stats work and `update` can add limits. */
const V2_CONTROLLERS = ['cpu', 'cpuset', 'io', 'memory', 'pids', 'hugetlb', 'rdma', 'misc'];

interface V1Dir {
  root: string;
  rel: string;
  dir: string;
  controllers: string[];
  /** A named hierarchy's name ("name=systemd"); it has no controllers. */
  name?: string;
}

interface UnifiedDir {
  root: string;
  rel: string;
  dir: string;
  /** Controllers this manager drives through cgroup2 (all of them on v2; the v2-only ones on hybrid). */
  controllers: Set<string>;
}

/** Where one group of settings goes. */
type Route = { kind: 'v1'; dir: string } | { kind: 'v2'; dir: string };

const FREEZE_TIMEOUT_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function has(obj: object | undefined): boolean {
  return !!obj && Object.values(obj).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
}

export class FsCgroupManager implements CgroupManager {
  readonly layout: CgroupLayout;
  readonly path: string;
  private readonly v1: V1Dir[] = [];
  private readonly unified: UnifiedDir | undefined;
  private readonly warn: (msg: string) => void;

  constructor(
    opts: CgroupOptions,
    private readonly attachDevices?: DeviceProgramAttacher,
  ) {
    const mountRoot = opts.mountRoot ?? DEFAULT_MOUNT_ROOT;
    this.layout = opts.layout ?? detectLayout(mountRoot);
    this.warn = opts.warn ?? (() => {});
    const spec = parseCgroupsPath(opts.cgroupsPath, opts.id);
    const self = spec.relative ? readSelfCgroups(opts.selfCgroupFile) : [];
    if (this.layout !== 'v2') {
      for (const h of v1Hierarchies(mountRoot)) {
        const rel = resolveInHierarchy(spec, self, h.controllers);
        this.v1.push({ root: h.root, rel, dir: join(h.root, rel), controllers: h.controllers });
      }
      // Named hierarchies (name=systemd) after the controllers': nothing to limit there, but
      // the container gets its own cgroup, which is all its cgroup mount will show.
      for (const h of v1NamedHierarchies(mountRoot)) {
        const rel = resolveInHierarchy(spec, self, [h.name]);
        this.v1.push({ root: h.root, rel, dir: join(h.root, rel), controllers: [], name: h.name });
      }
    }
    if (this.layout !== 'v1') {
      const root = this.layout === 'v2' ? mountRoot : join(mountRoot, 'unified');
      const rel = resolveInHierarchy(spec, self, []);
      const available = unifiedControllers(root);
      const inV1 = new Set(this.v1.flatMap((h) => h.controllers));
      const controllers = new Set([...available].filter((c) => !inV1.has(c)));
      this.unified = { root, rel, dir: join(root, rel), controllers };
    }
    this.path = this.layout === 'v2' ? this.unified!.rel : (this.v1[0]?.rel ?? this.unified?.rel ?? spec.path);
  }

  paths(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of this.v1) for (const c of h.controllers) out[c] = h.dir;
    // Named hierarchies too: an exec'd process joins the container's cgroup in every
    // hierarchy its init is in (or it would show the host's root there, as runc avoids).
    for (const h of this.v1) if (h.name) out[h.name] = h.dir;
    if (this.unified) out.unified = this.unified.dir;
    return out;
  }

  private v1Dir(controller: string): string | undefined {
    return this.v1.find((h) => h.controllers.includes(controller))?.dir;
  }

  /** v1 controller name (or v2 name for cgroup2), or undefined when the host has neither. */
  private route(v1Name: string | undefined, v2Name: string | undefined): Route | undefined {
    const d = v1Name ? this.v1Dir(v1Name) : undefined;
    if (d) return { kind: 'v1', dir: d };
    if (this.unified && v2Name && this.unified.controllers.has(v2Name)) return { kind: 'v2', dir: this.unified.dir };
    return undefined;
  }

  private need(field: string, controller: string, v1Name: string | undefined, v2Name: string | undefined): Route {
    const r = this.route(v1Name, v2Name);
    if (!r) {
      throw new BerthError('ECGROUP', `linux.resources.${field}: ${controller} controller not available`, {
        hint: `this host (cgroup ${this.layout}) does not offer the ${controller} controller; remove linux.resources.${field} or enable the controller`,
      });
    }
    return r;
  }

  /** Works out every write's destination first, so a missing controller fails before anything changes. */
  private plan(given: LinuxResources): Array<() => void> {
    const steps: Array<() => void> = [];
    // Zeros that runc reads as "not set" (dockerd sends them for every container) are dropped
    // first, so they neither demand a controller nor reach a file this kernel lacks.
    const res = withoutUnset(given);
    this.checkUnified(res);
    const warn = this.warn;
    if (has(res.memory)) {
      const r = this.need('memory', 'memory', 'memory', 'memory');
      const mem = res.memory!;
      steps.push(() => {
        if (r.kind === 'v1') v1.applyMemoryV1(r.dir, mem, warn);
        else {
          v2.applyMemoryV2(r.dir, mem, warn);
          if (hasFile(r.dir, 'memory.oom.group')) writeCgroupFile(r.dir, 'memory.oom.group', 0);
        }
      });
    }
    const cpu = res.cpu;
    if (cpu) {
      const { cpus, mems, ...sched } = cpu;
      if (has(sched)) {
        const r = this.need('cpu', 'cpu', 'cpu', 'cpu');
        steps.push(() => (r.kind === 'v1' ? v1.applyCpuV1(r.dir, sched, warn) : v2.applyCpuV2(r.dir, sched)));
      }
      if (cpus || mems) {
        const r = this.need('cpu.cpus/mems', 'cpuset', 'cpuset', 'cpuset');
        steps.push(() => v1.applyCpuset(r.dir, { cpus, mems }));
      }
    }
    if (res.pids) {
      const r = this.need('pids', 'pids', 'pids', 'pids');
      steps.push(() => v1.applyPids(r.dir, res.pids!));
    }
    if (has(res.blockIO)) {
      const r = this.need('blockIO', 'blkio/io', 'blkio', 'io');
      steps.push(() => (r.kind === 'v1' ? v1.applyBlkioV1(r.dir, res.blockIO!, warn) : v2.applyIoV2(r.dir, res.blockIO!, warn)));
    }
    if (res.hugepageLimits?.length) {
      const r = this.need('hugepageLimits', 'hugetlb', 'hugetlb', 'hugetlb');
      steps.push(() => (r.kind === 'v1' ? v1.applyHugetlbV1(r.dir, res.hugepageLimits!) : v2.applyHugetlbV2(r.dir, res.hugepageLimits!)));
    }
    if (res.network?.classID) {
      const r = this.need('network.classID', 'net_cls', 'net_cls', undefined);
      steps.push(() => v1.applyNetCls(r.dir, res.network!.classID!));
    }
    if (res.network?.priorities?.length) {
      const r = this.need('network.priorities', 'net_prio', 'net_prio', undefined);
      steps.push(() => v1.applyNetPrio(r.dir, res.network!.priorities!));
    }
    if (res.rdma && Object.keys(res.rdma).length) {
      const r = this.need('rdma', 'rdma', 'rdma', 'rdma');
      steps.push(() => v1.applyRdma(r.dir, res.rdma!));
    }
    if (res.devices?.length) steps.push(this.planDevices(res.devices));
    if (res.unified) {
      const u = this.unified!; // checkUnified refused unified settings on a host without cgroup2
      steps.push(() => v2.applyUnified(u.dir, res.unified!));
    }
    return steps;
  }

  /**
   * `unified` holds cgroup2 file names. runc refuses them outright unless the host is pure v2
   * ("invalid configuration"); Berth also drives the cgroup2 half of a hybrid host, but only
   * for controllers that live there: a key of a controller mounted as v1 (memory.min while
   * memory is a v1 hierarchy) would either fail on a missing file after the cgroup was made or
   * split one controller's settings over two hierarchies.
   */
  private checkUnified(res: LinuxResources): void {
    if (!res.unified) return;
    const u = this.unified;
    if (!u || this.layout === 'v1') {
      throw new BerthError('ECGROUP', 'invalid configuration: linux.resources.unified cannot be used on a cgroup v1 host', {
        hint: 'unified settings are cgroup2 file names; on a cgroup v1 host use the other linux.resources fields',
      });
    }
    if (this.layout === 'v2') return;
    for (const key of Object.keys(res.unified)) {
      const controller = key.split('.')[0] ?? '';
      if (controller === 'cgroup' || u.controllers.has(controller)) continue;
      const inV1 = this.v1.some((h) => h.controllers.includes(controller));
      throw new BerthError('ECGROUP', `invalid configuration: linux.resources.unified["${key}"]: ${inV1 ? `the ${controller} controller is mounted as cgroup v1 on this host` : `this host's cgroup2 hierarchy has no ${controller} controller`}`, {
        hint: inV1 ? `use the v1 field of linux.resources for ${controller} settings on this hybrid host` : `remove "${key}" from linux.resources.unified`,
      });
    }
  }

  private planDevices(devices: NonNullable<LinuxResources['devices']>): () => void {
    const rules = devices.map(normalizeDeviceRule);
    const d = this.v1Dir('devices');
    if (d) return () => v1.applyDevicesV1(d, devices);
    const u = this.unified;
    if (this.layout !== 'v2' || !u) {
      throw new BerthError('ECGROUP', 'linux.resources.devices: devices controller not available', {
        hint: 'mount the v1 devices controller, or run on a cgroup v2 host',
      });
    }
    const program = encodeProgram(deviceFilterProgram(rules));
    return () => (this.attachDevices ?? nativeDeviceAttacher)(u.dir, program);
  }

  apply(resources: LinuxResources): void {
    for (const step of this.plan(resources)) step();
  }

  create(resources?: LinuxResources): void {
    const steps = resources ? this.plan(resources) : [];
    const created: string[] = [];
    try {
      for (const h of this.v1) {
        const isCpuset = h.controllers.includes('cpuset');
        mkdirLevels(h.root, h.rel, created, isCpuset ? copyCpusetDown : undefined);
      }
      if (this.unified) this.makeUnified(this.unified, created);
      for (const step of steps) step();
    } catch (e) {
      removeCreated(created);
      throw e;
    }
  }

  /** mkdir the cgroup2 levels and enable controllers in every ancestor's cgroup.subtree_control. */
  private makeUnified(u: UnifiedDir, created: string[]): void {
    const wanted = V2_CONTROLLERS.filter((c) => u.controllers.has(c));
    let available = unifiedControllers(u.root);
    const enableIn = (dir: string) => {
      const current = new Set((readOptional(dir, 'cgroup.subtree_control') ?? '').split(/\s+/).filter(Boolean));
      const missing = wanted.filter((c) => available.has(c) && !current.has(c));
      if (missing.length) {
        try {
          writeCgroupFile(dir, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
        } catch {
          // One refused controller fails the whole write; enable the rest one at a time.
          for (const c of missing) {
            try {
              writeCgroupFile(dir, 'cgroup.subtree_control', `+${c}`);
            } catch (e) {
              this.warn(`could not enable the ${c} controller in ${dir}: ${e instanceof Error ? e.message : String(e)}`);
            }
          }
        }
      }
      return new Set([...current, ...missing]);
    };
    mkdirLevels(u.root, u.rel, created, (dir, parent) => {
      const enabled = enableIn(parent);
      // A real cgroup2 directory lists what it may use; a test tree may not have that file yet.
      const listed = readOptional(dir, 'cgroup.controllers');
      available = listed !== undefined ? new Set(listed.split(/\s+/).filter(Boolean)) : enabled;
    });
  }

  private dirs(): string[] {
    return [...new Set([...this.v1.map((h) => h.dir), ...(this.unified ? [this.unified.dir] : [])])];
  }

  addProcess(pid: number): void {
    for (const dir of this.dirs()) writeCgroupFile(dir, 'cgroup.procs', pid);
  }

  /** The hierarchy whose task list is authoritative: one every task must be in. */
  private tasksDir(): string | undefined {
    for (const c of ['pids', 'freezer', 'memory', 'cpu', 'devices', 'cpuacct', 'blkio', 'cpuset']) {
      const d = this.v1Dir(c);
      if (d) return d;
    }
    return this.unified?.dir ?? this.v1[0]?.dir;
  }

  pids(): number[] {
    const d = this.tasksDir();
    return d ? collectPids(d) : [];
  }

  exists(): boolean {
    return this.dirs().some((d) => existsSync(d));
  }

  private freezer(): { kind: 'v1' | 'v2'; dir: string } {
    const d = this.v1Dir('freezer');
    if (d) return { kind: 'v1', dir: d };
    if (this.unified) return { kind: 'v2', dir: this.unified.dir };
    throw new BerthError('ECGROUP', 'pausing needs the freezer controller, which this host does not mount', {
      hint: 'mount the v1 freezer controller (or use a cgroup v2 host)',
    });
  }

  isFrozen(): boolean {
    const f = this.freezer();
    if (f.kind === 'v1') return readOptional(f.dir, 'freezer.state') === 'FROZEN';
    return readOptional(f.dir, 'cgroup.freeze') === '1';
  }

  freeze(): Promise<void> {
    return this.setFrozen(true);
  }

  thaw(): Promise<void> {
    return this.setFrozen(false);
  }

  private async setFrozen(frozen: boolean): Promise<void> {
    const f = this.freezer();
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    if (f.kind === 'v1') {
      const want = frozen ? 'FROZEN' : 'THAWED';
      for (let i = 0; ; i++) {
        // v1 freezing can stall on a task in an uninterruptible sleep; asking again restarts it.
        if (i % 10 === 0) writeCgroupFile(f.dir, 'freezer.state', want);
        if (readCgroupFile(f.dir, 'freezer.state') === want) return;
        if (Date.now() > deadline) break;
        await sleep(Math.min(1 + i, 20));
      }
      if (frozen) writeCgroupFile(f.dir, 'freezer.state', 'THAWED');
    } else {
      writeCgroupFile(f.dir, 'cgroup.freeze', frozen ? 1 : 0);
      for (let i = 0; ; i++) {
        const ev = readKeyValues(f.dir, 'cgroup.events');
        if ((ev.frozen ?? 0) === (frozen ? 1 : 0)) return;
        if (Date.now() > deadline) break;
        await sleep(Math.min(1 + i, 20));
      }
      if (frozen) writeCgroupFile(f.dir, 'cgroup.freeze', 0);
    }
    throw new BerthError('ECGROUP', `${frozen ? 'freezing' : 'thawing'} ${f.dir} did not complete within ${FREEZE_TIMEOUT_MS / 1000}s`, {
      hint: 'a task may be stuck in an uninterruptible sleep (D state); retry later',
    });
  }

  stats(): CgroupStats {
    const out = emptyStats();
    const v1Dirs: Record<string, string> = {};
    for (const h of this.v1) for (const c of h.controllers) v1Dirs[c] = h.dir;
    readStatsV1(v1Dirs, out);
    if (this.unified && existsSync(this.unified.dir)) {
      readStatsV2(this.unified.dir, out, this.layout === 'v2' ? undefined : this.unified.controllers);
    }
    return out;
  }

  async destroy(): Promise<void> {
    for (const dir of this.dirs()) await removeTree(dir);
  }
}

/** A new v1 cpuset is created empty and refuses tasks until cpus and mems are set: inherit them. */
function copyCpusetDown(dir: string, parent: string): void {
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    if ((readOptional(dir, f) ?? '') === '') {
      const v = readOptional(parent, f) ?? '';
      if (v !== '') writeCgroupFile(dir, f, v);
    }
  }
}

/** The real attacher: bpf(2) through the addon, present only in builds that include native/sys/bpf.c. */
function nativeDeviceAttacher(cgroupDir: string, program: Buffer): void {
  const s = sys(); // loads the addon on first use only, so hosts that never need it never load it
  if (typeof s.bpfAttachDeviceFilter !== 'function') {
    throw new BerthError('ECGROUP', 'linux.resources.devices on cgroup v2 needs bpfAttachDeviceFilter from berth_sys.node', {
      hint: 'rebuild the native addon (npm run install)',
    });
  }
  try {
    s.bpfAttachDeviceFilter(cgroupDir, program);
  } catch (e) {
    throw new BerthError('ECGROUP', `attaching the device filter to ${cgroupDir}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      hint: 'cgroup v2 device rules need bpf(2) with BPF_PROG_TYPE_CGROUP_DEVICE (CONFIG_CGROUP_BPF) and CAP_SYS_ADMIN',
    });
  }
}
