/**
 * Conformance: config.json features as a process inside the container sees them, reported by
 * berth-checker (namespaces, ids, caps, rlimits, seccomp, masked/readonly paths, devices,
 * mounts, sysctl, cgroup limits...). Runs against the runtime named by BERTH_TEST_RUNTIME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { session, skipReason, berthOnly, cgroupHostPaths, removeCgroupTree, type RuntimeSession } from '../helpers/runtime';
import { OUT, readyThenSleep, sh, type Bundle, type CheckerReport, type OpenResult, type StatResult, type SyscallResult } from '../helpers/bundle';
import type { RuntimeConfig } from '../../src/spec/types';

const skip = skipReason({ checker: true });

/**
 * Runs a container whose process writes each checker command's output to /out/<file>, waits
 * for it to stop and returns the bundle to read the files from.
 */
async function runChecks(
  s: RuntimeSession,
  label: string,
  checks: Record<string, string>,
  mutate?: (cfg: RuntimeConfig, bundle: Bundle) => void,
): Promise<Bundle> {
  const { id, bundle } = s.bundle(label, (cfg, b) => {
    cfg.process!.args = sh(Object.entries(checks).map(([file, cmd]) => `${cmd} > ${OUT}/${file}`).join('; '));
    mutate?.(cfg, b);
  });
  await s.runToCompletion(id, bundle);
  return bundle;
}

async function reportWith(s: RuntimeSession, label: string, mutate?: (cfg: RuntimeConfig, bundle: Bundle) => void): Promise<CheckerReport> {
  const bundle = await runChecks(s, label, { 'report.json': 'berth-checker report' }, mutate);
  return bundle.readJson<CheckerReport>('report.json');
}

function hostNamespace(type: string): number {
  return Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/self/ns/${type}`))![1]);
}

/** Files the runtime's default maskedPaths cover that exist on this kernel (e.g. /proc/kcore may not). */
const MASKED_FILES = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug'].filter((p) => existsSync(p));

const sorted = (names: string[] | undefined): string[] => [...(names ?? [])].sort();

test('config: new namespaces differ from the host, the others are shared', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'ns');
  for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt']) assert.notEqual(r.namespaces[ns], hostNamespace(ns), `${ns} namespace is new`);
  for (const ns of ['user', 'cgroup']) assert.equal(r.namespaces[ns], hostNamespace(ns), `${ns} namespace is the host's`);
  assert.equal(r.pid, 1, 'the process is pid 1 of its pid namespace');
});

test('config: cgroup namespace hides the host cgroup path', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'cgroupns', (cfg) => {
    cfg.linux!.namespaces!.push({ type: 'cgroup' });
  });
  assert.notEqual(r.namespaces.cgroup, hostNamespace('cgroup'));
  for (const line of r.cgroup.filter((l) => ['memory', 'pids'].includes(l.controllers))) assert.equal(line.path, '/', `${line.controllers} path`);
});

test('config: joining a namespace by path (network of another container)', { skip }, async (t) => {
  const s = session(t);
  const { id: firstId, bundle: first } = s.bundle('netns-owner', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(firstId, first);
  await first.waitForOut('ready');
  const ownerPid = s.stateOk(firstId).pid!;
  const r = await reportWith(s, 'netns-joiner', (cfg) => {
    cfg.linux!.namespaces = cfg.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${ownerPid}/ns/net` } : n));
  });
  assert.equal(r.namespaces.net, Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${ownerPid}/ns/net`))![1]));
});

test('config: hostname', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'uts', (cfg) => {
    cfg.hostname = 'conf-host';
  });
  assert.equal(r.hostname, 'conf-host');
});

// domainname is runtime-spec 1.1 (runc supports it from 1.2).
test('config: domainname', { skip: skip ?? berthOnly('runc 1.1 ignores domainname') }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'domainname', (cfg) => {
    cfg.domainname = 'conf.example';
  });
  assert.equal(r.domainname, 'conf.example');
});

test('config: user namespace with uid/gid mappings', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'userns', (cfg) => {
    cfg.linux!.namespaces!.push({ type: 'user' });
    cfg.linux!.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    cfg.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    // A cgroup v1 hierarchy cannot be mounted from a user namespace; drop that mount.
    cfg.mounts = cfg.mounts!.filter((m) => m.destination !== '/sys/fs/cgroup');
  });
  assert.notEqual(r.namespaces.user, hostNamespace('user'));
  assert.deepEqual(r.uid_map, [{ container: 0, host: 200000, size: 65536 }]);
  assert.deepEqual(r.gid_map, [{ container: 0, host: 200000, size: 65536 }]);
  assert.equal(r.uid, 0);
  assert.equal(r.gid, 0);
});

