import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { computeCapabilities } from '../../src/engine/spec/capabilities';
import { buildOciSpec, checkNamespaceModes, containerEnv, type SpecInput } from '../../src/engine/spec/oci';
import { buildResources, parseDeviceCgroupRule, privilegedDevices } from '../../src/engine/spec/resources';
import { resolveUser } from '../../src/engine/spec/user';
import { readFileInRoot, resolveInRoot } from '../../src/engine/spec/root-files';
import { validateConfig } from '../../src/spec/validate';
import { DEFAULT_CAPABILITIES } from '../../src/spec/capabilities';
import { BerthError } from '../../src/core/errors';

function tmp(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'berth-engine-spec-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const isInvalid = (re: RegExp) => (e: unknown) => e instanceof BerthError && e.code === 'EINVALID_ARGUMENT' && re.test(e.message);

test('capabilities: docker defaults, add/drop with or without CAP_, ALL, privileged', () => {
  assert.deepEqual(new Set(computeCapabilities({})), new Set(DEFAULT_CAPABILITIES));
  const added = computeCapabilities({ capAdd: ['net_admin', 'CAP_SYS_PTRACE'], capDrop: ['MKNOD'] });
  assert.ok(added.includes('CAP_NET_ADMIN') && added.includes('CAP_SYS_PTRACE') && !added.includes('CAP_MKNOD'));
  assert.deepEqual(computeCapabilities({ capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'] }), ['CAP_NET_BIND_SERVICE']);
  assert.ok(computeCapabilities({ capAdd: ['ALL'] }).includes('CAP_SYS_ADMIN'));
  assert.ok(computeCapabilities({ privileged: true }).length > 38);
  assert.throws(() => computeCapabilities({ capAdd: ['FLY'] }), isInvalid(/unknown capability "FLY" in --cap-add/));
});

test('resources: memory/swap defaults, cpus as quota, pids, device rules', () => {
  const r = buildResources({ Memory: 64 << 20, NanoCpus: 1.5e9, PidsLimit: 50, CpuShares: 512, BlkioWeight: 300 }, []);
  assert.deepEqual(r.memory, { limit: 64 << 20, swap: 128 << 20 });
  assert.deepEqual(r.cpu, { period: 100000, quota: 150000, shares: 512 });
  assert.deepEqual(r.pids, { limit: 50 });
  assert.deepEqual(r.blockIO, { weight: 300 });
  assert.deepEqual(r.devices![0], { allow: false, access: 'rwm' });
  assert.deepEqual(buildResources({ Memory: 100, MemorySwap: -1 }, []).memory, { limit: 100, swap: -1 });
  assert.throws(() => buildResources({ Memory: 100, MemorySwap: 50 }, []), isInvalid(/--memory-swap must be larger/));
  assert.throws(() => buildResources({ NanoCpus: 1e9, CpuQuota: 5000 }, []), isInvalid(/--cpus cannot be combined/));
  assert.deepEqual(buildResources({ Privileged: true }, []).devices, [{ allow: true, access: 'rwm' }]);
  assert.deepEqual(parseDeviceCgroupRule('c 1:* rw'), { allow: true, type: 'c', major: 1, minor: null, access: 'rw' });
  assert.throws(() => parseDeviceCgroupRule('x 1'), isInvalid(/invalid device cgroup rule/));
});

test('env: PATH and HOSTNAME defaults, TERM for a tty, user entries override, HOME from passwd', () => {
  assert.deepEqual(containerEnv({ Env: ['A=1', 'PATH=/x'] }, 'h', '/root'), ['PATH=/x', 'HOSTNAME=h', 'A=1', 'HOME=/root']);
  assert.ok(containerEnv({ Tty: true }, 'h', '/').includes('TERM=xterm'));
  assert.ok(containerEnv({ Env: ['HOME=/data'] }, 'h', '/root').includes('HOME=/data'));
});

test('user: names and ids from the image passwd/group; supplementary groups; clear errors', async (t) => {
  const root = tmp(t);
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:\n');
  assert.deepEqual(await resolveUser(root, undefined), { uid: 0, gid: 0, additionalGids: [], home: '/root' });
  assert.deepEqual(await resolveUser(root, 'app'), { uid: 1000, gid: 1000, additionalGids: [10], home: '/home/app' });
  assert.deepEqual(await resolveUser(root, 'app:audio'), { uid: 1000, gid: 29, additionalGids: [], home: '/home/app' });
  assert.deepEqual(await resolveUser(root, '4242:7'), { uid: 4242, gid: 7, additionalGids: [], home: '/' });
  assert.deepEqual(await resolveUser(root, '1000', ['audio', '99']), { uid: 1000, gid: 1000, additionalGids: [10, 29, 99], home: '/home/app' });
  await assert.rejects(resolveUser(root, 'nobody'), isInvalid(/unable to find user nobody: no matching entries in passwd file/));
  await assert.rejects(resolveUser(root, 'app:nogroup'), isInvalid(/unable to find group nogroup/));
});

test('root files: symlinks in the image cannot lead out of the rootfs', async (t) => {
  const dir = tmp(t);
  const root = join(dir, 'root');
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'secret'), 'host secret');
  symlinkSync('../../secret', join(root, 'etc', 'passwd'));
  symlinkSync(join(dir, 'secret'), join(root, 'etc', 'group'));
  mkdirSync(join(root, 'real'));
  writeFileSync(join(root, 'real', 'f'), 'inside');
  symlinkSync('/real', join(root, 'link'));
  assert.equal(await readFileInRoot(root, '/etc/passwd'), undefined, 'a climbing link stops at the root');
  assert.equal(await readFileInRoot(root, '/etc/group'), undefined, 'an absolute link resolves inside the root');
  assert.equal(await readFileInRoot(root, '/link/f'), 'inside');
  assert.equal(await resolveInRoot(root, '/../../etc/../link/f'), join(root, 'real', 'f'));
  symlinkSync('loop', join(root, 'loop'));
  await assert.rejects(resolveInRoot(root, '/loop'), /too many levels/);
});

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: '0123456789abcdef'.repeat(4),
    config: { Cmd: ['sh'], Env: ['A=1'] },
    hostConfig: {},
    rootfs: '/tmp/rootfs',
    user: { uid: 0, gid: 0, additionalGids: [], home: '/root' },
    cgroupsPath: '/berth/x',
    cgroupV2: false,
    seccomp: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
    ...over,
  };
}

