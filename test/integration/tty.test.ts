/**
 * Terminals, through a real pty (test/helpers/pty.ts): what a user typing at `berth run -it`,
 * `exec -it` and `attach` sees. Window size from the first prompt and after a resize,
 * detach keys (default and custom) with the container running on, attach back, ctrl-c
 * reaching the container's process, exit status propagation.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { BERTH, BerthCli, importBusybox } from '../helpers/cli';
import { PtySession, ptyAvailable } from '../helpers/pty';
import { busyboxAvailable } from '../helpers/rootfs';

const skip = !busyboxAvailable() ? 'busybox-static not installed' : !ptyAvailable ? 'python3 with pty not available' : process.getuid?.() !== 0 ? 'needs root' : false;
const clis: BerthCli[] = [];
const sessions: PtySession[] = [];
after(() => {
  sessions.forEach((s) => s.close());
  clis.forEach((c) => c.cleanup());
});
function cli(t: { name: string }): BerthCli {
  const c = new BerthCli(t.name);
  clis.push(c);
  return c;
}
function term(b: BerthCli, args: string[], size = { rows: 24, cols: 80 }): PtySession {
  const s = new PtySession([BERTH, '--root', b.root, '--runroot', b.runRoot, ...args], size);
  sessions.push(s);
  return s;
}

// A prompt that cannot be confused with the echo of the command that sets it.
const PS1 = "PS1='[c]''# '";
// busybox ash asks the terminal for the cursor position (ESC [6n) after each prompt.
const PROMPT = /\[c\]# (\x1b\[6n)?$/;
/**
 * Typed into a shell: writes a script that waits for SIGWINCH in the foreground and then
 * prints the size it sees (an interactive shell runs its own traps only between commands).
 */
const WINCH_SCRIPT = `echo 'trap "stty size; echo winched; kill \\$!; exit 0" WINCH; echo armed; sleep 1000 & wait' > /tmp/w.sh\r`;

test('run -it: a shell with the terminal size from the start, resize reaches it, exit status propagates', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-it', '--name', 'shell', img, 'sh'], { rows: 33, cols: 101 });
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  s.write('stty size; tty; echo $TERM\r');
  const out = await s.expect(PROMPT);
  assert.match(out, /^33 101\r?$/m, 'the container saw our size before its first prompt');
  assert.match(out, /^\/dev\/pts\/0\r?$/m);
  assert.match(out, /^xterm\r?$/m);
  // SIGWINCH: the shell waits for it, then reports the size it sees then.
  s.write(WINCH_SCRIPT);
  await s.expect(PROMPT);
  s.write('sh /tmp/w.sh\r');
  await s.expect(/^armed\r\n/m);
  s.resize(40, 120);
  await s.expect(/^40 120\r\nwinched\r\n/m);
  await s.expect(PROMPT);
  // Output post-processing is off on our side: the container's CRLF arrives as it is, not as CR CR LF.
  assert.match(s.output, /built-in shell \(ash\)\r\nEnter 'help'/);
  s.write('exit 7\r');
  const exit = await s.wait();
  assert.equal(exit.code, 7);
  assert.equal(b.ok(['inspect', '-f', '{{.State.ExitCode}}', 'shell']).trim(), '7');
});

test('run -it: ctrl-c interrupts the foreground process in the container, not the CLI', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-it', '--rm', img, 'sh']);
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  // Printed once the shell has handed the terminal to the job (the echo of the typed line
  // comes earlier, while the shell still reads with ISIG off: a ctrl-c then is just a byte).
  s.write("sh -c 'echo sleeping; exec sleep 1000'\r");
  await s.expect(/^sleeping\r\n/m);
  s.write('\x03');
  await s.expect(PROMPT);
  s.write('echo "sleep ended with $?"\r');
  await s.expect(/^sleep ended with 130\r\n/m);
  await s.expect(PROMPT);
  s.write('exit\r');
  assert.equal((await s.wait()).code, 0);
  assert.equal(b.ok(['ps', '-aq']).trim(), '', '--rm removed it');
});

test('run -it: detach with ctrl-p ctrl-q, the container keeps running, attach back and type', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-it', '--name', 'away', img, 'sh']);
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  s.write('echo before > /tmp/mark\r');
  await s.expect(PROMPT);
  s.write('\x10\x11');
  assert.equal((await s.wait()).code, 0, 'detaching is a success');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}}', 'away']).trim(), 'running');
  assert.equal(b.ok(['exec', 'away', 'cat', '/tmp/mark']).trim(), 'before');

  const a = term(b, ['attach', 'away'], { rows: 20, cols: 70 });
  a.write('echo "back $((40+2))"\r');
  await a.expect(/^back 42\r?$/m);
  a.write('stty size\r');
  await a.expect(/^20 70\r?$/m);
  a.write('exit 3\r');
  assert.equal((await a.wait()).code, 3, 'attach exits with the container');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'away']).trim(), 'exited 3');
});

