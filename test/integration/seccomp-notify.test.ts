/**
 * SCMP_ACT_NOTIFY and linux.seccomp.listenerPath: the runtime must hand the filter's
 * user-notification listener, with the container process state, to the agent listening on
 * listenerPath. The agent here is a few lines of Python (Node cannot receive fds over a unix
 * socket): it records what it received, checks the fd is a seccomp listener, and, in
 * "respond" mode, answers every notification with EXDEV (or, in "close" mode, drops the
 * listener at once, after which the kernel answers ENOSYS).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { berthOnly, session, skipReason, type RuntimeSession } from '../helpers/runtime';
import { OUT, sh, type SyscallResult } from '../helpers/bundle';
import type { ContainerState, RuntimeConfig } from '../../src/spec/types';

const python = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const skip =
  skipReason({ checker: true }) ??
  (python ? undefined : 'python3 (with socket.recv_fds) is needed for the seccomp agent') ??
  (process.arch === 'x64' ? undefined : 'the agent decodes x86_64 seccomp_notif layouts and numbers');

const AGENT = String.raw`
import json, os, select, socket, struct, sys, threading, fcntl
path, out, mode = sys.argv[1], sys.argv[2], sys.argv[3]
NOTIF_RECV, NOTIF_SEND = 0xc0502100, 0xc0182101  # _IOWR('!', 0|1, struct seccomp_notif[_resp])
EXDEV = 18
lock = threading.Lock()
record = {"listeners": []}
def save():
    with lock:
        tmp = out + ".tmp"
        with open(tmp, "w") as f: json.dump(record, f)
        os.rename(tmp, out)
def serve(entry, fd):
    p = select.poll(); p.register(fd, select.POLLIN)
    while True:
        ev = p.poll(60000)
        if not ev or ev[0][1] & (select.POLLHUP | select.POLLERR): break
        buf = bytearray(80)
        try: fcntl.ioctl(fd, NOTIF_RECV, buf, True)
        except OSError: continue  # the process went away before we read it
        nid, pid, flags, nr, arch = struct.unpack_from("<QIIiI", buf)
        entry["notifications"].append({"nr": nr, "arch": arch, "pid": pid}); save()
        try: fcntl.ioctl(fd, NOTIF_SEND, bytearray(struct.pack("<QqiI", nid, 0, -EXDEV, 0)), True)
        except OSError: pass
    os.close(fd); entry["closed"] = True; save()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(path); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    msg, fds, _, _ = socket.recv_fds(c, 65536, 4)
    while True:  # the runtime may split the JSON over several writes; fds come with the first
        more = c.recv(65536)
        if not more: break
        msg += more
    c.close()
    entry = {"state": json.loads(msg), "nfds": len(fds), "notifications": []}
    if fds:
        entry["link"] = os.readlink("/proc/self/fd/%d" % fds[0])
        for extra in fds[1:]: os.close(extra)
    record["listeners"].append(entry); save()
    if fds and mode == "respond": threading.Thread(target=serve, args=(entry, fds[0]), daemon=True).start()
    elif fds: os.close(fds[0]); entry["closed"] = True; save()
`;

interface AgentRecord {
  listeners: Array<{
    state: { ociVersion: string; fds: string[]; pid: number; metadata?: string; state: ContainerState };
    nfds: number;
    link?: string;
    notifications: Array<{ nr: number; arch: number; pid: number }>;
    closed?: boolean;
  }>;
}

/** Starts the agent on a socket in the session's scratch dir; it is killed after the test. */
async function startAgent(t: { after: (fn: () => void) => void }, s: RuntimeSession, mode: 'respond' | 'close'): Promise<{ socket: string; read(): AgentRecord }> {
  const socketPath = join(s.scratch, 'agent.sock');
  const out = join(s.scratch, 'agent.json');
  const agent: ChildProcess = spawn('python3', ['-c', AGENT, socketPath, out, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => {
    agent.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    agent.stdout!.once('data', () => resolve());
    agent.once('exit', (code) => reject(new Error(`the agent exited (${code}) before listening`)));
  });
  return {
    socket: socketPath,
    read: () => (existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as AgentRecord) : { listeners: [] }),
  };
}

function notifyProfile(listenerPath: string, cfg: RuntimeConfig): void {
  cfg.linux!.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    listenerPath,
    listenerMetadata: 'berth-test-agent',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
}

const MKDIR_X86_64 = 83;
const AUDIT_ARCH_X86_64 = 0xc000003e;

