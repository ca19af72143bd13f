/**
 * No argument of the user's ever reaches Node's own option parser, wherever it stands (Node 20
 * takes --env-file from anywhere on its command line), and NODE_OPTIONS from the caller's
 * environment changes nothing about how berth runs — while `-e NODE_OPTIONS` still copies
 * the caller's value into the container, as docker does.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthCli, REPO, engineSkip, importBusybox, until } from '../helpers/cli';

const skip = engineSkip();
let b: BerthCli;
let img: string;
let scratch: string;
before(() => {
  if (skip) return;
  b = new BerthCli('node-args');
  img = importBusybox(b);
  scratch = mkdtempSync(join(tmpdir(), 'berth-node-args-'));
});
after(() => {
  if (skip) return;
  b.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

/** What Node says when it parsed an argument itself (and exits 9). */
const nodeTookIt = (stderr: string) => /^node: /m.test(stderr);

test('--env-file is read by berth, not by Node (before and after the image)', { skip }, () => {
  const file = join(scratch, 'env');
  writeFileSync(file, 'FROM_FILE=yes\n');
  const r = b.run(['run', '--rm', '--env-file', file, img, 'sh', '-c', 'echo $FROM_FILE']);
  assert.equal(nodeTookIt(r.stderr), false, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'yes\n');
  const missing = b.run(['run', '--rm', '--env-file', '/nonexistent/env', img, 'true']);
  assert.equal(nodeTookIt(missing.stderr), false, missing.stderr);
  assert.equal(missing.code, 125);
  assert.match(missing.stderr, /--env-file \/nonexistent\/env/);
});

test("Node's own options in user positions are the container's arguments", { skip }, () => {
  const args = ['--env-file', '/nonexistent', '--env-file=/nonexistent', '--inspect', '--inspect-brk=0', '--require', '/nonexistent.js', '-r', '/x', '-e', 'process.exit(3)', '-p', '1', '--', '--import=/x', '--experimental-permission', '-v'];
  const r = b.run(['run', '--rm', img, 'echo', ...args]);
  assert.equal(nodeTookIt(r.stderr), false, r.stderr);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${args.join(' ')}\n`);
});

test('an unknown --env-file before the command is our usage error, on both CLIs', { skip }, () => {
  const r = b.run(['--env-file', '/nonexistent', 'ps']);
  assert.equal(nodeTookIt(r.stderr), false, r.stderr);
  assert.match(r.stderr, /unknown flag: --env-file/);
  for (const args of [['--env-file=/nonexistent', 'list'], ['list', '--env-file', '/nonexistent'], ['--inspect', 'list']]) {
    const rt = spawnSync(join(REPO, 'bin', 'berth-runtime'), ['--root', join(scratch, 'rt'), ...args], { encoding: 'utf8' });
    assert.equal(nodeTookIt(rt.stderr), false, `${args.join(' ')}: ${rt.stderr}`);
    assert.notEqual(rt.status, 0);
    assert.match(rt.stderr, /unknown option/, args.join(' '));
  }
});

test('NODE_OPTIONS of the caller: no effect on berth, copied by -e NODE_OPTIONS', { skip }, async () => {
  // Each of these would break or change a Node program: a preload that does not exist, a
  // debugger (it prints to stderr), the permission model (no file system access).
  for (const opts of ['--require /nonexistent.js', '--inspect=127.0.0.1:0', '--experimental-permission']) {
    const env = { NODE_OPTIONS: opts };
    const ps = b.run(['ps', '-a', '--format', '{{.ID}}'], { env });
    assert.equal(ps.code, 0, `${opts}: ${ps.stderr}`);
    assert.equal(ps.stderr, '', opts);
    const r = b.run(['run', '--rm', '-e', 'NODE_OPTIONS', img, 'sh', '-c', 'echo "$NODE_OPTIONS"'], { env });
    assert.equal(r.code, 0, `${opts}: ${r.stderr}`);
    assert.equal(r.stdout, `${opts}\n`);
  }
  // The exit command (Node, started by the shim) removes a detached --rm container: it must
  // not inherit a NODE_OPTIONS that stops it.
  const id = b.ok(['run', '-d', '--rm', img, 'true'], { env: { NODE_OPTIONS: '--require /nonexistent.js' } }).trim();
  assert.ok(await until(() => !b.run(['ps', '-aq', '--no-trunc']).stdout.includes(id), 60_000), 'the exit command did not remove the --rm container');
});
