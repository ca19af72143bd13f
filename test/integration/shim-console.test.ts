/**
 * The CLI's own terminal helpers: `exec -t` run directly (no shim), with the pty master
 * received on a console socket in this process and proxied to our streams; and the raw
 * terminal session (mode, size at start and on resize, restore).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { execInContainer } from '../../src/runtime/exec';
import { listenConsole, proxyConsole } from '../../src/engine/shim/console';
import { rawTerminal } from '../../src/engine/shim/terminal';
import { OUT, readyThenSleep } from '../helpers/bundle';
import { shimCase, shimSkipReason } from '../helpers/shim';

const skip = shimSkipReason();

test('console: exec -t through a console socket in this process, proxied to our streams with resize', { skip }, async () => {
  const c = shimCase('console-exec', (cfg) => {
    cfg.process!.args = readyThenSleep();
  });
  try {
    const l = await c.launch();
    await c.run();
    await c.bundle.waitForOut('ready');
    const recv = await listenConsole(join(c.dir, '..', 'exec-console.sock'));
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let text = '';
    stdout.on('data', (d: Buffer) => (text += d.toString()));
    const status = execInContainer(c.ctx, {
      id: c.id,
      process: { terminal: true, args: ['sh'], cwd: '/', user: { uid: 0, gid: 0 }, env: ['PATH=/bin'] },
      consoleSocket: recv.path,
      detach: false,
    });
    const master = await recv.master;
    await recv.close();
    const proxied = proxyConsole(master, { stdin, stdout, onResize: (send) => send(42, 120) });
    stdin.write(`stty size; tty; echo "E$((2+3))X" > ${OUT}/exec; exit 3\n`);
    assert.equal(await status, 3, 'the exec status');
    assert.deepEqual(await proxied, { detached: false }, 'the proxy ends with the terminal');
    assert.match(text, /42 120\r\n/);
    assert.match(text, /\/dev\/pts\/\d+\r\n/);
    assert.equal(c.bundle.readOut('exec')?.trim(), 'E5X');
    process.kill(l.containerPid, 'SIGKILL');
    await c.waitExit();
  } finally {
    await c.cleanup();
  }
});

test('terminal: raw mode on a tty, size now and on every resize, restored once', () => {
  const modes: boolean[] = [];
  const input = Object.assign(new PassThrough(), { isTTY: true, isRaw: false, setRawMode: (m: boolean) => modes.push(m) });
  const output = Object.assign(new EventEmitter(), { isTTY: true, rows: 24, columns: 80, write: () => true }) as unknown as NodeJS.WriteStream;
  const term = rawTerminal(input as unknown as NodeJS.ReadStream, output);
  assert.equal(term.raw, true);
  assert.deepEqual(modes, [true]);
  const sizes: string[] = [];
  const stop = term.onResize((r, cc) => sizes.push(`${r}x${cc}`));
  Object.assign(output, { rows: 50, columns: 132 });
  (output as unknown as EventEmitter).emit('resize');
  if (stop) stop();
  (output as unknown as EventEmitter).emit('resize');
  assert.deepEqual(sizes, ['24x80', '50x132']);
  term.restore();
  term.restore();
  assert.deepEqual(modes, [true, false]);
  const plain = rawTerminal(new PassThrough() as unknown as NodeJS.ReadStream, output);
  assert.equal(plain.raw, false, 'not a tty: left alone');
  plain.restore();
});