test('seccomp notify: the agent receives the listener and the container process state, and answers', { skip }, async (t) => {
  const s = session(t);
  const agent = await startAgent(t, s, 'respond');
  const { id, bundle } = s.bundle('notify', (cfg) => {
    notifyProfile(agent.socket, cfg);
    cfg.annotations = { 'org.example.key': 'value' };
    cfg.process!.args = sh(`berth-checker syscall mkdir > ${OUT}/mkdir.json; berth-checker syscall getpid > ${OUT}/getpid.json; grep Seccomp: /proc/self/status > ${OUT}/status.txt`);
  });
  await s.runToCompletion(id, bundle);

  const mkdir = bundle.readJson<SyscallResult>('mkdir.json');
  assert.equal(mkdir.errno_num, 18, `mkdir is answered by the agent (EXDEV): ${JSON.stringify(mkdir)}`);
  assert.equal(bundle.readJson<SyscallResult>('getpid.json').errno, 'OK', 'other syscalls are untouched');
  assert.match(bundle.readOut('status.txt') ?? '', /^Seccomp:\s+2$/m);

  const rec = agent.read();
  assert.equal(rec.listeners.length, 1, 'one connection for the one container process');
  const l = rec.listeners[0]!;
  assert.equal(l.nfds, 1);
  assert.equal(l.link, 'anon_inode:seccomp notify', 'the fd is a seccomp notification listener');
  assert.deepEqual(l.state.fds, ['seccompFd']);
  assert.equal(l.state.metadata, 'berth-test-agent');
  assert.ok(l.state.pid > 0);
  assert.ok(l.state.ociVersion);
  assert.equal(l.state.state.id, id);
  assert.equal(l.state.state.bundle, bundle.dir);
  assert.equal(l.state.state.pid, l.state.pid);
  assert.deepEqual(l.state.state.annotations, { 'org.example.key': 'value' });
  assert.equal(l.state.state.status, 'creating', 'sent during create');
  const mkdirs = l.notifications.filter((n) => n.nr === MKDIR_X86_64);
  assert.ok(mkdirs.length >= 1, `the agent saw mkdir: ${JSON.stringify(l.notifications)}`);
  assert.equal(mkdirs[0]!.arch, AUDIT_ARCH_X86_64);
});

test('seccomp notify: when the agent drops the listener, notified syscalls fail with ENOSYS and the container finishes', { skip }, async (t) => {
  const s = session(t);
  const agent = await startAgent(t, s, 'close');
  const { id, bundle } = s.bundle('notify-close', (cfg) => {
    notifyProfile(agent.socket, cfg);
    cfg.process!.args = sh(`berth-checker syscall mkdir > ${OUT}/mkdir.json`);
  });
  await s.runToCompletion(id, bundle);
  assert.equal(bundle.readJson<SyscallResult>('mkdir.json').errno, 'ENOSYS');
  assert.equal(agent.read().listeners[0]?.link, 'anon_inode:seccomp notify');
});

test('seccomp notify: exec hands the exec process\'s listener to the agent too', { skip: skip ?? berthOnly('runc 1.1.5 hands the listener over, then its exec never returns') }, async (t) => {
  const s = session(t);
  const agent = await startAgent(t, s, 'respond');
  const { id, bundle } = s.bundle('notify-exec', (cfg) => {
    notifyProfile(agent.socket, cfg);
    cfg.process!.args = sh(`echo ready > ${OUT}/ready; exec sleep 1000000`);
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const r = s.rt(['exec', id, 'berth-checker', 'syscall', 'mkdir']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as SyscallResult).errno_num, 18, 'the exec process is filtered and answered by the agent');
  const rec = agent.read();
  assert.equal(rec.listeners.length, 2, 'one listener for init, one for the exec process');
  assert.equal(rec.listeners[1]!.state.state.status, 'running');
  assert.notEqual(rec.listeners[1]!.state.pid, rec.listeners[1]!.state.state.pid, 'pid is the exec process, state.pid the container init');
});

test('seccomp notify: an unreachable listenerPath fails create and leaves nothing behind', { skip }, async (t) => {
  const s = session(t);
  const missing = join(s.scratch, 'nobody-listens.sock');
  const { id, bundle } = s.bundle('notify-missing', (cfg) => notifyProfile(missing, cfg));
  const r = s.createContainer(id, bundle.dir);
  assert.notEqual(r.code, 0, 'create fails');
  assert.match(r.stderr, /listenerPath|nobody-listens\.sock/);
  assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), []);
});
