/**
 * The init plan: everything berth-init must do, as plain data, and its binary encoding
 * (decoded by native/init/plan.c; the format is documented in native/init/PLAN.md). The plan
 * is built from the OCI config by plan-builder.ts; this module knows nothing about OCI.
 *
 * Encoding: "BRTP" magic, u32 version, then records {u32 tag, u32 len, payload}, little-endian.
 * Strings are NUL-terminated inside their payload; nested objects (mounts, devices, hooks,
 * namespace joins) are records whose payload is itself a record sequence.
 *
 * The numbers here are declared again for C in native/init/init.h (flags, modes, mount kinds)
 * and plan.c (record tags); test/unit/native-constants.test.ts checks that both agree.
 */

export const PLAN_MAGIC = 0x50545242; // "BRTP" read as a little-endian u32
export const PLAN_VERSION = 1;

export const MODE_CREATE = 1;
export const MODE_EXEC = 2;

export const PF_FOREGROUND = 1 << 0;
export const PF_NO_PIVOT = 1 << 1;
export const PF_NO_NEW_KEYRING = 1 << 2;
export const PF_ROOT_READONLY = 1 << 3;
export const PF_TERMINAL = 1 << 4;
export const PF_NO_NEW_PRIVS = 1 << 5;
export const PF_NEW_CGROUPNS = 1 << 6;
/** Bring `lo` up in the new network namespace (the engine's containers; not the bare runtime). */
export const PF_LOOPBACK_UP = 1 << 8;

export const MOUNT_NORMAL = 0;
export const MOUNT_BIND = 1;
export const MOUNT_CGROUP = 2;
/** tmpfs with "tmpcopyup": berth-init fills it from the image before attaching it. */
export const MOUNT_TMPCOPYUP = 3;

export const T = {
  MODE: 1, FLAGS: 2, CLONE_FLAGS: 3, NS_JOIN: 4, JOIN_PID: 5, TIMENS: 6, ROOTFS: 7, ROOTFS_PROPAGATION: 8,
  EXEC_FIFO: 9, CONSOLE_SOCKET: 10, CONSOLE_SIZE: 11, PRESERVE_FDS: 12, ID: 13, HOSTNAME: 14, DOMAINNAME: 15,
  MOUNT: 16, DEVICE: 17, MASKED: 18, READONLY: 19, SYSCTL: 20, HOOK_CREATE_CONTAINER: 21, HOOK_START_CONTAINER: 22,
  ARG: 30, ENV: 31, CWD: 32, USER: 33, GIDS: 34, UMASK: 35, CAPS: 36, RLIMIT: 37, OOM: 38, PERSONALITY: 39,
  IOPRIO: 40, SCHED: 41, SECCOMP: 42, APPARMOR: 43, SECCOMP_LISTENER_SOCKET: 44,
} as const;
export const M = { DEST: 1, SOURCE: 2, TYPE: 3, FLAGS: 4, PROPAGATION: 5, DATA: 6, ATTR: 7, KIND: 8, UIDMAP: 9, GIDMAP: 10, IDMAP_RECURSIVE: 11, IDMAP: 12 } as const;
export const D = { PATH: 1, TYPE: 2, MAJOR: 3, MINOR: 4, MODE: 5, UID: 6, GID: 7, FALLBACK: 8 } as const;
export const H = { PATH: 1, ARG: 2, ENV: 3, TIMEOUT: 4 } as const;
export const N = { TYPE: 1, PATH: 2 } as const;

export interface PlanIdMap {
  inside: number;
  outside: number;
  count: number;
}

export interface PlanMount {
  destination: string;
  source?: string;
  type?: string;
  kind: number;
  flags: number;
  propagation: number[];
  data?: string;
  attrSet: bigint;
  attrClr: bigint;
  /** idmap / ridmap: mappings of the mount (empty arrays: the container's own). */
  idmap?: { uidMappings: PlanIdMap[]; gidMappings: PlanIdMap[]; recursive: boolean };
}

export interface PlanDevice {
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO */
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
  /** Default device: bind the host's node where mknod is not permitted. */
  fallbackBind: boolean;
}

export interface PlanHook {
  path: string;
  args: string[];
  env: string[];
  timeout: number;
}

export interface PlanSched {
  policy: number;
  nice: number;
  priority: number;
  flags: bigint;
  runtime: bigint;
  deadline: bigint;
  period: bigint;
}

