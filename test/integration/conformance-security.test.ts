/**
 * Conformance: security properties a runtime must keep even against a hostile rootfs or
 * careless callers: no fd leaks into the container, no writable /proc/1/exe, symlinks in the
 * rootfs never redirect mounts, masks or the exec cwd to the host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { session, skipReason, type RuntimeSession } from '../helpers/runtime';
import { OUT, readyThenSleep, sh, type Bundle, type CheckerReport, type StatResult } from '../helpers/bundle';

const skip = skipReason({ checker: true });

/** A host directory with a marker file, removed after the test. */
function hostCanary(t: { after: (fn: () => void) => void }): { dir: string; marker: string } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-canary-'));
  const marker = `marker-${randomBytes(4).toString('hex')}`;
  writeFileSync(join(dir, marker), 'host secret\n');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, marker };
}

/** A symlink in the rootfs at `linkPath` whose target climbs out of the rootfs to `hostPath`. */
function escapingSymlink(bundle: Bundle, linkPath: string, hostPath: string): void {
  symlinkSync(`/../../../../../../..${hostPath}`, join(bundle.rootfs, linkPath));
}

function hostMountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!);
}

async function runningContainer(s: RuntimeSession, label: string, mutate?: (bundle: Bundle) => void): Promise<{ id: string; bundle: Bundle }> {
  const { id, bundle } = s.bundle(label, (cfg, b) => {
    cfg.process!.args = readyThenSleep();
    mutate?.(b);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  return { id, bundle };
}

test('security: an fd inherited by the runtime is not visible in the container', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const leaked = openSync(join(dir, marker), 'r');
  t.after(() => closeSync(leaked));
  const { id, bundle } = s.bundle('fd-leak');
  const c = s.createContainer(id, bundle.dir, { rt: { extraFds: [leaked] } });
  assert.equal(c.code, 0, c.stderr);
  s.rtOk(['start', id]);
  await s.waitForStatus(id, 'stopped');
  const report = bundle.readJson<CheckerReport>('report.json');
  const fds = report.fds.map((f) => f.fd).sort((a, b) => a - b);
  assert.deepEqual(fds, [0, 1, 2], `only stdio is open in the container: ${JSON.stringify(report.fds)}`);
  assert.ok(!report.fds.some((f) => f.target?.includes(marker)), 'the host file is not reachable through an fd');
});

test('security: --preserve-fds 1 passes exactly fd 3 (control for the leak test)', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const passed = openSync(join(dir, marker), 'r');
  const notPassed = openSync(join(dir, marker), 'r');
  t.after(() => {
    closeSync(passed);
    closeSync(notPassed);
  });
  const { id, bundle } = s.bundle('preserve-fds', (cfg) => {
    cfg.process!.args = sh(`berth-checker report > ${OUT}/report.json; cat <&3 > ${OUT}/via-fd3`);
  });
  const c = s.createContainer(id, bundle.dir, { extraArgs: ['--preserve-fds', '1'], rt: { extraFds: [passed, notPassed] } });
  assert.equal(c.code, 0, c.stderr);
  s.rtOk(['start', id]);
  await s.waitForStatus(id, 'stopped');
  const fds = bundle.readJson<CheckerReport>('report.json').fds.map((f) => f.fd).sort((a, b) => a - b);
  assert.deepEqual(fds, [0, 1, 2, 3]);
  assert.equal(bundle.readOut('via-fd3'), 'host secret\n');
});

test('security: an fd inherited by `exec` is not visible to the exec process', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const leaked = openSync(join(dir, marker), 'r');
  t.after(() => closeSync(leaked));
  const { id } = await runningContainer(s, 'exec-fd-leak');
  const r = s.rt(['exec', id, 'berth-checker', 'report'], { extraFds: [leaked] });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as CheckerReport;
  assert.deepEqual(report.fds.map((f) => f.fd).sort((a, b) => a - b), [0, 1, 2], JSON.stringify(report.fds));
});