test('config: readonly root makes the rootfs unwritable but not /out', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'ro-root',
    { 'root.json': 'berth-checker open-write /newfile --create', 'tmp.json': 'berth-checker open-write /tmp/newfile --create', 'out.json': `berth-checker open-write ${OUT}/newfile --create` },
    (cfg) => {
      cfg.root!.readonly = true;
    },
  );
  assert.equal(b.readJson<OpenResult>('root.json').errno, 'EROFS');
  assert.equal(b.readJson<OpenResult>('tmp.json').errno, 'EROFS');
  assert.equal(b.readJson<OpenResult>('out.json').ok, true, 'the bind mount stays writable');
});

test('config: masked paths read as /dev/null (files) or an empty read-only directory', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'masked',
    {
      'stat.json': `berth-checker stat /etc/secret ${MASKED_FILES.join(' ')}`,
      'secret.txt': 'cat /etc/secret',
      'dir.txt': 'ls -A /etc/secretdir',
      'dirwrite.json': 'berth-checker open-write /etc/secretdir/new --create',
    },
    (cfg, bundle) => {
      writeFileSync(join(bundle.rootfs, 'etc', 'secret'), 'do not read\n');
      mkdirSync(join(bundle.rootfs, 'etc', 'secretdir'));
      writeFileSync(join(bundle.rootfs, 'etc', 'secretdir', 'inside'), 'hidden\n');
      cfg.linux!.maskedPaths = [...cfg.linux!.maskedPaths!, '/etc/secret', '/etc/secretdir'];
    },
  );
  const stats = b.readJson<StatResult[]>('stat.json');
  assert.equal(stats.length, MASKED_FILES.length + 1);
  for (const st of stats) {
    assert.equal(st.type, 'char', `${st.path} is masked by a character device`);
    assert.equal(st.major, 1, `${st.path} major`);
    assert.equal(st.minor, 3, `${st.path} minor`);
  }
  assert.equal(b.readOut('secret.txt'), '');
  assert.equal(b.readOut('dir.txt'), '', 'a masked directory is empty');
  assert.notEqual(b.readJson<OpenResult>('dirwrite.json').ok, true, 'a masked directory is not writable');
});

test('config: readonly paths are read-only, the rest of the rootfs is not', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'ro-paths',
    {
      'stat.json': 'berth-checker stat /proc/sys /etc /var',
      'write-etc.json': 'berth-checker open-write /etc/passwd',
      'write-var.json': 'berth-checker open-write /var/newfile --create',
      'write-sys.json': 'berth-checker open-write /proc/sys/kernel/hostname',
    },
    (cfg) => {
      cfg.linux!.readonlyPaths = [...cfg.linux!.readonlyPaths!, '/etc'];
    },
  );
  const [procSys, etc, varDir] = b.readJson<StatResult[]>('stat.json');
  assert.equal(procSys!.readonly, true, '/proc/sys is read-only');
  assert.equal(etc!.readonly, true, '/etc is read-only');
  assert.equal(varDir!.readonly, false, '/var stays writable');
  assert.equal(b.readJson<OpenResult>('write-etc.json').errno, 'EROFS');
  assert.equal(b.readJson<OpenResult>('write-var.json').ok, true);
  assert.equal(b.readJson<OpenResult>('write-sys.json').errno, 'EROFS');
});

test('config: rlimits are applied', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'rlimits', (cfg) => {
    cfg.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 512, hard: 1024 },
      { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 4096 },
      { type: 'RLIMIT_CPU', soft: 1000, hard: 2000 },
    ];
  });
  assert.deepEqual(r.rlimits.RLIMIT_NOFILE, { soft: 512, hard: 1024 });
  assert.deepEqual(r.rlimits.RLIMIT_NPROC, { soft: 300, hard: 400 });
  assert.deepEqual(r.rlimits.RLIMIT_CORE, { soft: 0, hard: 4096 });
  assert.deepEqual(r.rlimits.RLIMIT_CPU, { soft: 1000, hard: 2000 });
});