export interface Plan {
  mode: number;
  flags: number;
  cloneFlags: number;
  nsJoin: Array<{ type: number; path: string }>;
  joinPid?: number;
  timensOffsets?: string;
  rootfs?: string;
  rootfsPropagation: number;
  execFifo?: string;
  consoleSocket?: string;
  consoleSize?: { rows: number; cols: number };
  preserveFds: number;
  id: string;
  hostname?: string;
  domainname?: string;
  mounts: PlanMount[];
  devices: PlanDevice[];
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: Array<[string, string]>;
  createContainerHooks: PlanHook[];
  startContainerHooks: PlanHook[];
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask?: number;
  caps?: { bounding: bigint; effective: bigint; inheritable: bigint; permitted: bigint; ambient: bigint };
  rlimits: Array<{ resource: number; soft: bigint; hard: bigint }>;
  oomScoreAdj?: number;
  personality?: number;
  ioPriority?: number;
  scheduler?: PlanSched;
  seccomp?: { filter: Buffer; flags: number };
  /** fd (in berth-init) of the socket on which C sends the seccomp user-notification listener. */
  seccompListenerSocket?: number;
  apparmorProfile?: string;
}

/** Accumulates records; nested objects are encoded with a child writer. */
class RecordWriter {
  private readonly parts: Buffer[] = [];

  raw(tag: number, payload: Buffer): this {
    const hdr = Buffer.alloc(8);
    hdr.writeUInt32LE(tag, 0);
    hdr.writeUInt32LE(payload.length, 4);
    this.parts.push(hdr, payload);
    return this;
  }

  str(tag: number, s: string | undefined): this {
    if (s === undefined) return this;
    if (s.includes('\0')) throw new Error(`plan: string for record ${tag} contains a NUL byte`);
    return this.raw(tag, Buffer.from(`${s}\0`, 'utf8'));
  }

  strs(tag: number, list: readonly string[]): this {
    for (const s of list) this.str(tag, s);
    return this;
  }

