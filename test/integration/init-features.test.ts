/**
 * berth-init: user namespaces, exec into a running container, fd hygiene, the sealed binary,
 * and error paths that must leave no process behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { baseConfig, createStartWait, processAlive, sandbox, skipReason, startFifo } from './init-helpers';
import { startInit, type InitHandle } from '../../src/runtime/init-driver';
import { BerthError } from '../../src/core/errors';

const skip = skipReason();

function gone(pid: number): boolean {
  if (!processAlive(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && !gone(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return gone(pid);
}

test('init: user namespace with mappings', { skip }, async (t) => {
  const sb = sandbox('userns');
  t.after(() => sb.cleanup());
  chmodSync(sb.dir, 0o755);
  execFileSync('chown', ['-R', '100000:100000', sb.rootfs]);
  const cfg = baseConfig(sb.rootfs, 'cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /dev/null; echo caps=$(grep CapEff /proc/self/status)');
  cfg.linux!.namespaces!.push({ type: 'user' });
  cfg.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  cfg.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const r = await createStartWait(sb, cfg);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^\s*0\s+100000\s+65536$/m);
  assert.match(r.stdout, /^0$/m, 'root inside');
  assert.match(r.stdout, /^crw-rw-rw-\s+1 \d+\s+\d+\s+1,\s+3 .*\/dev\/null$/m, '/dev/null is the null device (bound from the host)');
  assert.match(r.stdout, /^caps=CapEff:\s+00000000a80425fb$/m);
});

test('init: id-mapped bind mounts, with the mount\'s own mappings and recursively', { skip }, async (t) => {
  const sb = sandbox('idmap');
  const data = join(sb.dir, 'data');
  mkdirSync(join(data, 'sub'), { recursive: true });
  writeFileSync(join(data, 'root-owned'), '');
  writeFileSync(join(data, 'other'), '');
  chownSync(join(data, 'other'), 1000, 1000);
  // A submount in the source (root-owned files), which only an "ridmap" bind maps too.
  execFileSync('mount', ['--bind', join(sb.rootfs, 'bin'), join(data, 'sub')]);
  t.after(() => {
    // after-hooks run in the order they were added: the submount goes before the sandbox
    execFileSync('umount', ['-l', join(data, 'sub')]);
    sb.cleanup();
  });
  const cfg = baseConfig(sb.rootfs, 'stat -c "%n %u %g" /data/root-owned /data/other /r/root-owned /r/sub/sh /d/sub/sh');
  // As in runc: a file the source's file system has as containerID is seen as owned by hostID.
  const maps = { uidMappings: [{ containerID: 0, hostID: 5000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 6000, size: 1 }] };
  cfg.mounts!.push(
    { destination: '/data', type: 'bind', source: data, options: ['bind', 'idmap'], ...maps },
    { destination: '/r', type: 'bind', source: data, options: ['rbind', 'ridmap'], ...maps },
    { destination: '/d', type: 'bind', source: data, options: ['rbind', 'idmap'], ...maps },
  );
  const r = await createStartWait(sb, cfg);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /^\/data\/root-owned 5000 6000$/m, 'host root is mapped to the mount\'s ids');
  assert.match(r.stdout, /^\/data\/other 65534 65534$/m, 'an id outside the mapping is the overflow id');
  assert.match(r.stdout, /^\/r\/root-owned 5000 6000$/m);
  assert.match(r.stdout, /^\/r\/sub\/sh 5000 6000$/m, 'ridmap maps the submounts too');
  assert.match(r.stdout, /^\/d\/sub\/sh 0 0$/m, 'idmap leaves the submounts alone');
});

test('init: exec joins a running container; the binary is sealed; no host fd leaks', { skip }, async (t) => {
  const sb = sandbox('exec');
  t.after(() => sb.cleanup());
  const cfg = baseConfig(sb.rootfs, 'echo $$ > /tmp/init-pid; exec sleep 1000');
  // An fd open in the caller (Node opens it O_CLOEXEC, as libuv does everything)...
  const stray = openSync(join(sb.dir, 'stray'), 'w');
  t.after(() => closeSync(stray));
  let created: InitHandle | undefined;
  created = await startInit(
    { mode: 'create', id: 'exec-test', config: cfg, rootfs: sb.rootfs, execFifo: sb.fifo, foreground: true },
    { onPid: async () => undefined },
  );
  t.after(async () => {
    try {
      process.kill(created!.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await created!.wait();
  });
  // Created, not started: C is still berth-init, running from a sealed memfd.
  assert.match(readlinkSync(`/proc/${created.pid}/exe`), /^\/memfd:berth-init/);
  assert.throws(() => openSync(`/proc/${created!.pid}/exe`, 'r+'), /EPERM|EACCES|ETXTBSY/);
  await startFifo(sb.fifo, created.pid);

  const outPath = join(sb.dir, 'exec-out');
  const out = openSync(outPath, 'w');
  const proc = {
    user: { uid: 1000, gid: 1000, additionalGids: [5] },
    args: ['sh', '-c', 'echo pid=$$; hostname; id; ls /proc/self/fd | tr "\\n" " "; echo; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; pwd'],
    env: ['PATH=/bin'],
    cwd: '/tmp',
    noNewPrivileges: true,
  };
  const exec = await startInit(
    { mode: 'exec', id: 'exec-test', config: { ...cfg, process: proc }, rootfs: sb.rootfs, joinPid: created.pid, foreground: true, stdio: ['inherit', out, 'inherit'] },
    { onPid: async () => undefined },
  );
  closeSync(out);
  assert.equal(await exec.wait(), 0);
  const text = readFileSync(outPath, 'utf8');
  const pidLine = /^pid=(\d+)$/m.exec(text);
  assert.ok(pidLine && Number(pidLine[1]) > 1, `the exec process is in the container's pid namespace: ${text}`);
  assert.match(text, /^init-test$/m, "it sees the container's hostname");
  assert.match(text, /^uid=1000 gid=1000 groups=5/m);
  assert.match(text, /^0 1 2 3 $/m, `no host fd reaches the exec process: ${text}`);
  assert.match(text, /^CapEff:\s+0+$/m, 'no capabilities object: a non-root process has none');
  assert.match(text, /^NoNewPrivs:\s+1$/m);
  assert.match(text, /^\/tmp$/m);
});

test('init: a failing create (missing mount source) reports the step and leaves no process', { skip }, async (t) => {
  const sb = sandbox('fail');
  t.after(() => sb.cleanup());
  const cfg = baseConfig(sb.rootfs, 'true');
  cfg.mounts!.push({ destination: '/data', type: 'bind', source: join(sb.dir, 'does-not-exist'), options: ['rbind'] });
  let cpid = 0;
  await assert.rejects(
    startInit(
      { mode: 'create', id: 'fail-test', config: cfg, rootfs: sb.rootfs, execFifo: sb.fifo },
      {
        onPid: async (p) => {
          cpid = p;
        },
      },
    ),
    (e: unknown) => {
      assert.ok(e instanceof BerthError);
      assert.equal(e.code, 'EINIT');
      assert.match(e.message, /^mount: \/data: open source .*does-not-exist: no such file or directory \(ENOENT\)$/);
      return true;
    },
  );
  assert.ok(cpid > 0);
  assert.ok(await waitGone(cpid), 'the container process is gone');
});

test('init: a missing executable fails create, and an exec error is reported', { skip }, async (t) => {
  const sb = sandbox('noexe');
  t.after(() => sb.cleanup());
  const cfg = baseConfig(sb.rootfs, 'true');
  cfg.process!.args = ['/no/such/program'];
  let cpid = 0;
  await assert.rejects(
    startInit({ mode: 'create', id: 'noexe', config: cfg, rootfs: sb.rootfs, execFifo: sb.fifo }, { onPid: async (p) => void (cpid = p) }),
    /exec: \/no\/such\/program: no such file or directory \(ENOENT\)/,
  );
  assert.ok(await waitGone(cpid));
  // and a cwd that escapes through a symlink is refused
  const cfg2 = baseConfig(sb.rootfs, 'pwd');
  cfg2.process!.cwd = '/proc/self/fd/0';
  await assert.rejects(createStartWait(sb, cfg2), /cwd: \/proc\/self\/fd\/0/);
});

/** A hand-assembled filter: mkdir/mkdirat fail with EPERM on x86_64, everything else is allowed. */
function mkdirDenyingFilter(): Buffer {
  const ins: Array<[number, number, number, number]> = [
    [0x20, 0, 0, 4], // ld [arch]
    [0x15, 0, 3, 0xc000003e], // jeq AUDIT_ARCH_X86_64, else allow
    [0x20, 0, 0, 0], // ld [nr]
    [0x15, 2, 0, 83], // mkdir -> errno
    [0x15, 1, 0, 258], // mkdirat -> errno
    [0x06, 0, 0, 0x7fff0000], // ret ALLOW
    [0x06, 0, 0, 0x00050001], // ret ERRNO(EPERM)
  ];
  const b = Buffer.alloc(8 * ins.length);
  ins.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, 8 * i);
    b.writeUInt8(jt, 8 * i + 2);
    b.writeUInt8(jf, 8 * i + 3);
    b.writeUInt32LE(k >>> 0, 8 * i + 4);
  });
  return b;
}

