/**
 * Structural schema of config.json (OCI runtime-spec 1.2, Linux parts), written with zod.
 * It checks types, required fields, enum values and number ranges, plus the rules that look
 * at a single value (a capability name, an absolute path); rules that relate several fields
 * (namespaces vs. sysctls, mappings vs. user namespace) live in semantic.ts. Unknown
 * properties are dropped, not rejected: the spec says runtimes MUST ignore them.
 */
import { z } from 'zod';
import type * as T from './types';
import { isKnownCapability } from './capabilities';
import { isKnownRlimit, RLIMIT_NAMES } from './rlimits';

// ---- enumerations the spec defines -------------------------------------------------------

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
] as const;
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export const IO_PRIORITY_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const;
export const SCHEDULER_POLICIES = [
  'SCHED_OTHER',
  'SCHED_FIFO',
  'SCHED_RR',
  'SCHED_BATCH',
  'SCHED_ISO',
  'SCHED_IDLE',
  'SCHED_DEADLINE',
] as const;
export const SCHEDULER_FLAGS = [
  'SCHED_FLAG_RESET_ON_FORK',
  'SCHED_FLAG_RECLAIM',
  'SCHED_FLAG_DL_OVERRUN',
  'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS',
  'SCHED_FLAG_UTIL_CLAMP_MIN',
  'SCHED_FLAG_UTIL_CLAMP_MAX',
] as const;
/** runc also accepts the recursive spellings, so Berth does too (types.ts lists them). */
export const ROOTFS_PROPAGATIONS = [
  'private',
  'shared',
  'slave',
  'unbindable',
  'rprivate',
  'rshared',
  'rslave',
  'runbindable',
] as const;
export const PERSONALITY_DOMAINS = ['LINUX', 'LINUX32'] as const;
export const DEVICE_TYPES = ['c', 'b', 'u', 'p'] as const;

/** S_IFCHR, S_IFBLK, S_IFIFO: the st_mode type bits of each device type. */
export const DEVICE_FILE_TYPE_BITS: Record<(typeof DEVICE_TYPES)[number], number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };
export const DEVICE_RULE_TYPES = ['a', 'c', 'b'] as const;
export const MEMORY_POLICY_MODES = [
  'MPOL_DEFAULT',
  'MPOL_BIND',
  'MPOL_INTERLEAVE',
  'MPOL_WEIGHTED_INTERLEAVE',
  'MPOL_PREFERRED',
  'MPOL_PREFERRED_MANY',
  'MPOL_LOCAL',
] as const;
export const MEMORY_POLICY_FLAGS = ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'] as const;

// ---- scalars -----------------------------------------------------------------------------

// JSON numbers beyond 2^53 arrive rounded (RLIM_INFINITY = 2^64-1 parses as 2^64), so the
// 64-bit bounds are inclusive of the rounded value rather than exact.
const int = () => z.number().int();
const int32 = int().min(-2147483648).max(2147483647);
const int64 = int().min(-(2 ** 63)).max(2 ** 63);
const uint16 = int().min(0).max(65535);
const uint32 = int().min(0).max(4294967295);
const uint64 = int().min(0).max(2 ** 64);

const absolutePath = z.string().refine((s) => s.startsWith('/'), { message: 'must be an absolute path' });
const stringArray = z.array(z.string());
const stringMap = z.record(z.string(), z.string());

const capabilityName = z.string().superRefine((name, ctx) => {
  if (!isKnownCapability(name)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: `unknown capability ${JSON.stringify(name)} (expected a CAP_* name such as CAP_CHOWN)`,
    });
  }
});

// ---- shared pieces -----------------------------------------------------------------------

const idMapping = z.object({ containerID: uint32, hostID: uint32, size: uint32.min(1) });

const mount = z.object({
  destination: absolutePath,
  source: z.string().optional(),
  type: z.string().optional(),
  options: stringArray.optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
});

const hook = z.object({
  path: absolutePath,
  args: stringArray.optional(),
  env: stringArray.optional(),
  timeout: int().min(1).optional(),
});
const hookList = z.array(hook).optional();

// ---- process -----------------------------------------------------------------------------

