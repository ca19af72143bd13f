/**
 * berth-shim's json-file log, with real containers: streams, times, docker's line cutting
 * (newlines, 16 KiB partial pieces, an unterminated end), escaping, rotation, no log, and
 * reading it back (follow ends at the container's exit with nothing missed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readLogs } from '../../src/engine/shim/logs';
import { parseRfc3339Ns } from '../../src/engine/shim/log-format';
import { sh } from '../helpers/bundle';
import { shimCase, shimSkipReason } from '../helpers/shim';

const skip = shimSkipReason();

test('shim log: stdout and stderr lines land in the json log with their stream and nanosecond times', { skip }, async () => {
  const c = shimCase('log-streams', (cfg) => {
    cfg.process!.args = sh('echo one; echo two >&2; printf "three\\nfour"; echo "<tag> & \\"q\\" \\\\ $(printf "\\t\\001")"');
  });
  try {
    const before = BigInt(Date.now()) * 1_000_000n;
    await c.launch();
    await c.run();
    const exit = await c.waitExit();
    assert.equal(exit.exitCode, 0);
    const entries = c.readLog();
    const stdout = entries.filter((e) => e.stream === 'stdout').map((e) => e.log);
    const stderr = entries.filter((e) => e.stream === 'stderr').map((e) => e.log);
    // "four" has no newline: the next write completes the line, as docker's copier joins them
    assert.deepEqual(stdout, ['one\n', 'three\n', 'four<tag> & "q" \\ \t\u0001\n']);
    assert.deepEqual(stderr, ['two\n']);
    const after = BigInt(Date.now()) * 1_000_000n;
    for (const e of entries) {
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/, 'RFC3339Nano, UTC');
      assert.doesNotMatch(e.time, /\.\d*0Z$/, 'trailing zeros trimmed as Go does');
      const ns = parseRfc3339Ns(e.time)!;
      assert.ok(ns >= before && ns <= after, `${e.time} lies within the run`);
    }
    // byte-compatible escaping with docker's (Go's) encoder
    const raw = require('node:fs').readFileSync(c.logPath, 'utf8') as string;
    assert.match(raw, /"log":"four\\u003ctag\\u003e \\u0026 \\"q\\" \\\\ \\t\\u0001\\n"/);
  } finally {
    await c.cleanup();
  }
});

test('shim log: a line longer than 16 KiB is cut into partial entries sharing one time; an unterminated end is partial', { skip }, async () => {
  const c = shimCase('log-partial', (cfg) => {
    // 40000 x's and a newline, then "tail" without one
    cfg.process!.args = sh('head -c 40000 /dev/zero | tr "\\0" x; echo; printf tail');
  });
  try {
    await c.launch();
    await c.run();
    await c.waitExit();
    const entries = c.readLog();
    assert.deepEqual(
      entries.map((e) => e.log.length),
      [16384, 16384, 40000 - 2 * 16384 + 1, 4],
    );
    assert.ok(entries[2]!.log.endsWith('x\n'));
    assert.equal(entries[0]!.time, entries[1]!.time, 'pieces of one line share its first time');
    assert.equal(entries[1]!.time, entries[2]!.time);
    assert.equal(entries[3]!.log, 'tail');
  } finally {
    await c.cleanup();
  }
});

test('shim log: invalid UTF-8 becomes U+FFFD, valid multi-byte text stays', { skip }, async () => {
  const c = shimCase('log-utf8', (cfg) => {
    cfg.process!.args = sh('printf "caf\\303\\251 \\377 \\342\\200\\250\\n"');
  });
  try {
    await c.launch();
    await c.run();
    await c.waitExit();
    assert.deepEqual(c.readLog().map((e) => e.log), ['café \ufffd \u2028\n']);
  } finally {
    await c.cleanup();
  }
});

test('shim log: rotation at max-size keeps max-file files, and the reader reads them in order', { skip }, async () => {
  const lines = 400;
  const c = shimCase('log-rotate', (cfg) => {
    cfg.process!.args = sh(`i=0; while [ $i -lt ${lines} ]; do echo "line $i"; i=$((i+1)); done`);
  });
  try {
    await c.launch({ log: { path: c.logPath, maxSize: 2000, maxFiles: 3 } });
    await c.run();
    await c.waitExit();
    const files = readdirSync(c.dir).filter((f) => f.startsWith('ctr.log')).sort();
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.2'], 'max-file 3: the current file and two rotated ones');
    for (const f of ['ctr.log.1', 'ctr.log.2']) {
      const size = require('node:fs').statSync(`${c.dir}/${f}`).size as number;
      // rotation happens before the entry that finds the file full, as docker's
      assert.ok(size >= 2000 && size < 2000 + 100, `${f} is ${size} bytes`);
    }
    const got: string[] = [];
    for await (const e of readLogs(c.logPath)) got.push(e.line);
    assert.ok(got.length > 0 && got.length < lines, 'older entries rotated away');
    const first = Number(/line (\d+)/.exec(got[0]!)![1]);
    assert.deepEqual(got, Array.from({ length: lines - first }, (_, k) => `line ${first + k}\n`), 'in order, none missing');
  } finally {
    await c.cleanup();
  }
});

test('shim log: max-file 1 truncates instead of keeping rotated files', { skip }, async () => {
  const c = shimCase('log-trunc', (cfg) => {
    cfg.process!.args = sh('i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done');
  });
  try {
    await c.launch({ log: { path: c.logPath, maxSize: 1000, maxFiles: 1 } });
    await c.run();
    await c.waitExit();
    assert.deepEqual(readdirSync(c.dir).filter((f) => f.startsWith('ctr.log')), ['ctr.log']);
    const entries = c.readLog();
    assert.equal(entries[entries.length - 1]!.log, 'line 199\n');
  } finally {
    await c.cleanup();
  }
});

test('shim log: with no log (--log-driver none) nothing is written, attach still gets the output', { skip }, async () => {
  const c = shimCase('log-none', (cfg) => {
    cfg.process!.args = sh('echo quiet');
  });
  try {
    await c.launch({ log: null });
    await c.run();
    assert.equal((await c.waitExit()).exitCode, 0);
    assert.equal(existsSync(c.logPath), false);
  } finally {
    await c.cleanup();
  }
});

test('shim log: follow started before the container reads every line, across rotations, and ends at its exit', { skip }, async () => {
  const n = 300;
  const c = shimCase('log-follow', (cfg) => {
    cfg.process!.args = sh(`i=0; while [ $i -lt ${n} ]; do echo "line $i"; echo "err $i" >&2; i=$((i+1)); done; exit 3`);
  });
  try {
    await c.launch({ log: { path: c.logPath, maxSize: 4000, maxFiles: 50 } });
    const got: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(c.logPath, { follow: true, untilExit: c.dir, stderr: false })) got.push(e.line);
    })();
    await c.run();
    await reading;
    assert.deepEqual(got, Array.from({ length: n }, (_, k) => `line ${k}\n`));
    assert.equal((await c.waitExit()).exitCode, 3);
    assert.ok(readdirSync(c.dir).includes('ctr.log.1'), 'the log rotated while it was followed');
  } finally {
    await c.cleanup();
  }
});