test('security: /proc/1/exe cannot be opened for writing from the container or an exec', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('proc-exe', (cfg) => {
    cfg.process!.args = sh(`berth-checker exe-access 1 > ${OUT}/init.json; berth-checker exe-access self > ${OUT}/self.json; echo ready > ${OUT}/ready; exec sleep 1000000`);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const fromInit = bundle.readJson<{ exe_access: { write: { ok: boolean } } }>('init.json');
  assert.equal(fromInit.exe_access.write.ok, false, '/proc/1/exe is not writable from the container');
  assert.equal(bundle.readJson<{ exe_access: { write: { ok: boolean } } }>('self.json').exe_access.write.ok, false);
  for (const target of ['1', 'self']) {
    const r = s.rt(['exec', id, 'berth-checker', 'exe-access', target]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { exe_access: { write: { ok: boolean } } }).exe_access.write.ok, false, `/proc/${target}/exe from exec`);
  }
  // Also as a process with every capability the container could be given.
  const r = s.rt(['exec', '--cap', 'CAP_SYS_ADMIN', '--cap', 'CAP_DAC_OVERRIDE', '--cap', 'CAP_SYS_PTRACE', id, 'berth-checker', 'exe-access', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { exe_access: { write: { ok: boolean } } }).exe_access.write.ok, false);
});