test('oci spec: docker defaults validate against the runtime schema', async () => {
  const spec = await buildOciSpec(input());
  validateConfig(JSON.parse(JSON.stringify(spec)));
  assert.equal(spec.hostname, '0123456789ab');
  assert.deepEqual(spec.process!.args, ['sh']);
  assert.deepEqual(spec.process!.capabilities!.bounding, computeCapabilities({}));
  assert.equal(spec.process!.capabilities!.inheritable, undefined, 'no inheritable capabilities (CVE-2022-24769)');
  assert.ok(spec.linux!.maskedPaths!.includes('/proc/kcore'));
  assert.ok(spec.linux!.readonlyPaths!.includes('/proc/sys'));
  assert.deepEqual(spec.linux!.namespaces!.map((n) => n.type).sort(), ['ipc', 'mount', 'network', 'pid', 'uts']);
  assert.ok(spec.mounts!.some((m) => m.destination === '/dev/shm' && m.options!.includes('size=67108864')));
  assert.ok(spec.linux!.seccomp);
});

test('oci spec: host namespaces, joins, cgroupns on v2, privileged, read-only, init, sysctls', async () => {
  const host = await buildOciSpec(input({ hostConfig: { NetworkMode: 'host', PidMode: 'host', UTSMode: 'host' } }));
  assert.deepEqual(host.linux!.namespaces!.map((n) => n.type).sort(), ['ipc', 'mount']);
  assert.equal(host.hostname, undefined);
  const joined = await buildOciSpec(input({ hostConfig: { NetworkMode: 'container:web' }, joinNamespaces: { network: '/proc/42/ns/net' } }));
  assert.deepEqual(joined.linux!.namespaces!.find((n) => n.type === 'network'), { type: 'network', path: '/proc/42/ns/net' });
  assert.ok((await buildOciSpec(input({ cgroupV2: true }))).linux!.namespaces!.some((n) => n.type === 'cgroup'));
  const priv = await buildOciSpec(input({ hostConfig: { Privileged: true }, seccomp: undefined }));
  assert.deepEqual(priv.linux!.maskedPaths, []);
  assert.equal(priv.linux!.seccomp, undefined);
  assert.ok(!priv.mounts!.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  const ro = await buildOciSpec(input({ hostConfig: { ReadonlyRootfs: true }, etcFiles: { hosts: '/h' } }));
  assert.equal(ro.root!.readonly, true);
  assert.deepEqual(ro.mounts!.find((m) => m.destination === '/etc/hosts')!.options, ['rbind', 'rprivate', 'ro']);
  const init = await buildOciSpec(input({ initBinary: '/usr/lib/berth/init' }));
  assert.deepEqual(init.process!.args, ['/dev/init', '--', 'sh']);
  await assert.rejects(buildOciSpec(input({ hostConfig: { Sysctls: { 'kernel.panic': '1' } } })), isInvalid(/not namespaced/));
  await assert.rejects(buildOciSpec(input({ hostConfig: { NetworkMode: 'host', Sysctls: { 'net.ipv4.ip_forward': '1' } } })), isInvalid(/--network host/));
  await assert.rejects(buildOciSpec(input({ config: {} })), isInvalid(/no command specified/));
  await assert.rejects(buildOciSpec(input({ hostConfig: { SecurityOpt: ['bogus'] } })), isInvalid(/invalid --security-opt/));
  const ul = await buildOciSpec(input({ hostConfig: { Ulimits: [{ Name: 'nofile', Soft: 100, Hard: 200 }] } }));
  assert.deepEqual(ul.process!.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }]);
});