// The JSON schema leaves user, uid and gid optional and runc reads a missing one as 0 (Go's
// zero value), so a config without them runs as root there; Berth does the same.
const user = z.object({
  uid: uint32.default(0),
  gid: uint32.default(0),
  umask: uint32.optional(),
  additionalGids: z.array(uint32).optional(),
  username: z.string().optional(),
});

const capabilitySet = z.array(capabilityName).optional();
const capabilities = z.object({
  bounding: capabilitySet,
  effective: capabilitySet,
  inheritable: capabilitySet,
  permitted: capabilitySet,
  ambient: capabilitySet,
});

const rlimit = z
  .object({
    type: z.string().superRefine((name, ctx) => {
      if (!isKnownRlimit(name)) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message: `must be one of ${RLIMIT_NAMES.join(', ')}, got ${JSON.stringify(name)}`,
        });
      }
    }),
    soft: uint64,
    hard: uint64,
  })
  .superRefine((r, ctx) => {
    if (r.soft > r.hard) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['soft'],
        message: `soft limit ${r.soft} is above the hard limit ${r.hard}`,
      });
    }
  });

const ioPriority = z.object({ class: z.enum(IO_PRIORITY_CLASSES), priority: int().min(0).max(7) });

const scheduler = z.object({
  policy: z.enum(SCHEDULER_POLICIES),
  nice: int().min(-20).max(19).optional(),
  priority: int32.optional(),
  flags: z.array(z.enum(SCHEDULER_FLAGS)).optional(),
  runtime: uint64.optional(),
  deadline: uint64.optional(),
  period: uint64.optional(),
});

const cpuList = z.string().regex(/^[0-9, -]*$/, 'must be a CPU list such as "0-3,7"');

export const processSchema = z.object({
  terminal: z.boolean().optional(),
  consoleSize: z.object({ height: uint64, width: uint64 }).optional(),
  user: user.default({}),
  args: z.array(z.string()).min(1, 'must name the program to run (at least one element)'),
  commandLine: z.string().optional(),
  env: stringArray.optional(),
  cwd: absolutePath,
  capabilities: capabilities.optional(),
  rlimits: z.array(rlimit).optional(),
  noNewPrivileges: z.boolean().optional(),
  apparmorProfile: z.string().optional(),
  oomScoreAdj: int().min(-1000).max(1000).optional(),
  selinuxLabel: z.string().optional(),
  ioPriority: ioPriority.optional(),
  scheduler: scheduler.optional(),
  execCPUAffinity: z.object({ initial: cpuList.optional(), final: cpuList.optional() }).optional(),
});

// ---- linux -------------------------------------------------------------------------------

const namespace = z.object({ type: z.enum(NAMESPACE_TYPES), path: z.string().optional() });

const device = z
  .object({
    type: z.enum(DEVICE_TYPES),
    path: absolutePath,
    major: int64.optional(),
    minor: int64.optional(),
    // Permission bits, optionally with the file-type bits of `type` (podman passes the whole
    // st_mode of the host node, e.g. 0o20666, and runc accepts that).
    fileMode: int().min(0).max(0o177777).optional(),
    uid: uint32.optional(),
    gid: uint32.optional(),
  })
  .superRefine((d, ctx) => {
    const typeBits = (d.fileMode ?? 0) & ~0o7777;
    if (typeBits !== 0 && typeBits !== DEVICE_FILE_TYPE_BITS[d.type]) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['fileMode'],
        message: `file-type bits 0o${typeBits.toString(8)} do not match type "${d.type}" (expected none or 0o${DEVICE_FILE_TYPE_BITS[d.type].toString(8)})`,
      });
    }
    if (d.type === 'p') return;
    for (const k of ['major', 'minor'] as const) {
      if (d[k] === undefined) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `required for a device of type "${d.type}"` });
      }
    }
  });

const majorMinor = int64.nullable().optional();
const deviceRule = z.object({
  allow: z.boolean(),
  type: z.enum(DEVICE_RULE_TYPES).optional(),
  major: majorMinor,
  minor: majorMinor,
  access: z
    .string()
    .regex(/^[rwm]*$/, 'must combine the letters r, w and m')
    .optional(),
});

const throttleDevice = z.object({ major: int64, minor: int64, rate: uint64 });