  u32(tag: number, ...values: number[]): this {
    const b = Buffer.alloc(4 * values.length);
    values.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 * i));
    return this.raw(tag, b);
  }

  u64(tag: number, ...values: bigint[]): this {
    const b = Buffer.alloc(8 * values.length);
    values.forEach((v, i) => b.writeBigUInt64LE(BigInt.asUintN(64, v), 8 * i));
    return this.raw(tag, b);
  }

  nested(tag: number, build: (w: RecordWriter) => void): this {
    const w = new RecordWriter();
    build(w);
    return this.raw(tag, w.toBuffer());
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function idmaps(w: RecordWriter, tag: number, maps: readonly PlanIdMap[]): void {
  for (const m of maps) w.u32(tag, m.inside, m.outside, m.count);
}

export function encodePlan(p: Plan): Buffer {
  const w = new RecordWriter();
  w.u32(T.MODE, p.mode).u32(T.FLAGS, p.flags).u32(T.CLONE_FLAGS, p.cloneFlags);
  for (const ns of p.nsJoin) w.nested(T.NS_JOIN, (n) => n.u32(N.TYPE, ns.type).str(N.PATH, ns.path));
  if (p.joinPid !== undefined) w.u32(T.JOIN_PID, p.joinPid);
  if (p.timensOffsets !== undefined) w.str(T.TIMENS, p.timensOffsets);
  w.str(T.ROOTFS, p.rootfs);
  if (p.rootfsPropagation) w.u32(T.ROOTFS_PROPAGATION, p.rootfsPropagation);
  w.str(T.EXEC_FIFO, p.execFifo).str(T.CONSOLE_SOCKET, p.consoleSocket);
  if (p.consoleSize) w.u32(T.CONSOLE_SIZE, p.consoleSize.rows, p.consoleSize.cols);
  w.u32(T.PRESERVE_FDS, p.preserveFds).str(T.ID, p.id).str(T.HOSTNAME, p.hostname).str(T.DOMAINNAME, p.domainname);
  for (const m of p.mounts) {
    w.nested(T.MOUNT, (n) => {
      n.str(M.DEST, m.destination).str(M.SOURCE, m.source).str(M.TYPE, m.type).u32(M.KIND, m.kind).u32(M.FLAGS, m.flags);
      for (const prop of m.propagation) n.u32(M.PROPAGATION, prop);
      n.str(M.DATA, m.data);
      if (m.attrSet || m.attrClr) n.u64(M.ATTR, m.attrSet, m.attrClr);
      if (m.idmap) {
        n.raw(M.IDMAP, Buffer.alloc(0));
        idmaps(n, M.UIDMAP, m.idmap.uidMappings);
        idmaps(n, M.GIDMAP, m.idmap.gidMappings);
        if (m.idmap.recursive) n.raw(M.IDMAP_RECURSIVE, Buffer.alloc(0));
      }
    });
  }
  for (const d of p.devices) {
    w.nested(T.DEVICE, (n) => {
      n.str(D.PATH, d.path).u32(D.TYPE, d.type).u32(D.MAJOR, d.major).u32(D.MINOR, d.minor).u32(D.MODE, d.mode).u32(D.UID, d.uid).u32(D.GID, d.gid);
      if (d.fallbackBind) n.raw(D.FALLBACK, Buffer.alloc(0));
    });
  }
  w.strs(T.MASKED, p.maskedPaths).strs(T.READONLY, p.readonlyPaths);
  for (const [k, v] of p.sysctl) {
    if (k.includes('\0') || v.includes('\0')) throw new Error(`plan: sysctl ${k} contains a NUL byte`);
    w.raw(T.SYSCTL, Buffer.from(`${k}\0${v}\0`, 'utf8'));
  }
  const hook = (tag: number, h: PlanHook) =>
    w.nested(tag, (n) => n.str(H.PATH, h.path).strs(H.ARG, h.args).strs(H.ENV, h.env).u32(H.TIMEOUT, h.timeout));
  for (const h of p.createContainerHooks) hook(T.HOOK_CREATE_CONTAINER, h);
  for (const h of p.startContainerHooks) hook(T.HOOK_START_CONTAINER, h);
  w.strs(T.ARG, p.args).strs(T.ENV, p.env).str(T.CWD, p.cwd).u32(T.USER, p.uid, p.gid);
  if (p.additionalGids.length) w.u32(T.GIDS, ...p.additionalGids);
  if (p.umask !== undefined) w.u32(T.UMASK, p.umask);
  if (p.caps) w.u64(T.CAPS, p.caps.bounding, p.caps.effective, p.caps.inheritable, p.caps.permitted, p.caps.ambient);
  for (const r of p.rlimits) {
    const b = Buffer.alloc(20);
    b.writeUInt32LE(r.resource, 0);
    b.writeBigUInt64LE(r.soft, 4);
    b.writeBigUInt64LE(r.hard, 12);
    w.raw(T.RLIMIT, b);
  }
  if (p.oomScoreAdj !== undefined) w.u32(T.OOM, p.oomScoreAdj);
  if (p.personality !== undefined) w.u32(T.PERSONALITY, p.personality);
  if (p.ioPriority !== undefined) w.u32(T.IOPRIO, p.ioPriority);
  if (p.scheduler) {
    const s = p.scheduler;
    const b = Buffer.alloc(44);
    b.writeUInt32LE(s.policy, 0);
    b.writeInt32LE(s.nice, 4);
    b.writeUInt32LE(s.priority, 8);
    b.writeBigUInt64LE(s.flags, 12);
    b.writeBigUInt64LE(s.runtime, 20);
    b.writeBigUInt64LE(s.deadline, 28);
    b.writeBigUInt64LE(s.period, 36);
    w.raw(T.SCHED, b);
  }
  if (p.seccomp) {
    const hdr = Buffer.alloc(4);
    hdr.writeUInt32LE(p.seccomp.flags >>> 0, 0);
    w.raw(T.SECCOMP, Buffer.concat([hdr, p.seccomp.filter]));
  }
  w.str(T.APPARMOR, p.apparmorProfile);
  if (p.seccompListenerSocket !== undefined) w.u32(T.SECCOMP_LISTENER_SOCKET, p.seccompListenerSocket);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(PLAN_MAGIC, 0);
  head.writeUInt32LE(PLAN_VERSION, 4);
  return Buffer.concat([head, w.toBuffer()]);
}

/** A decoded record, for tests and debugging (`berth-runtime` never needs to decode). */
export interface PlanRecord {
  tag: number;
  payload: Buffer;
}

/** Splits a record sequence (the plan body, or a nested payload) into records. */
export function readRecords(buf: Buffer): PlanRecord[] {
  const out: PlanRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 8) throw new Error(`plan: truncated record header at ${off}`);
    const tag = buf.readUInt32LE(off);
    const len = buf.readUInt32LE(off + 4);
    if (off + 8 + len > buf.length) throw new Error(`plan: record ${tag} at ${off} overruns the buffer`);
    out.push({ tag, payload: buf.subarray(off + 8, off + 8 + len) });
    off += 8 + len;
  }
  return out;
}
