/**
 * Rules that relate several fields of an already well-formed config: which namespaces a
 * setting needs, id mappings vs. the user namespace, duplicates. They follow runc's
 * validator where the spec leaves the runtime a choice, so that a bundle runc rejects is
 * rejected here too, with the JSON path of the offending field.
 */
import type { Process, RuntimeConfig, Namespace, NamespaceType } from './types';
import type { Issue, JsonPath } from './json-path';

export function processIssues(p: Process, at: JsonPath): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  (p.rlimits ?? []).forEach((r, i) => {
    const first = seen.get(r.type);
    if (first !== undefined) {
      issues.push({ path: [...at, 'rlimits', i, 'type'], message: `duplicate ${r.type} (already set by rlimits[${first}])` });
    } else seen.set(r.type, i);
  });
  const s = p.scheduler;
  if (s) {
    // sched_setattr(2): a static priority only exists for the real-time policies, and a
    // nice value only for the fair ones.
    const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
    if (s.priority !== undefined && s.priority !== 0 && !realtime) {
      issues.push({ path: [...at, 'scheduler', 'priority'], message: `only SCHED_FIFO and SCHED_RR take a priority, not ${s.policy}` });
    }
    if (realtime && s.priority !== undefined && (s.priority < 1 || s.priority > 99)) {
      issues.push({ path: [...at, 'scheduler', 'priority'], message: `must be 1..99 for ${s.policy}, got ${s.priority}` });
    }
    const fair = s.policy === 'SCHED_OTHER' || s.policy === 'SCHED_BATCH';
    if (s.nice !== undefined && s.nice !== 0 && !fair) {
      issues.push({ path: [...at, 'scheduler', 'nice'], message: `only SCHED_OTHER and SCHED_BATCH take a nice value, not ${s.policy}` });
    }
  }
  return issues;
}

export function configIssues(c: RuntimeConfig): Issue[] {
  const issues: Issue[] = [];
  const add = (path: JsonPath, message: string) => issues.push({ path, message });
  if (c.process) issues.push(...processIssues(c.process, ['process']));

  const namespaces = c.linux?.namespaces ?? [];
  const byType = new Map<NamespaceType, Namespace>();
  namespaces.forEach((ns, i) => {
    if (byType.has(ns.type)) add(['linux', 'namespaces', i, 'type'], `duplicate namespace type "${ns.type}"`);
    else byType.set(ns.type, ns);
    // Every namespace type can be joined with setns(2) since Linux 5.8 (time was last), so
    // the only requirement on a path is that it names a file unambiguously.
    if (ns.path !== undefined && !ns.path.startsWith('/')) {
      add(['linux', 'namespaces', i, 'path'], `must be an absolute path (e.g. /proc/PID/ns/${nsFileName(ns.type)}), got ${JSON.stringify(ns.path)}`);
    }
  });
  const has = (t: NamespaceType) => byType.has(t);
  const isNew = (t: NamespaceType) => byType.has(t) && !byType.get(t)!.path;

  // User namespace and id mappings go together.
  const uidMaps = c.linux?.uidMappings ?? [];
  const gidMaps = c.linux?.gidMappings ?? [];
  if (isNew('user')) {
    if (uidMaps.length === 0) add(['linux', 'uidMappings'], 'required when a new user namespace is created (a namespace of type "user" without a path)');
    if (gidMaps.length === 0) add(['linux', 'gidMappings'], 'required when a new user namespace is created (a namespace of type "user" without a path)');
  } else {
    const why = has('user') ? 'not allowed when joining an existing user namespace (its mappings are already set)' : 'needs a user namespace (add {"type": "user"} to linux.namespaces)';
    if (uidMaps.length > 0) add(['linux', 'uidMappings'], why);
    if (gidMaps.length > 0) add(['linux', 'gidMappings'], why);
  }

  // runc: hostname and domainname are only settable in a UTS namespace the container owns.
  for (const field of ['hostname', 'domainname'] as const) {
    if (c[field] && !isNew('uts')) {
      add([field], `needs a new UTS namespace (add {"type": "uts"} without a path to linux.namespaces)`);
    }
  }

  for (const key of Object.keys(c.linux?.sysctl ?? {})) {
    const problem = sysctlProblem(key, c, has);
    if (problem) add(['linux', 'sysctl', key], problem);
  }

  const offsets = c.linux?.timeOffsets;
  if (offsets) {
    for (const key of Object.keys(offsets)) {
      if (key !== 'monotonic' && key !== 'boottime') add(['linux', 'timeOffsets', key], 'unknown clock: only "monotonic" and "boottime" can be offset');
    }
    // Offsets can only be written before any process has entered the namespace.
    if (Object.keys(offsets).length > 0 && !isNew('time')) {
      add(['linux', 'timeOffsets'], 'needs a new time namespace (add {"type": "time"} without a path to linux.namespaces)');
    }
  }

  (c.mounts ?? []).forEach((m, i) => {
    const u = (m.uidMappings ?? []).length > 0;
    const g = (m.gidMappings ?? []).length > 0;
    if (u !== g) add(['mounts', i, u ? 'gidMappings' : 'uidMappings'], 'an id-mapped mount needs both uidMappings and gidMappings');
  });
  return issues;
}

/** The /proc/PID/ns file name of a namespace type. */
function nsFileName(t: NamespaceType): string {
  return t === 'network' ? 'net' : t === 'mount' ? 'mnt' : t;
}

/**
 * Only sysctls that the kernel scopes to a namespace may be set, and only when the container
 * has that namespace; anything else would change the host (runc's rule).
 */
function sysctlProblem(rawKey: string, c: RuntimeConfig, has: (t: NamespaceType) => boolean): string | undefined {
  // sysctl(8) accepts both "net.ipv4.ip_forward" and "net/ipv4/ip_forward".
  const key = rawKey.includes('/') && !rawKey.includes('.') ? rawKey.replace(/\//g, '.') : rawKey;
  const ipc = key === 'kernel.sem' || key.startsWith('kernel.shm') || key.startsWith('kernel.msg') || key.startsWith('fs.mqueue.');
  if (ipc) return has('ipc') ? undefined : 'needs an IPC namespace (add {"type": "ipc"} to linux.namespaces)';
  if (key.startsWith('net.')) return has('network') ? undefined : 'needs a network namespace (add {"type": "network"} to linux.namespaces)';
  if (key === 'kernel.hostname' || key === 'kernel.domainname') {
    if (!has('uts')) return 'needs a UTS namespace (add {"type": "uts"} to linux.namespaces)';
    const field = key === 'kernel.hostname' ? 'hostname' : 'domainname';
    if (c[field]) return `conflicts with the "${field}" field; set only one of them`;
    return undefined;
  }
  return 'is not namespaced: setting it in a container would change the host (allowed: net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, kernel.hostname, kernel.domainname)';
}