test('init: a seccomp filter is loaded last (with and without no_new_privs)', { skip: skip ?? (process.arch !== 'x64' ? 'x86_64 filter' : undefined) }, async (t) => {
  const sb = sandbox('seccomp');
  t.after(() => sb.cleanup());
  for (const nnp of [true, false]) {
    const cfg = baseConfig(sb.rootfs, 'mkdir /tmp/x 2>/dev/null; echo rc=$?; grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status');
    cfg.process!.noNewPrivileges = nnp;
    cfg.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
    const r = await createStartWait(sb, cfg, { seccomp: { filter: mkdirDenyingFilter(), flags: 0 } });
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /^rc=1$/m, `mkdir is denied (nnp=${nnp}): ${r.stdout}`);
    assert.match(r.stdout, /^Seccomp:\s+2$/m);
    assert.match(r.stdout, new RegExp(`^NoNewPrivs:\\s+${nnp ? 1 : 0}$`, 'm'));
  }
});

test('init: terminal in the foreground without a console socket is proxied to our stdio', { skip }, async (t) => {
  const sb = sandbox('pty-proxy');
  t.after(() => sb.cleanup());
  const { writeFileSync } = await import('node:fs');
  const cfg = baseConfig(sb.rootfs, 'tty; read x; echo got=$x; exit 7');
  cfg.process!.terminal = true;
  writeFileSync(join(sb.dir, 'in.txt'), 'abc\n');
  const inFd = openSync(join(sb.dir, 'in.txt'), 'r');
  t.after(() => closeSync(inFd));
  const r = await createStartWait(sb, cfg, { stdio: [inFd, 'inherit', 'inherit'] });
  assert.equal(r.status, 7, 'the exit status comes through stage 1');
  assert.match(r.stdout, /^\/dev\/pts\/0\r$/m);
  assert.match(r.stdout, /^got=abc\r$/m);
});

