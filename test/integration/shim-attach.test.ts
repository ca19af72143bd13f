/**
 * The attach socket with real containers: several clients, stdin, stdin-once, detach keys,
 * terminal resize, clients leaving without harm, the raw framing the API server passes on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { BerthError } from '../../src/core/errors';
import { isSameProcessAlive } from '../../src/runtime/process-info';
import { attach, openAttach } from '../../src/engine/shim/attach';
import { StreamDemuxer } from '../../src/engine/shim/protocol';
import { OUT, sh } from '../helpers/bundle';
import { eventually, shimCase, shimSkipReason } from '../helpers/shim';

const skip = shimSkipReason();

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

test('attach: two clients attached before start both see all output, each stream on its own', { skip }, async () => {
  const c = shimCase('attach-two', (cfg) => {
    cfg.process!.args = sh('echo out1; echo err1 >&2; echo out2');
  });
  try {
    await c.launch();
    const a = { out: sink(), err: sink() };
    const b = { out: sink() };
    let attachedA!: () => void;
    const readyA = new Promise<void>((r) => (attachedA = r));
    const pa = attach(c.dir, { stdout: a.out.stream, stderr: a.err.stream, tty: false, onAttached: () => attachedA() });
    await readyA;
    // the second only wants stdout, and starts the container once attached
    const pb = attach(c.dir, { stdout: b.out.stream, tty: false, onAttached: () => c.run() });
    assert.deepEqual(await pa, { detached: false });
    assert.deepEqual(await pb, { detached: false });
    assert.equal(a.out.text(), 'out1\nout2\n');
    assert.equal(a.err.text(), 'err1\n');
    assert.equal(b.out.text(), 'out1\nout2\n');
    assert.equal((await c.waitExit()).exitCode, 0);
  } finally {
    await c.cleanup();
  }
});

test('attach: the raw connection carries docker\'s multiplexed frames', { skip }, async () => {
  const c = shimCase('attach-raw', (cfg) => {
    cfg.process!.args = sh('echo hi; echo oops >&2');
  });
  try {
    await c.launch();
    const conn = await openAttach(c.dir, { stdout: true, stderr: true });
    assert.equal(conn.tty, false);
    assert.equal(conn.stdin, false, 'the container has no open stdin');
    const chunks: Buffer[] = [];
    conn.socket.on('data', (d: Buffer) => chunks.push(d));
    const ended = new Promise((r) => conn.socket.once('end', r));
    await c.run();
    await ended;
    const frames = new StreamDemuxer().push(Buffer.concat(chunks));
    const byStream = (s: number) => Buffer.concat(frames.filter((f) => f.stream === s).map((f) => f.data)).toString();
    assert.equal(byStream(1), 'hi\n');
    assert.equal(byStream(2), 'oops\n');
    // header bytes exactly as docker's: stream, 0, 0, 0, big-endian length
    assert.deepEqual([...Buffer.concat(chunks).subarray(0, 8)], [frames[0]!.stream, 0, 0, 0, 0, 0, 0, frames[0]!.data.length]);
  } finally {
    await c.cleanup();
  }
});

test('attach: stdin reaches cat; with stdin-once, closing our stdin ends it', { skip }, async () => {
  const c = shimCase('attach-stdin', (cfg) => {
    cfg.process!.args = ['cat'];
  });
  try {
    await c.launch({ stdin: true, stdinOnce: true });
    const stdin = new PassThrough();
    const out = sink();
    const p = attach(c.dir, { stdin, stdout: out.stream, stderr: out.stream, tty: false, onAttached: () => c.run() });
    stdin.write('hello cat\n');
    await eventually('the echo from cat', () => (out.text() === 'hello cat\n' ? true : undefined));
    stdin.write('bye\n');
    stdin.end();
    assert.deepEqual(await p, { detached: false });
    assert.equal(out.text(), 'hello cat\nbye\n');
    assert.equal((await c.waitExit()).exitCode, 0, 'cat saw EOF and exited');
  } finally {
    await c.cleanup();
  }
});

test('attach: without stdin-once a client leaving keeps stdin open for the next one', { skip }, async () => {
  const c = shimCase('attach-stdin-keep', (cfg) => {
    cfg.process!.args = ['cat'];
  });
  try {
    const l = await c.launch({ stdin: true });
    await c.run();
    for (const word of ['first', 'second']) {
      const stdin = new PassThrough();
      const out = sink();
      const p = attach(c.dir, { stdin, stdout: out.stream, tty: false, detachKeys: 'ctrl-x' });
      stdin.write(`${word}\n`);
      await eventually(`the ${word} echo`, () => (out.text() === `${word}\n` ? true : undefined));
      stdin.write(Buffer.from([0x18])); // ctrl-x: detach
      assert.deepEqual(await p, { detached: true });
    }
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime), 'cat still runs');
    process.kill(l.containerPid, 'SIGKILL');
    assert.equal((await c.waitExit()).signal, 9);
  } finally {
    await c.cleanup();
  }
});

test('attach: detach keys (ctrl-p,ctrl-q) detach; a lone ctrl-p still reaches the container', { skip }, async () => {
  const c = shimCase('attach-detach', (cfg) => {
    cfg.process!.args = ['cat'];
  });
  try {
    const l = await c.launch({ stdin: true });
    await c.run();
    const stdin = new PassThrough();
    const out = sink();
    const p = attach(c.dir, { stdin, stdout: out.stream, tty: false });
    // ctrl-p then "a": not the sequence, both bytes go through; then ctrl-p ctrl-q detaches
    stdin.write(Buffer.from([0x10, 0x61]));
    await eventually('cat to echo both bytes', () => (out.text() === '\x10a' ? true : undefined));
    stdin.write(Buffer.from([0x62, 0x10, 0x11, 0x63]));
    assert.deepEqual(await p, { detached: true });
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime), 'detaching does not stop the container');
    // what was typed after the detach keys never reached it: the log has the whole line
    const stdin2 = new PassThrough();
    const p2 = attach(c.dir, { stdin: stdin2, stdout: sink().stream, tty: false });
    stdin2.write('z\n');
    await eventually('the line in the log', () => (c.readLog().length ? true : undefined));
    assert.deepEqual(c.readLog().map((e) => e.log), ['\x10abz\n']);
    process.kill(l.containerPid, 'SIGKILL');
    assert.deepEqual(await p2, { detached: false });
  } finally {
    await c.cleanup();
  }
});

test('attach: with a terminal, resize changes `stty size` inside, output is raw, stdin works', { skip }, async () => {
  const c = shimCase('attach-tty', (cfg) => {
    cfg.process!.terminal = true;
    cfg.process!.args = ['sh'];
  });
  try {
    const l = await c.launch({ stdin: true });
    assert.equal(l.terminal, true);
    const stdin = new PassThrough();
    const out = sink();
    let send!: (rows: number, cols: number) => void;
    const p = attach(c.dir, {
      stdin,
      stdout: out.stream,
      tty: true,
      onResize: (s) => {
        send = s;
        s(30, 100);
      },
      onAttached: () => c.run(),
    });
    stdin.write('stty size; echo "A$((40+2))B"\n');
    await eventually('the first size', () => (/A42B/.test(out.text()) ? true : undefined));
    assert.match(out.text(), /30 100\r\n/);
    send(51, 132);
    stdin.write('stty size; echo "C$((40+3))D"\n');
    await eventually('the second size', () => (/C43D/.test(out.text()) ? true : undefined));
    assert.match(out.text(), /51 132\r\n/);
    stdin.write('exit 9\n');
    assert.deepEqual(await p, { detached: false });
    assert.equal((await c.waitExit()).exitCode, 9);
    // the pty's output is in the log too (as stdout, with its \r\n)
    assert.ok(c.readLog().some((e) => e.stream === 'stdout' && e.log === '51 132\r\n'));
  } finally {
    await c.cleanup();
  }
});

test('attach: a client that disconnects abruptly does not affect the container or other clients', { skip }, async () => {
  const c = shimCase('attach-drop', (cfg) => {
    cfg.process!.args = sh(`echo ready > ${OUT}/ready; i=0; while :; do echo tick $i; i=$((i+1)); sleep 0.02; done`);
  });
  try {
    const l = await c.launch({ stdin: true });
    await c.run();
    await c.bundle.waitForOut('ready');
    const stayer = sink();
    const ps = attach(c.dir, { stdout: stayer.stream, tty: false });
    for (let i = 0; i < 3; i++) {
      const conn = await openAttach(c.dir, { stdout: true, stderr: true, stdin: true });
      assert.equal(conn.stdin, true);
      await new Promise((r) => conn.socket.once('data', r));
      conn.sendStdin(Buffer.from('ignored\n'));
      conn.socket.destroy(); // gone mid-stream, without a word
    }
    // one that does not read: output queues for it, nothing stalls
    const stalled = await openAttach(c.dir, { stdout: true });
    stalled.socket.pause();
    const before = stayer.text().length;
    await eventually('more output to the remaining client', () => (stayer.text().length > before + 200 ? true : undefined));
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime));
    stalled.close();
    process.kill(l.containerPid, 'SIGKILL');
    assert.deepEqual(await ps, { detached: false });
    assert.equal((await c.waitExit()).signal, 9);
  } finally {
    await c.cleanup();
  }
});

test('attach: to a container that has exited fails with ESTATE', { skip }, async () => {
  const c = shimCase('attach-gone', (cfg) => {
    cfg.process!.args = sh('true');
  });
  try {
    await c.launch();
    await c.run();
    await c.waitExit();
    await eventually('the shim to be gone', () => (require('node:fs').existsSync(`${c.dir}/attach.sock`) ? undefined : true));
    await assert.rejects(attach(c.dir, { stdout: sink().stream, tty: false }), (e: unknown) => e instanceof BerthError && e.code === 'ESTATE');
  } finally {
    await c.cleanup();
  }
});

test('attach: a slow reader gets every byte; one that stops reading is disconnected; the others go on', { skip }, async () => {
  const c = shimCase('attach-stall', (cfg) => {
    cfg.process!.args = ['yes', 'a fast producer of output'];
  });
  try {
    const l = await c.launch({ log: null });
    const stalled = await openAttach(c.dir, { stdout: true });
    stalled.socket.pause();
    let reader = 0;
    const other = await openAttach(c.dir, { stdout: true });
    other.socket.on('data', (d: Buffer) => (reader += d.length));
    await c.run();
    // The stalled client holds the output up (backpressure) until the shim gives up on it;
    // then the reading client gets far more than the socket buffers and queues could hold.
    await eventually('output to the reading client', () => (reader > 16 * 1024 * 1024 ? true : undefined), 60_000);
    let got = 0;
    stalled.socket.on('data', (d: Buffer) => (got += d.length));
    stalled.socket.resume();
    await new Promise((r) => stalled.socket.once('end', r));
    assert.ok(got < 8 * 1024 * 1024, `the stalled client was cut off (it got ${got} bytes)`);
    assert.match(require('node:fs').readFileSync(`${c.dir}/shim.log`, 'utf8'), /read nothing .* disconnected/);
    assert.ok(isSameProcessAlive(l.containerPid, l.containerStartTime), 'the container never blocked on it');
    other.close();
    process.kill(l.containerPid, 'SIGKILL');
    assert.equal((await c.waitExit()).signal, 9);
  } finally {
    await c.cleanup();
  }
});

test('attach: a container directory too long for a socket path still works (relative bind, /proc/self/fd connect)', { skip }, async () => {
  const c = shimCase('attach-longdir', (cfg) => {
    cfg.process!.args = sh('echo far away');
  });
  try {
    const deep = require('node:path').join(c.dir, 'd'.repeat(60), 'e'.repeat(60)) as string;
    require('node:fs').mkdirSync(deep, { recursive: true, mode: 0o700 });
    assert.ok(Buffer.byteLength(`${deep}/attach.sock`) > 107);
    c.dir = deep;
    await c.launch({ log: { path: `${deep}/ctr.log` } });
    const out = sink();
    const p = attach(deep, { stdout: out.stream, tty: false, onAttached: () => c.run() });
    assert.deepEqual(await p, { detached: false });
    assert.equal(out.text(), 'far away\n');
  } finally {
    await c.cleanup();
  }
});