test('image config merge: entrypoint/cmd rules, env by key, unions, health override', async () => {
  const { mergeImageConfig } = await import('../../src/engine/spec/image-merge');
  const img = {
    Entrypoint: ['/entry'], Cmd: ['serve'], Env: ['PATH=/bin', 'A=img'], WorkingDir: '/app', User: 'app',
    Labels: { a: '1' }, ExposedPorts: { '80/tcp': {} }, Volumes: { '/data': {} }, StopSignal: 'SIGQUIT',
    Healthcheck: { Test: ['CMD', 'true'], Interval: 30e9, Retries: 3 },
  };
  const plain = mergeImageConfig(img, {});
  assert.deepEqual([plain.Entrypoint, plain.Cmd, plain.WorkingDir, plain.User, plain.StopSignal], [['/entry'], ['serve'], '/app', 'app', 'SIGQUIT']);
  assert.deepEqual(mergeImageConfig(img, { Cmd: ['sh'] }).Cmd, ['sh']);
  const ep = mergeImageConfig(img, { Entrypoint: ['/bin/sh'] });
  assert.deepEqual([ep.Entrypoint, ep.Cmd], [['/bin/sh'], undefined], 'a new entrypoint drops the image CMD');
  const cleared = mergeImageConfig(img, { Entrypoint: [], Cmd: ['ls'] });
  assert.deepEqual([cleared.Entrypoint, cleared.Cmd], [undefined, ['ls']]);
  assert.deepEqual(mergeImageConfig(img, { Env: ['A=user', 'B=2'] }).Env, ['PATH=/bin', 'A=user', 'B=2']);
  const u = mergeImageConfig(img, { Labels: { b: '2' }, ExposedPorts: { '53/udp': {} }, Volumes: { '/logs': {} }, User: 'root' });
  assert.deepEqual(u.Labels, { a: '1', b: '2' });
  assert.deepEqual(Object.keys(u.ExposedPorts!), ['53/udp', '80/tcp']);
  assert.deepEqual(Object.keys(u.Volumes!), ['/data', '/logs']);
  assert.equal(u.User, 'root');
  assert.deepEqual(mergeImageConfig(img, { Healthcheck: { Interval: 5e9 } }).Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Retries: 3 });
  assert.deepEqual(mergeImageConfig(img, { Healthcheck: { Test: ['NONE'] } }).Healthcheck, { Test: ['NONE'] });
});

