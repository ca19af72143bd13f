/**
 * `exec` without a terminal must not hand the container anything of its caller's: not its
 * session, process group or controlling terminal (TIOCSTI would type into the operator's
 * shell, `kill 0` would signal host processes), not its stdio fds (a host file the caller
 * redirected to could be reopened through /proc/self/fd). Every check runs from inside the
 * container. Also: stdio relay (stdin with EOF, large outputs both ways, stdout and stderr
 * apart, exit status), health checks and `run` under the same rules, and TERM as docker sets
 * it for `exec -it`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BERTH, BerthCli, cliPerTest, engineSkip, importBusybox, until } from '../helpers/cli';
import { PtySession, ptyAvailable } from '../helpers/pty';

const skip = engineSkip();
const cli = cliPerTest();

/** Fields 1 (pid), 5 (pgrp), 6 (session), 7 (tty_nr) of /proc/PID/stat. */
function statIds(line: string): { pid: number; pgrp: number; sid: number; ttyNr: number } {
  const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return { pid: Number(line.split(' ')[0]), pgrp: Number(rest[2]), sid: Number(rest[3]), ttyNr: Number(rest[4]) };
}

/** A running container with the checker (the test image has /bin/berth-checker). */
function running(b: BerthCli, name = 'box'): string {
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', name, img, 'sleep', '100000']);
  return name;
}

// What the exec'd shell reports about itself: its pid, its stat line, where fds 0-2 lead,
// whether it has a controlling terminal.
const SELF_REPORT = [
  'echo "pid=$$"',
  'echo "stat=$(cat /proc/$$/stat)"',
  'for fd in 0 1 2; do echo "fd$fd=$(readlink /proc/$$/fd/$fd)"; done',
  '(: < /dev/tty) 2>/dev/null && echo tty=yes || echo tty=no',
].join('; ');

function parseReport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function assertIsolated(r: Record<string, string>, what: string): void {
  const ids = statIds(r.stat ?? '');
  assert.equal(ids.pid, Number(r.pid), `${what}: read its own stat line`);
  // A session leader outside the container's pid namespace would show as 0 here.
  assert.equal(ids.sid, ids.pid, `${what}: leads its own session (stat: ${r.stat})`);
  assert.equal(ids.pgrp, ids.pid, `${what}: leads its own process group (stat: ${r.stat})`);
  assert.equal(ids.ttyNr, 0, `${what}: has no controlling terminal (stat: ${r.stat})`);
  assert.equal(r.tty, 'no', `${what}: /dev/tty cannot be opened`);
  for (const fd of ['fd0', 'fd1', 'fd2']) assert.match(r[fd] ?? '', /^pipe:\[\d+\]$/, `${what}: ${fd} is a pipe, not ${r[fd]}`);
}