test('config: RLIMIT_NOFILE above the host hard limit is clamped, not fatal (berth only)', { skip: skip ?? berthOnly('runc fails create when the hard limit exceeds its own') }, async (t) => {
  const s = session(t);
  const hostHard = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
  const r = await reportWith(s, 'rlimit-clamp', (cfg) => {
    cfg.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }];
  });
  assert.ok(r.rlimits.RLIMIT_NOFILE!.hard <= hostHard, `hard ${r.rlimits.RLIMIT_NOFILE!.hard} <= host ${hostHard}`);
  assert.ok(r.rlimits.RLIMIT_NOFILE!.soft <= r.rlimits.RLIMIT_NOFILE!.hard);
});

test('config: capability sets equal the config; inheritable and ambient empty by default', { skip }, async (t) => {
  const s = session(t);
  // For uid 0, execve() sets effective = permitted, so the two are configured alike.
  const r = await reportWith(s, 'caps', (cfg) => {
    cfg.process!.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN'],
      permitted: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
      effective: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW'],
    };
  });
  assert.deepEqual(sorted(r.caps.bounding.names), ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN']);
  assert.deepEqual(sorted(r.caps.permitted.names), ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW']);
  assert.deepEqual(sorted(r.caps.effective.names), ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW']);
  assert.deepEqual(r.caps.inheritable.names, []);
  assert.deepEqual(r.caps.ambient.names, []);
});

test('config: ambient capabilities reach a non-root process', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'ambient', (cfg) => {
    const set = ['CAP_NET_RAW', 'CAP_KILL'];
    cfg.process!.user = { uid: 1000, gid: 1000 };
    cfg.process!.capabilities = { bounding: set, permitted: set, effective: set, inheritable: set, ambient: ['CAP_NET_RAW'] };
  });
  assert.equal(r.uid, 1000);
  assert.deepEqual(r.caps.ambient.names, ['CAP_NET_RAW']);
  assert.deepEqual(r.caps.effective.names, ['CAP_NET_RAW']);
});

test('config: ambient capabilities missing from inheritable are not raised, and the container still runs', { skip }, async (t) => {
  // `runc spec` writes exactly this: ambient = permitted, no inheritable set.
  const s = session(t);
  const r = await reportWith(s, 'ambient-not-inh', (cfg) => {
    const set = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
    cfg.process!.capabilities = { bounding: set, permitted: set, effective: set, ambient: set };
  });
  assert.deepEqual(r.caps.ambient.names, []);
  assert.deepEqual(sorted(r.caps.effective.names), ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE']);
});

test('config: user with additionalGids and umask', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'user', (cfg) => {
    cfg.process!.user = { uid: 1234, gid: 2345, additionalGids: [10, 20], umask: 0o027 };
  });
  assert.equal(r.uid, 1234);
  assert.equal(r.gid, 2345);
  assert.deepEqual([...r.groups].filter((g) => g !== 2345).sort((a, b) => a - b), [10, 20]);
  assert.equal(r.umask, '0027');
  assert.deepEqual(r.caps.effective.names, [], 'a non-root user has no effective caps without ambient');
});

test('config: noNewPrivileges true and false', { skip }, async (t) => {
  const s = session(t);
  const on = await reportWith(s, 'nnp-on', (cfg) => {
    cfg.process!.noNewPrivileges = true;
  });
  const off = await reportWith(s, 'nnp-off', (cfg) => {
    cfg.process!.noNewPrivileges = false;
  });
  assert.equal(on.no_new_privs, 1);
  assert.equal(off.no_new_privs, 0);
});

test('config: seccomp filter (mode 2) returns the configured errno for denied syscalls', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'seccomp',
    { 'report.json': 'berth-checker report', 'mkdir.json': 'berth-checker syscall mkdir', 'getpid.json': 'berth-checker syscall getpid', 'keyctl.json': 'berth-checker syscall keyctl' },
    (cfg) => {
      cfg.linux!.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
          { names: ['keyctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      };
    },
  );
  const r = b.readJson<CheckerReport>('report.json');
  assert.equal(r.seccomp_mode, 2);
  assert.equal(b.readJson<SyscallResult>('mkdir.json').errno, 'EPERM');
  assert.equal(b.readJson<SyscallResult>('keyctl.json').errno, 'ENOSYS');
  assert.equal(b.readJson<SyscallResult>('getpid.json').errno, 'OK');
});

