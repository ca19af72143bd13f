/**
 * berth-shim in external mode (conmon-style): the shim runs `runc create` with the
 * container's stdio, reads the pid file, and monitors the container as in built-in mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { BerthError } from '../../src/core/errors';
import { attach } from '../../src/engine/shim/attach';
import { readLogs } from '../../src/engine/shim/logs';
import { sh } from '../helpers/bundle';
import { eventually, findRunc, shimCase, shimSkipReason } from '../helpers/shim';

const runc = findRunc();
const skip = shimSkipReason() ?? (runc ? undefined : 'runc not installed');

test('external (runc): output in the log, exit code in exit.json, exit command', { skip }, async () => {
  const c = shimCase('ext-basic', (cfg) => {
    cfg.process!.args = sh('echo from runc; echo to stderr >&2; exit 4');
  }, { runc: runc! });
  try {
    const l = await c.launch({ exitCommand: ['/bin/sh', '-c', `echo done > ${c.dir}/exit-command`] });
    assert.ok(l.containerPid > 0);
    await c.run();
    const lines: string[] = [];
    for await (const e of readLogs(c.logPath, { follow: true, untilExit: c.dir })) lines.push(`${e.stream}:${e.line}`);
    assert.deepEqual(lines.sort(), ['stderr:to stderr\n', 'stdout:from runc\n']);
    const e = await c.waitExit();
    assert.equal(e.exitCode, 4);
    assert.equal(e.pid, l.containerPid);
    await eventually('the exit command', () => (require('node:fs').existsSync(`${c.dir}/exit-command`) ? true : undefined));
  } finally {
    await c.cleanup();
  }
});

test('external (runc): a terminal through --console-socket, with stdin and resize', { skip }, async () => {
  const c = shimCase('ext-tty', (cfg) => {
    cfg.process!.terminal = true;
    cfg.process!.args = ['sh'];
  }, { runc: runc! });
  try {
    const l = await c.launch({ stdin: true });
    assert.equal(l.terminal, true);
    const stdin = new PassThrough();
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const p = attach(c.dir, { stdin, stdout: out, tty: true, onResize: (send) => send(24, 91), onAttached: () => c.run() });
    stdin.write('stty size; exit 6\n');
    assert.deepEqual(await p, { detached: false });
    assert.match(text, /24 91\r\n/);
    assert.equal((await c.waitExit()).exitCode, 6);
  } finally {
    await c.cleanup();
  }
});

test('external (runc): a failing create reports the runtime\'s own error', { skip }, async () => {
  const c = shimCase('ext-fail', (cfg) => {
    cfg.root = { path: 'no-such-rootfs' };
  }, { runc: runc! });
  try {
    await assert.rejects(c.launch(), (e: unknown) => e instanceof BerthError && e.code === 'EINIT' && /runc create failed/.test(e.message) && /no-such-rootfs|no such file/i.test(e.message));
  } finally {
    await c.cleanup();
  }
});