test('capabilities: "all" is what the engine holds; naming one it lacks fails at create', () => {
  const available = DEFAULT_CAPABILITIES.concat(['CAP_SYS_ADMIN', 'CAP_NET_ADMIN']);
  assert.deepEqual(new Set(computeCapabilities({ privileged: true, available })), new Set(available));
  assert.ok(!computeCapabilities({ capAdd: ['ALL'], capDrop: ['NET_ADMIN'], available }).includes('CAP_NET_ADMIN'));
  assert.ok(computeCapabilities({ capAdd: ['SYS_ADMIN'], available }).includes('CAP_SYS_ADMIN'));
  assert.throws(() => computeCapabilities({ capAdd: ['SYS_RESOURCE'], available }), isInvalid(/--cap-add SYS_RESOURCE: this engine does not hold CAP_SYS_RESOURCE/));
});

test('namespace modes: unknown values and --userns are refused, container:NAME and host accepted', () => {
  const hc = (over: Record<string, string>) => ({ ...over }) as unknown as import('../../src/engine/docker-types').HostConfig;
  assert.doesNotThrow(() => checkNamespaceModes(hc({ PidMode: 'host', IpcMode: 'shareable', UTSMode: 'container:x', UsernsMode: 'host' })));
  assert.throws(() => checkNamespaceModes(hc({ PidMode: 'sideways' })), isInvalid(/invalid --pid "sideways"/));
  assert.throws(() => checkNamespaceModes(hc({ IpcMode: 'container:' })), isInvalid(/invalid --ipc/));
  assert.throws(() => checkNamespaceModes(hc({ UsernsMode: 'auto' })), (e: unknown) => e instanceof BerthError && e.code === 'EUNSUPPORTED' && /--userns auto/.test(e.message));
});

test('privileged devices: every char and block node under /dev, not pts/shm/mqueue or symlinks', async () => {
  const devs = await privilegedDevices();
  assert.ok(devs.some((d) => d.path === '/dev/null' && d.type === 'c' && d.major === 1 && d.minor === 3));
  assert.ok(devs.every((d) => !d.path.startsWith('/dev/pts/') && !d.path.startsWith('/dev/shm/') && d.path !== '/dev/console'));
  assert.ok(devs.every((d) => d.type === 'c' || d.type === 'b'));
});

test('spec: a volume over /etc keeps /etc/hosts, hostname and resolv.conf (mounted after it); a mount of the user at one of them wins', async () => {
  const etcFiles = { hosts: '/run/h', hostname: '/run/n', resolvConf: '/run/r' };
  const vol = { destination: '/etc', type: 'bind', source: '/var/lib/berth/volumes/v/_data', options: ['rbind'] };
  const spec = await buildOciSpec(input({ etcFiles, mounts: [vol] }));
  const order = spec.mounts!.map((m) => m.destination);
  for (const f of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) assert.ok(order.indexOf(f) > order.indexOf('/etc'), `${f} after /etc: ${order.join(' ')}`);
  const mine = await buildOciSpec(input({ etcFiles, mounts: [{ destination: '/etc/hosts', type: 'bind', source: '/srv/hosts', options: ['rbind'] }] }));
  assert.deepEqual(mine.mounts!.filter((m) => m.destination === '/etc/hosts').map((m) => m.source), ['/srv/hosts']);
});