test('exec with stdio redirected to host files: own session and group, no terminal, pipes only', { skip }, (t) => {
  const b = cli(t);
  const c = running(b);
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-iso-'));
  try {
    const hostFile = join(dir, 'host-file');
    writeFileSync(hostFile, 'host data\n');
    const input = join(dir, 'input');
    writeFileSync(input, '');
    for (const flags of [[], ['-i'], ['--privileged']]) {
      const out = openSync(hostFile, 'a');
      const inp = openSync(input, 'r');
      try {
        const r = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', ...flags, c, 'sh', '-c', SELF_REPORT], { stdio: [inp, out, out] });
        assert.equal(r.status, 0, `exec ${flags.join(' ')} exited ${r.status}`);
      } finally {
        closeSync(out);
        closeSync(inp);
      }
      const text = readFileSync(hostFile, 'utf8');
      assertIsolated(parseReport(text.slice(text.lastIndexOf('pid='))), `exec ${flags.join(' ')}`.trim());
    }
    // Reopening fd 1 from inside (with O_TRUNC) reaches the pipe, not the host file.
    const out = openSync(hostFile, 'a');
    try {
      spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', c, 'sh', '-c', 'echo reopened > /proc/self/fd/1'], { stdio: ['ignore', out, out] });
    } finally {
      closeSync(out);
    }
    const text = readFileSync(hostFile, 'utf8');
    assert.ok(text.startsWith('host data\n'), `the host file was not truncated from inside: ${JSON.stringify(text.slice(0, 40))}`);
    assert.match(text, /reopened\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exec -d: the detached process leads its own session, with no host fd', { skip }, async (t) => {
  const b = cli(t);
  const c = running(b);
  b.ok(['exec', '-d', c, 'sh', '-c', `{ ${SELF_REPORT}; } > /tmp/report 2>&1`]);
  assert.ok(await until(() => /tty=/.test(b.run(['exec', c, 'cat', '/tmp/report']).stdout)), 'the detached exec wrote its report');
  const r = parseReport(b.ok(['exec', c, 'cat', '/tmp/report']));
  const ids = statIds(r.stat ?? '');
  assert.equal(ids.sid, ids.pid, `leads its own session (stat: ${r.stat})`);
  assert.equal(r.tty, 'no');
  // /dev/null, as containerd gives docker's detached exec: no file, socket or terminal of ours
  // (read in command substitutions: a redirection would move the shell's own fd 1 meanwhile)
  b.ok(['exec', '-d', c, 'sh', '-c', 'x="$(readlink /proc/$$/fd/0) $(readlink /proc/$$/fd/1) $(readlink /proc/$$/fd/2)"; echo "$x" > /tmp/fds']);
  assert.ok(await until(() => b.run(['exec', c, 'cat', '/tmp/fds']).stdout !== ''));
  assert.equal(b.ok(['exec', c, 'cat', '/tmp/fds']), '/dev/null /dev/null /dev/null\n');
});

test('exec from a terminal: no controlling terminal inside, TIOCSTI impossible, its stdio are pipes', { skip: skip || (!ptyAvailable && 'python3 with pty not available') }, async (t) => {
  const b = cli(t);
  const c = running(b);
  for (const flags of [[], ['-i'], ['--privileged', '-i']]) {
    const s = new PtySession([BERTH, '--root', b.root, '--runroot', b.runRoot, 'exec', ...flags, c, 'sh', '-c', `${SELF_REPORT}; berth-checker tiocsti 'echo INJECTED'; echo "checker=$?"; echo done`]);
    try {
      await s.expect(/^done\r?$/m);
      const exit = await s.wait();
      assert.equal(exit.code, 0, `exec ${flags.join(' ')}: ${s.output}`);
      const r = parseReport(s.output);
      assertIsolated(r, `exec ${flags.join(' ')} from a terminal`.trim());
      assert.equal(r.checker, '0', `exec ${flags.join(' ')}: TIOCSTI was refused everywhere: ${s.output}`);
      assert.doesNotMatch(s.output, /"ok":true/);
    } finally {
      s.close();
    }
  }
});

test('kill -TERM 0 inside an exec does not reach the caller\'s process group', { skip }, (t) => {
  const b = cli(t);
  const c = running(b);
  // A shell in a process group of its own, with a sentinel in that group, runs the exec.
  const script = [
    'sleep 100000 & S=$!',
    `"$BERTH" --root "$ROOT" --runroot "$RUNROOT" exec ${c} sh -c 'kill -TERM 0; sleep 5; echo survived'`,
    'echo "exec=$?"',
    'if kill -0 $S 2>/dev/null; then echo sentinel=alive; else echo sentinel=gone; fi',
    'kill $S',
  ].join('\n');
  // setsid: its own session and process group, like a user's shell job
  const r = spawnSync('setsid', ['-w', 'sh', '-c', script], { encoding: 'utf8', env: { ...process.env, BERTH, ROOT: b.root, RUNROOT: b.runRoot } });
  assert.match(r.stdout, /^exec=143$/m, `the exec'd shell killed only its own group: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^sentinel=alive$/m, `the caller's group was not signalled: ${r.stdout}${r.stderr}`);
});

test('exec stdio through pipes: stdin with EOF, large outputs, stdout and stderr apart, exit status', { skip }, (t) => {
  const b = cli(t);
  const c = running(b);
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 11)) & 0xff;
  const echoed = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', '-i', c, 'cat'], { input: big, maxBuffer: 64 << 20 });
  assert.equal(echoed.status, 0);
  assert.ok(Buffer.compare(echoed.stdout, big) === 0, `cat returned ${echoed.stdout.length} bytes of ${big.length}, identical`);
  // EOF reaches the process: wc only prints once its stdin ended
  assert.equal(b.ok(['exec', '-i', c, 'wc', '-c'], { input: 'four' }).trim(), '4');
  // without -i the process reads EOF at once
  assert.equal(b.ok(['exec', c, 'sh', '-c', 'cat; echo end'], { input: 'not for it' }), 'end\n');
  const sep = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', c, 'sh', '-c', 'echo to-out; echo to-err >&2; head -c 5000000 /dev/zero | tr "\\0" x; exit 7'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(sep.status, 7);
  assert.equal(sep.stderr, 'to-err\n');
  assert.equal(sep.stdout.length, 'to-out\n'.length + 5_000_000);
  assert.ok(sep.stdout.startsWith('to-out\nxxx'));
  // /dev/stdout can be reopened (a pipe, not a socket)
  assert.equal(b.ok(['exec', c, 'sh', '-c', 'echo via-dev-stdout > /dev/stdout']), 'via-dev-stdout\n');
});

test('exec: a signal to the CLI reaches the process once (it is not in our process group)', { skip }, async (t) => {
  const b = cli(t);
  const c = running(b);
  const child = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', c, 'sh', '-c', 'n=0; trap "n=$((n+1))" INT; echo ready; while [ $n -lt 1 ]; do sleep 0.1; done; sleep 1; echo "ints=$n"; exit 3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  assert.ok(await until(() => out.includes('ready')));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c2) => r(c2)));
  assert.equal(code, 3);
  assert.match(out, /^ints=1$/m);
});