const resources = z.object({
  devices: z.array(deviceRule).optional(),
  memory: z
    .object({
      limit: int64.optional(),
      reservation: int64.optional(),
      swap: int64.optional(),
      kernel: int64.optional(),
      kernelTCP: int64.optional(),
      swappiness: uint64.optional(),
      disableOOMKiller: z.boolean().optional(),
      useHierarchy: z.boolean().optional(),
      checkBeforeUpdate: z.boolean().optional(),
    })
    .optional(),
  cpu: z
    .object({
      shares: uint64.optional(),
      quota: int64.optional(),
      burst: uint64.optional(),
      period: uint64.optional(),
      realtimeRuntime: int64.optional(),
      realtimePeriod: uint64.optional(),
      cpus: z.string().optional(),
      mems: z.string().optional(),
      idle: int64.optional(),
    })
    .optional(),
  pids: z.object({ limit: int64 }).optional(),
  blockIO: z
    .object({
      weight: uint16.optional(),
      leafWeight: uint16.optional(),
      weightDevice: z
        .array(z.object({ major: int64, minor: int64, weight: uint16.optional(), leafWeight: uint16.optional() }))
        .optional(),
      throttleReadBpsDevice: z.array(throttleDevice).optional(),
      throttleWriteBpsDevice: z.array(throttleDevice).optional(),
      throttleReadIOPSDevice: z.array(throttleDevice).optional(),
      throttleWriteIOPSDevice: z.array(throttleDevice).optional(),
    })
    .optional(),
  hugepageLimits: z
    .array(
      z.object({
        pageSize: z.string().regex(/^[1-9][0-9]*[KMG]B$/, 'must be a size such as "2MB" or "1GB" (unit KB, MB or GB)'),
        limit: uint64,
      }),
    )
    .optional(),
  network: z
    .object({
      classID: uint32.optional(),
      priorities: z.array(z.object({ name: z.string(), priority: uint32 })).optional(),
    })
    .optional(),
  rdma: z.record(z.string(), z.object({ hcaHandles: uint32.optional(), hcaObjects: uint32.optional() })).optional(),
  unified: stringMap.optional(),
});

const seccompSyscall = z
  .object({
    names: z.array(z.string()).min(1, 'must list at least one syscall name'),
    action: z.enum(SECCOMP_ACTIONS),
    errnoRet: uint32.optional(),
    args: z
      .array(z.object({ index: uint32.max(5), value: uint64, valueTwo: uint64.optional(), op: z.enum(SECCOMP_OPERATORS) }))
      .optional(),
  })
  .superRefine((s, ctx) => {
    // The return value only has a meaning for ERRNO (the errno) and TRACE (the tracer's data).
    if (s.errnoRet !== undefined && s.action !== 'SCMP_ACT_ERRNO' && s.action !== 'SCMP_ACT_TRACE') {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['errnoRet'],
        message: `only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${s.action}`,
      });
    }
  });

const seccomp = z.object({
  defaultAction: z.enum(SECCOMP_ACTIONS),
  defaultErrnoRet: uint32.optional(),
  architectures: z.array(z.enum(SECCOMP_ARCHES)).optional(),
  flags: z.array(z.enum(SECCOMP_FLAGS)).optional(),
  listenerPath: z.string().optional(),
  listenerMetadata: z.string().optional(),
  syscalls: z.array(seccompSyscall).optional(),
});

const linux = z.object({
  devices: z.array(device).optional(),
  netDevices: z.record(z.string(), z.object({ name: z.string().optional() })).optional(),
  uidMappings: z.array(idMapping).optional(),
  gidMappings: z.array(idMapping).optional(),
  namespaces: z.array(namespace).optional(),
  resources: resources.optional(),
  cgroupsPath: z.string().optional(),
  rootfsPropagation: z.enum(ROOTFS_PROPAGATIONS).optional(),
  seccomp: seccomp.optional(),
  sysctl: stringMap.optional(),
  maskedPaths: z.array(absolutePath).optional(),
  readonlyPaths: z.array(absolutePath).optional(),
  mountLabel: z.string().optional(),
  personality: z.object({ domain: z.enum(PERSONALITY_DOMAINS), flags: stringArray.optional() }).optional(),
  timeOffsets: z.record(z.string(), z.object({ secs: int64.optional(), nanosecs: uint32.optional() })).optional(),
  intelRdt: z
    .object({
      closID: z.string().optional(),
      schemata: stringArray.optional(),
      l3CacheSchema: z.string().optional(),
      memBwSchema: z
        .string()
        .regex(/^MB:[^\n]*$/, 'must start with "MB:"')
        .optional(),
      enableMonitoring: z.boolean().optional(),
    })
    .optional(),
  memoryPolicy: z
    .object({
      mode: z.enum(MEMORY_POLICY_MODES).optional(),
      nodes: z.string().optional(),
      flags: z.array(z.enum(MEMORY_POLICY_FLAGS)).optional(),
    })
    .optional(),
});