test('config: seccomp defaultAction ERRNO with an allow list', { skip }, async (t) => {
  const s = session(t);
  // Everything busybox sh and the checker need is allowed; mkdir/mkdirat/keyctl are not.
  const allowed = [
    'read', 'write', 'open', 'openat', 'close', 'stat', 'fstat', 'lstat', 'newfstatat', 'statx', 'lseek', 'mmap', 'mprotect',
    'munmap', 'brk', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'ioctl', 'pread64', 'readv', 'writev', 'access',
    'pipe', 'pipe2', 'dup', 'dup2', 'dup3', 'getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'getgroups',
    'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'fcntl', 'getcwd', 'chdir', 'fchdir', 'readlink', 'readlinkat',
    'getdents64', 'uname', 'arch_prctl', 'set_tid_address', 'set_robust_list', 'rseq', 'prlimit64', 'getrlimit',
    'clone', 'clone3', 'vfork', 'fork', 'futex', 'getrandom', 'umask', 'personality', 'ioprio_get', 'sched_getscheduler',
    'sched_getparam', 'getpriority', 'statfs', 'fstatfs', 'sigaltstack', 'prctl', 'getpgrp', 'setpgid', 'getpgid', 'gettid', 'faccessat',
    'faccessat2', 'poll', 'ppoll', 'select', 'pselect6', 'nanosleep', 'clock_nanosleep', 'mremap', 'madvise', 'tgkill', 'kill',
  ];
  const b = await runChecks(
    s,
    'seccomp-allowlist',
    { 'mkdir.json': 'berth-checker syscall mkdir', 'getpid.json': 'berth-checker syscall getpid' },
    (cfg) => {
      cfg.linux!.seccomp = { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, syscalls: [{ names: allowed, action: 'SCMP_ACT_ALLOW' }] };
    },
  );
  assert.equal(b.readJson<SyscallResult>('mkdir.json').errno, 'EPERM');
  assert.equal(b.readJson<SyscallResult>('getpid.json').errno, 'OK');
});

test('config: oomScoreAdj', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'oom', (cfg) => {
    cfg.process!.oomScoreAdj = 345;
  });
  assert.equal(r.oom_score_adj, 345);
});

test('config: sysctl applies inside the new network namespace only', { skip }, async (t) => {
  const s = session(t);
  const hostBefore = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
  const want = hostBefore.trim() === '1' ? '0' : '1';
  const b = await runChecks(s, 'sysctl', { 'fwd.txt': 'cat /proc/sys/net/ipv4/ip_forward' }, (cfg) => {
    cfg.linux!.sysctl = { 'net.ipv4.ip_forward': want };
  });
  assert.equal(b.readOut('fwd.txt'), `${want}\n`);
  assert.equal(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8'), hostBefore, 'the host value is unchanged');
});

test('config: default devices exist with the right numbers and are usable', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(s, 'default-devices', {
    'stat.json': 'berth-checker stat /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty',
    'null.json': 'berth-checker open-write /dev/null',
    'zero.txt': 'head -c 4 /dev/zero | od -An -tx1',
  });
  const expected: Record<string, [number, number]> = {
    '/dev/null': [1, 3], '/dev/zero': [1, 5], '/dev/full': [1, 7], '/dev/random': [1, 8], '/dev/urandom': [1, 9], '/dev/tty': [5, 0],
  };
  for (const st of b.readJson<StatResult[]>('stat.json')) {
    assert.equal(st.type, 'char', `${st.path} is a char device`);
    assert.deepEqual([st.major, st.minor], expected[st.path], `${st.path} numbers`);
  }
  assert.equal(b.readJson<OpenResult>('null.json').ok, true, '/dev/null is writable (device cgroup allows it)');
  assert.match(b.readOut('zero.txt') ?? '', /00 00 00 00/);
});

test('config: linux.devices are created with type, numbers and mode', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'devices',
    { 'stat.json': 'berth-checker stat /dev/fuse /dev/custom-null /dev/typed-zero', 'write.json': 'berth-checker open-write /dev/custom-null' },
    (cfg) => {
      cfg.linux!.devices = [
        { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o640, uid: 0, gid: 0 },
        { type: 'c', path: '/dev/custom-null', major: 1, minor: 3, fileMode: 0o666 },
        // fileMode with the node's type bits too, as podman writes it (st_mode of the host node).
        { type: 'c', path: '/dev/typed-zero', major: 1, minor: 5, fileMode: 0o20644 },
      ];
      cfg.linux!.resources!.devices = [...cfg.linux!.resources!.devices!, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }];
    },
  );
  const [fuse, custom, typed] = b.readJson<StatResult[]>('stat.json');
  assert.equal(fuse!.type, 'char');
  assert.deepEqual([fuse!.major, fuse!.minor, fuse!.mode], [10, 229, '0640']);
  assert.deepEqual([custom!.major, custom!.minor, custom!.mode], [1, 3, '0666']);
  assert.deepEqual([typed!.type, typed!.major, typed!.minor, typed!.mode], ['char', 1, 5, '0644']);
  assert.equal(b.readJson<OpenResult>('write.json').ok, true);
});