test('security: a mount destination that is a symlink out of the rootfs stays inside', { skip }, async (t) => {
  const s = session(t);
  const canaryPath = join(tmpdir(), `berth-host-canary-${randomBytes(4).toString('hex')}`);
  t.after(() => rmSync(canaryPath, { recursive: true, force: true }));
  const data = mkdtempSync(join(tmpdir(), 'berth-bind-src-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  writeFileSync(join(data, 'payload'), 'bound\n');
  const { id, bundle } = s.bundle('mount-symlink', (cfg, b) => {
    escapingSymlink(b, 'evil-tmpfs', `${canaryPath}-tmpfs`);
    symlinkSync(`../../../../../../..${canaryPath}-bind`, join(b.rootfs, 'evil-bind'));
    cfg.process!.args = sh(`cat /evil-bind/payload > ${OUT}/payload 2>&1; echo done > ${OUT}/done`);
    cfg.mounts!.push(
      { destination: '/evil-tmpfs', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
      { destination: '/evil-bind', type: 'bind', source: data, options: ['bind', 'ro'] },
    );
  });
  const c = s.createContainer(id, bundle.dir);
  if (c.code === 0) {
    s.rtOk(['start', id]);
    await s.waitForStatus(id, 'stopped');
  }
  // Whether the runtime resolves the symlink inside the rootfs or refuses the mount, the host
  // path must neither be created nor mounted on.
  for (const suffix of ['-tmpfs', '-bind']) {
    assert.ok(!existsSync(`${canaryPath}${suffix}`), `${canaryPath}${suffix} was not created on the host`);
    assert.ok(!hostMountPoints().some((m) => m.startsWith(canaryPath)), 'nothing is mounted on the host path');
  }
  if (c.code === 0) {
    assert.equal(bundle.readOut('payload'), 'bound\n', 'the bind mount landed inside the rootfs, where the symlink points');
    assert.ok(existsSync(join(bundle.rootfs, `${canaryPath}-bind`)) || existsSync(join(bundle.rootfs, `${canaryPath}-tmpfs`)), 'the mount points were created inside the rootfs');
  }
});

test('security: a masked path that is a symlink is still masked inside', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('mask-symlink', (cfg, b) => {
    writeFileSync(join(b.rootfs, 'etc', 'secret-target'), 'must be masked\n');
    symlinkSync('/etc/secret-target', join(b.rootfs, 'secret-link'));
    mkdirSync(join(b.rootfs, 'etc', 'secret-dir'));
    writeFileSync(join(b.rootfs, 'etc', 'secret-dir', 'inside'), 'must be masked\n');
    symlinkSync('etc/secret-dir', join(b.rootfs, 'secret-dir-link'));
    cfg.linux!.maskedPaths = [...cfg.linux!.maskedPaths!, '/secret-link', '/secret-dir-link'];
    cfg.process!.args = sh(
      `cat /secret-link > ${OUT}/file.txt 2>/dev/null; cat /etc/secret-target > ${OUT}/target.txt 2>/dev/null; ` +
        `ls -A /secret-dir-link/ > ${OUT}/dir.txt 2>/dev/null; berth-checker stat /secret-link > ${OUT}/stat.json`,
    );
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readOut('file.txt'), '', 'reading through the masked symlink yields nothing');
  assert.equal(bundle.readOut('target.txt'), '', 'the file the symlink points to is masked');
  assert.equal(bundle.readOut('dir.txt'), '', 'the directory behind the masked symlink is empty');
  const [st] = bundle.readJson<StatResult[]>('stat.json');
  assert.deepEqual([st!.type, st!.major, st!.minor], ['char', 1, 3]);
  assert.equal(readFileSync(join(bundle.rootfs, 'etc', 'secret-target'), 'utf8'), 'must be masked\n', 'the rootfs file itself is untouched');
});

test('security: a masked path that is a symlink out of the rootfs does not touch the host', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const { id, bundle } = s.bundle('mask-escape', (cfg, b) => {
    escapingSymlink(b, 'mask-escape', join(dir, marker));
    cfg.linux!.maskedPaths = [...cfg.linux!.maskedPaths!, '/mask-escape'];
    cfg.process!.args = ['true'];
  });
  const c = s.createContainer(id, bundle.dir);
  if (c.code === 0) {
    s.rtOk(['start', id]);
    await s.waitForStatus(id, 'stopped');
  }
  assert.equal(readFileSync(join(dir, marker), 'utf8'), 'host secret\n', 'the host file is intact');
  assert.ok(!hostMountPoints().some((m) => m.startsWith(dir)), 'nothing is mounted on the host path');
});

test('security: exec --cwd through a symlink out of the rootfs does not escape', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const { id } = await runningContainer(s, 'cwd-escape', (b) => {
    escapingSymlink(b, 'escape', dir);
    symlinkSync(`../../../../../../../..${dir}`, join(b.rootfs, 'escape-rel'));
  });
  for (const cwd of ['/escape', '/escape-rel']) {
    const r = s.rt(['exec', '--cwd', cwd, id, 'sh', '-c', 'pwd; ls -A .; cat ./* 2>/dev/null']);
    assert.ok(!r.stdout.includes(marker), `exec --cwd ${cwd} did not reach the host directory: ${r.stdout}`);
    assert.ok(!r.stdout.includes('host secret'), 'the host file was not readable');
  }
});

test('security: process.cwd through a symlink out of the rootfs does not escape', { skip }, async (t) => {
  const s = session(t);
  const { dir, marker } = hostCanary(t);
  const { id, bundle } = s.bundle('config-cwd-escape', (cfg, b) => {
    escapingSymlink(b, 'escape', dir);
    cfg.process!.cwd = '/escape';
    cfg.process!.args = sh(`ls -A . > ${OUT}/ls.txt`);
  });
  const c = s.createContainer(id, bundle.dir);
  if (c.code === 0) {
    s.rtOk(['start', id]);
    await s.waitForStatus(id, 'stopped');
  }
  assert.ok(!(bundle.readOut('ls.txt') ?? '').includes(marker), 'the container did not list the host directory');
});

test('security: the container sees only its own processes', { skip }, async (t) => {
  const s = session(t);
  const { id } = await runningContainer(s, 'pid-isolation');
  const r = s.rt(['exec', id, 'sh', '-c', 'ls /proc | grep -E "^[0-9]+$"']);
  assert.equal(r.code, 0, r.stderr);
  const pids = r.stdout.trim().split('\n').map(Number);
  assert.ok(pids.includes(1), 'init is pid 1');
  assert.ok(pids.length <= 5, `only the container's processes are visible: ${pids}`);
  assert.ok(!pids.includes(process.pid) || process.pid <= 5, 'the test runner is not visible');
});