test('run -it --detach-keys: a custom sequence detaches, ctrl-p passes through', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-it', '--name', 'custom', '--detach-keys', 'ctrl-x,x', img, 'sh']);
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  // ctrl-p is no detach key now: it reaches the container as a byte.
  s.write('read -r x; printf %s "$x" | od -An -tx1\r');
  await s.expect(/od -An -tx1\r\n/);
  s.write('\x10z\r');
  await s.expect(/^\s*10 7a\r\n/m);
  await s.expect(PROMPT);
  s.write('\x18x');
  assert.equal((await s.wait()).code, 0);
  assert.equal(b.ok(['inspect', '-f', '{{.State.Running}}', 'custom']).trim(), 'true');
  // attach with its own keys, detach again
  const a = term(b, ['attach', '--detach-keys', 'ctrl-a', 'custom']);
  a.write('echo attached-again\r');
  await a.expect(/^attached-again\r?$/m);
  a.write('\x01');
  assert.equal((await a.wait()).code, 0);
  assert.equal(b.ok(['inspect', '-f', '{{.State.Running}}', 'custom']).trim(), 'true');
  b.ok(['rm', '-f', 'custom']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('exec -it: size from the start and after a resize, ctrl-c, exit status, detach', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'host', img, 'sleep', '1000']);
  const s = term(b, ['exec', '-it', 'host', 'sh'], { rows: 17, cols: 91 });
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  s.write('stty size; tty\r');
  const out = await s.expect(PROMPT);
  assert.match(out, /^17 91\r?$/m);
  assert.match(out, /^\/dev\/pts\/\d+\r?$/m);
  s.write(WINCH_SCRIPT);
  await s.expect(PROMPT);
  s.write('sh /tmp/w.sh\r');
  await s.expect(/^armed\r\n/m);
  s.resize(50, 132);
  await s.expect(/^50 132\r\nwinched\r\n/m);
  await s.expect(PROMPT);
  // Printed once the shell has handed the terminal to the job (the echo of the typed line
  // comes earlier, while the shell still reads with ISIG off: a ctrl-c then is just a byte).
  s.write("sh -c 'echo sleeping; exec sleep 1000'\r");
  await s.expect(/^sleeping\r\n/m);
  s.write('\x03');
  await s.expect(PROMPT);
  s.write('echo "sleep ended with $?"\r');
  await s.expect(/^sleep ended with 130\r\n/m);
  await s.expect(PROMPT);
  s.write('exit 4\r');
  assert.equal((await s.wait()).code, 4);

  const d = term(b, ['exec', '-it', 'host', 'sh']);
  d.write(`${PS1}\r`);
  await d.expect(PROMPT);
  d.write('\x10\x11');
  assert.equal((await d.wait()).code, 0, 'exec -it detaches with ctrl-p ctrl-q');
  assert.equal(b.ok(['inspect', '-f', '{{.State.Running}}', 'host']).trim(), 'true');
  b.ok(['rm', '-f', 'host']);
  b.containerIds();
  assert.deepEqual(b.leaks(), []);
});

test('exec -it into a container on runc: runc relays its pty to our terminal, sized from the start', { skip: skip || (!existsSync('/usr/sbin/runc') && 'runc not installed') }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--runtime', 'runc', '--name', 'ext', img, 'sleep', '1000']);
  const s = term(b, ['exec', '-it', 'ext', 'sh'], { rows: 19, cols: 77 });
  s.write(`${PS1}\r`);
  await s.expect(PROMPT);
  s.write('stty size; tty\r');
  const out = await s.expect(PROMPT);
  assert.match(out, /^19 77\r?$/m);
  assert.match(out, /^\/dev\/pts\/\d+\r?$/m);
  s.write('exit 4\r');
  assert.equal((await s.wait()).code, 4);
  b.ok(['rm', '-f', 'ext']);
});

test('run -t without -i: output through the terminal, exit status; start -ai of a created -it container', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-t', '--rm', img, 'sh', '-c', 'stty size; exit 5'], { rows: 12, cols: 34 });
  await s.expect(/^12 34\r?$/m);
  assert.equal((await s.wait()).code, 5);

  b.ok(['create', '-it', '--name', 'later', img, 'sh']);
  const a = term(b, ['start', '-ai', 'later'], { rows: 26, cols: 77 });
  a.write(`${PS1}\r`);
  await a.expect(PROMPT);
  a.write('stty size\r');
  await a.expect(/^26 77\r?$/m);
  a.write('exit 2\r');
  assert.equal((await a.wait()).code, 2);
});

test('run -i without -t: ctrl-c at our terminal is forwarded as SIGINT (sig-proxy)', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const s = term(b, ['run', '-i', '--rm', img, 'sh', '-c', 'trap "echo got INT; exit 9" INT; echo ready; while :; do sleep 1; done']);
  await s.expect(/^ready\r\n/m);
  s.write('\x03');
  await s.expect(/got INT\r\n/);
  assert.equal((await s.wait()).code, 9);
  assert.equal(b.ok(['ps', '-aq']).trim(), '');
});