test('config: tmpfs and read-only bind mounts', { skip }, async (t) => {
  const s = session(t);
  const b = await runChecks(
    s,
    'mounts',
    {
      'report.json': 'berth-checker report',
      'data.txt': 'cat /data/hello',
      'data-write.json': 'berth-checker open-write /data/new --create',
      'scratch-write.json': 'berth-checker open-write /scratch/new --create',
      'stat.json': 'berth-checker stat /scratch /data',
    },
    (cfg, bundle) => {
      const data = join(bundle.dir, 'data');
      mkdirSync(data);
      writeFileSync(join(data, 'hello'), 'from the host\n');
      cfg.mounts!.push(
        { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m', 'mode=1777'] },
        { destination: '/data', type: 'bind', source: data, options: ['bind', 'ro'] },
      );
    },
  );
  const r = b.readJson<CheckerReport>('report.json');
  const scratch = r.mounts.find((m) => m.mount_point === '/scratch');
  assert.equal(scratch?.fstype, 'tmpfs');
  assert.match(scratch!.options, /nosuid/);
  assert.match(scratch!.options, /nodev/);
  assert.equal(b.readOut('data.txt'), 'from the host\n');
  assert.equal(b.readJson<OpenResult>('data-write.json').errno, 'EROFS');
  assert.equal(b.readJson<OpenResult>('scratch-write.json').ok, true);
  const [scratchStat, dataStat] = b.readJson<StatResult[]>('stat.json');
  assert.equal(scratchStat!.mode, '1777');
  assert.equal(dataStat!.readonly, true);
});

test(
  'config: with --systemd-cgroup, cgroupsPath "slice:prefix:name" is the cgroup /slice/prefix-name.scope',
  { skip: skip ?? berthOnly('runc needs a running systemd for --systemd-cgroup') },
  async (t) => {
    // What podman (cgroup_manager = "systemd") and containerd (SystemdCgroup) pass.
    const s = session(t);
    const slice = `berth-conformance-${process.pid}.slice`;
    t.after(() => {
      for (const dir of Object.values(cgroupHostPaths(slice))) if (existsSync(dir)) removeCgroupTree(dir);
    });
    const { id, bundle } = s.bundle('systemd', (cfg) => {
      cfg.process!.args = readyThenSleep();
      cfg.linux!.cgroupsPath = `${slice}:berth:x`;
      cfg.linux!.resources = { ...cfg.linux!.resources, pids: { limit: 33 } };
    });
    const c = s.rt(['--systemd-cgroup', 'create', '--bundle', bundle.dir, id]);
    s.track(id);
    assert.equal(c.code, 0, c.stderr);
    s.rtOk(['--systemd-cgroup', 'start', id]);
    await bundle.waitForOut('ready');
    const pid = s.stateOk(id).pid!;
    const pids = cgroupHostPaths(`/${slice}/berth-x.scope`).pids!;
    assert.equal(readFileSync(join(pids, 'pids.max'), 'utf8').trim(), '33');
    assert.ok(readFileSync(join(pids, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), 'the init process is in the scope');
    s.rtOk(['--systemd-cgroup', 'delete', '--force', id]);
    assert.ok(!existsSync(pids), 'delete removes the scope cgroup');
  },
);

test('config: a tmpfs with tmpcopyup starts with the image\'s files, and writes stay in the tmpfs', { skip }, async (t) => {
  // runc's extension, used by podman for --tmpfs and for the tmpfs mounts of --read-only.
  const s = session(t);
  const b = await runChecks(
    s,
    'tmpcopyup',
    {
      'report.json': 'berth-checker report',
      'seed.txt': '{ cat /seed/top.txt /seed/sub/deep.txt; readlink /seed/link; stat -c "%a %u:%g" /seed /seed/sub /seed/sub/deep.txt; }',
      'write.txt': '{ echo changed > /seed/top.txt && echo new > /seed/new.txt && echo written; }',
    },
    (cfg, bundle) => {
      const seed = join(bundle.rootfs, 'seed');
      mkdirSync(join(seed, 'sub'), { recursive: true });
      writeFileSync(join(seed, 'top.txt'), 'top\n');
      writeFileSync(join(seed, 'sub', 'deep.txt'), 'deep\n');
      symlinkSync('/etc/passwd', join(seed, 'link'));
      chmodSync(join(seed, 'sub'), 0o750);
      chmodSync(seed, 0o751);
      chownSync(join(seed, 'sub', 'deep.txt'), 123, 456);
      cfg.mounts!.push({ destination: '/seed', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'rprivate', 'nosuid', 'nodev', 'tmpcopyup'] });
    },
  );
  const seedMount = b.readJson<CheckerReport>('report.json').mounts.find((m) => m.mount_point === '/seed');
  assert.equal(seedMount?.fstype, 'tmpfs');
  // The tmpfs root takes the image directory's mode (not tmpfs's default 1777), as with runc.
  assert.equal(b.readOut('seed.txt'), 'top\ndeep\n/etc/passwd\n751 0:0\n750 0:0\n644 123:456\n');
  assert.equal(b.readOut('write.txt'), 'written\n');
  assert.equal(readFileSync(join(b.rootfs, 'seed', 'top.txt'), 'utf8'), 'top\n', 'the image\'s file is untouched');
  assert.ok(!existsSync(join(b.rootfs, 'seed', 'new.txt')), 'new files live in the tmpfs only');
});

test('config: cgroup memory and pids limits apply to the container\'s cgroup', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('cgroup-limits', (cfg) => {
    cfg.process!.args = sh(`berth-checker report > ${OUT}/report.json; cat /sys/fs/cgroup/memory/memory.limit_in_bytes > ${OUT}/inside-mem; echo ready > ${OUT}/ready; exec sleep 1000000`);
    cfg.linux!.resources = { ...cfg.linux!.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 42 }, cpu: { shares: 512 } };
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const pid = s.stateOk(id).pid!;
  const host = cgroupHostPaths(bundle.cgroupsPath);
  assert.equal(readFileSync(join(host.memory!, 'memory.limit_in_bytes'), 'utf8').trim(), String(64 * 1024 * 1024));
  assert.equal(readFileSync(join(host.pids!, 'pids.max'), 'utf8').trim(), '42');
  assert.equal(readFileSync(join(host.cpu!, 'cpu.shares'), 'utf8').trim(), '512');
  for (const controller of ['memory', 'pids', 'cpu']) {
    const procs = readFileSync(join(host[controller]!, 'cgroup.procs'), 'utf8').split('\n');
    assert.ok(procs.includes(String(pid)), `init ${pid} is in the ${controller} cgroup`);
  }
  const report = bundle.readJson<CheckerReport>('report.json');
  assert.ok(report.cgroup.some((l) => l.controllers === 'memory' && l.path.endsWith(bundle.cgroupsPath)), 'the process sees its memory cgroup');
  // The cgroup mount shows the container its own cgroup at the hierarchy's root.
  assert.equal(bundle.readOut('inside-mem')?.trim(), String(64 * 1024 * 1024), 'memory limit visible at /sys/fs/cgroup/memory inside');
});

test('config: personality LINUX32', { skip: skip ?? berthOnly('runc 1.1 ignores linux.personality') }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'personality', (cfg) => {
    cfg.linux!.personality = { domain: 'LINUX32' };
  });
  assert.equal(r.personality.domain, 'LINUX32');
});

test('config: process.cwd that does not exist is created', { skip }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'cwd-create', (cfg) => {
    cfg.process!.cwd = '/work/dir';
  });
  assert.equal(r.cwd, '/work/dir');
});

test('config: ioPriority', { skip: skip ?? berthOnly('runc 1.1 ignores process.ioPriority') }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'ioprio', (cfg) => {
    cfg.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 };
  });
  assert.deepEqual(r.ioprio, { class: 'IOPRIO_CLASS_BE', priority: 6 });
});

test('config: scheduler policy and nice', { skip: skip ?? berthOnly('runc 1.1 ignores process.scheduler') }, async (t) => {
  const s = session(t);
  const r = await reportWith(s, 'sched', (cfg) => {
    cfg.process!.scheduler = { policy: 'SCHED_BATCH', nice: 5 };
  });
  assert.equal(r.scheduler.policy, 'SCHED_BATCH');
  assert.equal(r.scheduler.nice, 5);
});