const python = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('init: the pty master goes to the console socket (SCM_RIGHTS) with consoleSize applied', { skip: skip ?? (python ? undefined : 'python3 needed to receive the fd') }, async (t) => {
  const sb = sandbox('console');
  t.after(() => sb.cleanup());
  const { spawn } = await import('node:child_process');
  const sock = join(sb.dir, 'console.sock');
  // Node cannot receive fds over a unix socket; a few lines of Python can.
  const receiver = [
    'import socket, sys, os',
    's = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)',
    'c, _ = s.accept(); msg, fds, _, _ = socket.recv_fds(c, 1024, 1)',
    'out = b""',
    'while True:',
    '  try: d = os.read(fds[0], 4096)',
    '  except OSError: break',
    '  if not d: break',
    '  out += d',
    'sys.stdout.write("name=" + msg.decode() + "\\n" + out.decode(errors="replace"))',
  ].join('\n');
  const py = spawn('python3', ['-c', receiver, sock], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  py.stdout!.setEncoding('utf8');
  await new Promise<void>((res) => py.stdout!.once('data', (d: string) => res(void (out += d))));
  py.stdout!.on('data', (d: string) => (out += d));
  const done = new Promise((res) => py.once('exit', res));
  const cfg = baseConfig(sb.rootfs, 'tty; stty size');
  cfg.process!.terminal = true;
  cfg.process!.consoleSize = { height: 33, width: 99 };
  const r = await createStartWait(sb, cfg, { consoleSocket: sock });
  await done;
  assert.equal(r.status, 0);
  assert.match(out, /^name=\/dev\/pts\/0$/m);
  assert.match(out, /^33 99\r$/m);
});

test('init: lo is up in a new network namespace; a joined one is left as it is', { skip }, async (t) => {
  const sb = sandbox('loopback');
  t.after(() => sb.cleanup());
  // IFF_UP is bit 0 of the interface flags; the container's sysfs shows its own netns.
  const script = 'echo $(( $(cat /sys/class/net/lo/flags) & 1 ))';
  const up = await createStartWait(sb, baseConfig(sb.rootfs, script));
  assert.equal(up.status, 0, up.stdout);
  assert.equal(up.stdout.trim(), '1', 'a new network namespace gets lo up, as with runc');
  // A network namespace of our own, lo down, held by a sleeping process.
  const holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  const nsPath = `/proc/${holder.pid}/ns/net`;
  for (let i = 0; i < 500 && readlinkSync(nsPath) === readlinkSync('/proc/self/ns/net'); i++) await new Promise((r) => setTimeout(r, 10));
  const cfg = baseConfig(sb.rootfs, script);
  cfg.linux!.namespaces = cfg.linux!.namespaces!.map((ns) => (ns.type === 'network' ? { type: 'network', path: nsPath } : ns));
  const joined = await createStartWait(sb, cfg);
  assert.equal(joined.status, 0, joined.stdout);
  assert.equal(joined.stdout.trim(), '0', 'the joined namespace keeps lo down');
});
