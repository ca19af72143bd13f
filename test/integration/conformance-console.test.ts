/**
 * Conformance: terminals through `--console-socket`, the way conmon and containerd's shim ask
 * for them (`podman run -t`, `docker run -t`, `docker exec -t`): with process.terminal the
 * runtime sends the pty master over the socket and the process runs on the pty's other end.
 * Runs against the runtime named by BERTH_TEST_RUNTIME.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { session, skipReason } from '../helpers/runtime';
import { readyThenSleep, sh } from '../helpers/bundle';
import { pythonAvailable, receiveConsole } from '../helpers/console';

const skip = skipReason() ?? (pythonAvailable ? undefined : 'python3 (with socket.recv_fds) is needed to receive the pty master');

test('console: create --console-socket sends the pty master; the process runs on the pty', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('create', (cfg) => {
    cfg.process!.terminal = true;
    cfg.process!.consoleSize = { height: 33, width: 99 };
    cfg.process!.args = sh('tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-ttys');
  });
  const sock = join(s.scratch, 'console.sock');
  const receiver = await receiveConsole(sock);
  t.after(() => receiver.stop());
  const c = s.createContainer(id, bundle.dir, { extraArgs: ['--console-socket', sock] });
  assert.equal(c.code, 0, c.stderr);
  s.rtOk(['start', id]);
  const out = await receiver.output;
  assert.match(out, /^fds=1$/m, 'exactly one fd arrived');
  assert.match(out, /^\/dev\/pts\/\d+\r?$/m);
  assert.match(out, /^33 99\r?$/m, 'consoleSize is the terminal size');
  assert.match(out, /^all-ttys\r?$/m);
  await s.waitForStatus(id, 'stopped');
});

test('console: the pty carries input to the process', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('input', (cfg) => {
    cfg.process!.terminal = true;
    cfg.process!.args = sh('read line; echo "got:$line"');
  });
  const sock = join(s.scratch, 'console.sock');
  const receiver = await receiveConsole(sock, 'typed text\n');
  t.after(() => receiver.stop());
  assert.equal(s.createContainer(id, bundle.dir, { extraArgs: ['--console-socket', sock] }).code, 0);
  s.rtOk(['start', id]);
  assert.match(await receiver.output, /^got:typed text\r?$/m);
  await s.waitForStatus(id, 'stopped');
});

test('console: create with process.terminal but without --console-socket fails and leaves nothing', { skip }, (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('no-socket', (cfg) => {
    cfg.process!.terminal = true;
  });
  const r = s.createContainer(id, bundle.dir);
  assert.notEqual(r.code, 0, 'a detached create cannot own a terminal without a console socket');
  assert.notEqual(r.stderr.trim(), '');
  assert.deepEqual(s.leftovers(id, undefined, bundle.rootfs), []);
});

test('console: exec --tty --detach --console-socket sends the exec process its own pty', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('exec', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  await s.createAndStart(id, bundle);
  await bundle.waitForOut('ready');
  const sock = join(s.scratch, 'exec-console.sock');
  const receiver = await receiveConsole(sock);
  t.after(() => receiver.stop());
  const pidFile = join(s.scratch, 'exec.pid');
  const r = s.rt(['exec', '--tty', '--detach', '--console-socket', sock, '--pid-file', pidFile, id, 'sh', '-c', 'tty; echo exec-on-tty']);
  assert.equal(r.code, 0, r.stderr);
  const out = await receiver.output;
  assert.match(out, /^fds=1$/m);
  assert.match(out, /^\/dev\/pts\/\d+\r?$/m);
  assert.match(out, /^exec-on-tty\r?$/m);
});

// runc's tty.bats "[tty owner]": the pty slave belongs to the process's uid (group: devpts' tty group).
test('console: the pty of a non-root process (run and exec) is owned by its uid', { skip }, async (t) => {
  const s = session(t);
  const { id, bundle } = s.bundle('owner', (cfg) => {
    cfg.process!.terminal = true;
    cfg.process!.user = { uid: 1000, gid: 1000 };
    cfg.process!.args = sh('stat -c owner=%u:%g $(tty); echo ready > /out/ready; exec sleep 1000000');
  });
  const sock = join(s.scratch, 'console.sock');
  const receiver = await receiveConsole(sock);
  t.after(() => receiver.stop());
  assert.equal(s.createContainer(id, bundle.dir, { extraArgs: ['--console-socket', sock] }).code, 0);
  s.rtOk(['start', id]);
  await bundle.waitForOut('ready');
  const execSock = join(s.scratch, 'exec-console.sock');
  const execReceiver = await receiveConsole(execSock);
  t.after(() => execReceiver.stop());
  const r = s.rt(['exec', '--tty', '--detach', '--console-socket', execSock, '--user', '1001:1001', id, 'sh', '-c', 'stat -c owner=%u:%g $(tty)']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(await execReceiver.output, /^owner=1001:5\r?$/m, 'the exec process owns its pty');
  s.rtOk(['kill', id, 'KILL']);
  assert.match(await receiver.output, /^owner=1000:5\r?$/m, 'the init process owns its pty');
  await s.waitForStatus(id, 'stopped');
});