test('health check: the check process gets pipes and its own session; output recorded', { skip }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'hc', '--health-cmd', `${SELF_REPORT}; echo checked`, '--health-interval', '1h', img, 'sleep', '100000']);
  const r = b.run(['healthcheck', 'run', 'hc']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const log = JSON.parse(b.ok(['inspect', '-f', '{{json .State.Health.Log}}', 'hc'])) as Array<{ Output: string; ExitCode: number }>;
  const last = log[log.length - 1]!;
  assert.equal(last.ExitCode, 0);
  assertIsolated(parseReport(last.Output), 'health check');
  assert.match(last.Output, /checked\n$/);
});

test('run: the container process leads its own session, its stdio are the shim\'s pipes', { skip }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  const r = parseReport(b.ok(['run', '--rm', img, 'sh', '-c', SELF_REPORT]));
  const ids = statIds(r.stat ?? '');
  assert.equal(ids.sid, 1, `pid 1 leads its session (stat: ${r.stat})`);
  assert.equal(ids.pgrp, 1);
  assert.equal(r.tty, 'no');
  assert.match(r.fd1 ?? '', /^pipe:/);
  assert.match(r.fd2 ?? '', /^pipe:/);
});

test('exec -it sets TERM=xterm unless the container sets TERM; exec without -t has none from run -t', { skip: skip || (!ptyAvailable && 'python3 with pty not available') }, async (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--name', 'plain', img, 'sleep', '100000']);
  b.ok(['run', '-d', '-t', '--name', 'withtty', img, 'sleep', '100000']);
  b.ok(['run', '-d', '-e', 'TERM=vt100', '--name', 'ownterm', img, 'sleep', '100000']);
  const termOf = async (args: string[]): Promise<string> => {
    const s = new PtySession([BERTH, '--root', b.root, '--runroot', b.runRoot, 'exec', ...args, 'sh', '-c', 'echo "term=${TERM-unset}"']);
    try {
      const line = await s.expect(/term=\S+/);
      await s.wait();
      return line.slice(line.indexOf('term=') + 5).trim();
    } finally {
      s.close();
    }
  };
  assert.equal(await termOf(['-it', 'plain']), 'xterm');
  assert.equal(await termOf(['-it', '-e', 'TERM=dumb', 'plain']), 'dumb');
  assert.equal(await termOf(['-it', 'ownterm']), 'vt100');
  assert.equal(await termOf(['-i', 'plain']), 'unset');
  assert.equal(await termOf(['-i', 'withtty']), 'unset', "run -t's TERM belongs to the container's own terminal");
  assert.equal(await termOf(['-i', 'ownterm']), 'vt100');
  assert.equal(b.ok(['exec', 'withtty', 'sh', '-c', 'echo "term=${TERM-unset}"']).trim(), 'term=unset');
});

test('exec into a container on runc: runc passes our pipes through, never our fds; the process leads its session', { skip: skip || (spawnSync('runc', ['--version'], { stdio: 'ignore' }).status !== 0 && 'runc not installed') }, (t) => {
  const b = cli(t);
  const img = importBusybox(b);
  b.ok(['run', '-d', '--runtime', 'runc', '--name', 'onrunc', img, 'sleep', '100000']);
  const dir = mkdtempSync(join(tmpdir(), 'berth-exec-iso-'));
  try {
    const hostFile = join(dir, 'host-file');
    for (const flags of [[], ['-i']]) {
      const out = openSync(hostFile, 'w');
      try {
        const r = spawnSync(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'exec', ...flags, 'onrunc', 'sh', '-c', SELF_REPORT], { stdio: ['ignore', out, out] });
        assert.equal(r.status, 0, `exec ${flags.join(' ')} exited ${r.status}`);
      } finally {
        closeSync(out);
      }
      assertIsolated(parseReport(readFileSync(hostFile, 'utf8')), `runc exec ${flags.join(' ')}`.trim());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