// ---- the document ------------------------------------------------------------------------

const configSchemaImpl = z.object({
  ociVersion: z.string().regex(/^1\.\d+\.\d+([-+].*)?$/, 'must be a 1.x version such as "1.2.0"'),
  root: z.object({ path: z.string().min(1, 'must not be empty'), readonly: z.boolean().optional() }).optional(),
  mounts: z.array(mount).optional(),
  process: processSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  hooks: z
    .object({
      prestart: hookList,
      createRuntime: hookList,
      createContainer: hookList,
      startContainer: hookList,
      poststart: hookList,
      poststop: hookList,
    })
    .optional(),
  annotations: stringMap.optional(),
  linux: linux.optional(),
});

// The annotations below make tsc prove that what the schema produces is a RuntimeConfig
// (and a Process): a field whose type drifts from types.ts breaks the build here.
export const configSchema: z.ZodType<T.RuntimeConfig, z.ZodTypeDef, unknown> = configSchemaImpl;
export const processOnlySchema: z.ZodType<T.Process, z.ZodTypeDef, unknown> = processSchema;

// ...and the reverse: every field types.ts declares is checked by the schema (a field added
// to types.ts but not here would otherwise be silently dropped from validated configs).
type Shape<S> = S extends z.ZodTypeAny ? NonNullable<z.infer<S>> : never;
type Missing<TS, S> = Exclude<keyof TS, keyof Shape<S>>;
type Resources = NonNullable<T.LinuxResources>;
type MustBeEmpty<K extends never> = K;
export type SchemaCoversTypes = [
  MustBeEmpty<Missing<T.RuntimeConfig, typeof configSchemaImpl>>,
  MustBeEmpty<Missing<T.Root, typeof configSchemaImpl.shape.root>>,
  MustBeEmpty<Missing<T.Mount, typeof mount>>,
  MustBeEmpty<Missing<T.IdMapping, typeof idMapping>>,
  MustBeEmpty<Missing<T.Hook, typeof hook>>,
  MustBeEmpty<Missing<T.Hooks, typeof configSchemaImpl.shape.hooks>>,
  MustBeEmpty<Missing<T.Process, typeof processSchema>>,
  MustBeEmpty<Missing<T.User, typeof user>>,
  MustBeEmpty<Missing<T.Capabilities, typeof capabilities>>,
  MustBeEmpty<Missing<T.Rlimit, typeof rlimit>>,
  MustBeEmpty<Missing<T.Scheduler, typeof scheduler>>,
  MustBeEmpty<Missing<T.Linux, typeof linux>>,
  MustBeEmpty<Missing<T.Namespace, typeof namespace>>,
  MustBeEmpty<Missing<T.Device, typeof device>>,
  MustBeEmpty<Missing<T.DeviceRule, typeof deviceRule>>,
  MustBeEmpty<Missing<Resources, typeof resources>>,
  MustBeEmpty<Missing<NonNullable<Resources['memory']>, typeof resources.shape.memory>>,
  MustBeEmpty<Missing<NonNullable<Resources['cpu']>, typeof resources.shape.cpu>>,
  MustBeEmpty<Missing<NonNullable<Resources['blockIO']>, typeof resources.shape.blockIO>>,
  MustBeEmpty<Missing<T.ThrottleDevice, typeof throttleDevice>>,
  MustBeEmpty<Missing<T.LinuxSeccomp, typeof seccomp>>,
  MustBeEmpty<Missing<T.SeccompSyscall, typeof seccompSyscall>>,
];
