/**
 * The json-file log reader on synthetic files: order across rotated files, tail (found
 * backwards, with filters), since/until, timestamps, incomplete lines, and follow: through
 * rotations (several between two reads), truncation, and its end at the container's exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readLogs, logFiles } from '../../src/engine/shim/logs';
import { formatFixedNs, parseLogLine, parseRfc3339Ns, toNs, type LogEntry } from '../../src/engine/shim/log-format';

const T0 = 1714557600n * 1_000_000_000n; // 2024-05-01T10:00:00Z

function line(i: number, stream: 'stdout' | 'stderr' = 'stdout', text = `line ${i}\n`): string {
  const ns = T0 + BigInt(i) * 1_000_000n; // one per millisecond
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  const sec = new Date(Number(ns / 1_000_000_000n) * 1000).toISOString().slice(0, 19);
  return JSON.stringify({ log: text, stream, time: `${sec}${frac ? '.' + frac : ''}Z` }) + '\n';
}

function lines(from: number, to: number, stream?: 'stdout' | 'stderr'): string {
  let s = '';
  for (let i = from; i < to; i++) s += line(i, stream ?? (i % 3 === 2 ? 'stderr' : 'stdout'));
  return s;
}

function setup(): { dir: string; log: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-unit-logs-'));
  return { dir, log: join(dir, 'ctr.log'), done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function all(it: AsyncIterable<LogEntry>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of it) out.push(e.line);
  return out;
}

const seq = (from: number, to: number, filter: (i: number) => boolean = () => true): string[] =>
  Array.from({ length: to - from }, (_, k) => from + k)
    .filter(filter)
    .map((i) => `line ${i}\n`);

test('log times: RFC3339Nano parsing and formatting, unix seconds, dates', () => {
  assert.equal(parseRfc3339Ns('2024-05-01T10:00:00Z'), T0);
  assert.equal(parseRfc3339Ns('2024-05-01T10:00:00.5Z'), T0 + 500_000_000n);
  assert.equal(parseRfc3339Ns('2024-05-01T10:00:00.000000001Z'), T0 + 1n);
  assert.equal(parseRfc3339Ns('2024-05-01T12:00:00.25+02:00'), T0 + 250_000_000n);
  assert.equal(parseRfc3339Ns('yesterday'), undefined);
  assert.equal(toNs('1714557600.000000042'), T0 + 42n);
  assert.equal(toNs(1714557600.5), T0 + 500_000_000n);
  assert.equal(toNs(new Date(1714557600123)), T0 + 123_000_000n);
  assert.equal(toNs('2024-05-01T10:00:00Z'), T0);
  assert.equal(formatFixedNs(T0 + 1_500_000n), '2024-05-01T10:00:00.001500000Z');
  assert.throws(() => toNs('soon'));
  const e = parseLogLine('{"log":"partial","stream":"stderr","time":"2024-05-01T10:00:00.1Z"}')!;
  assert.deepEqual(e, { stream: 'stderr', time: '2024-05-01T10:00:00.1Z', timeNs: T0 + 100_000_000n, line: 'partial', partial: true });
  assert.equal(parseLogLine('{"log":1}'), undefined);
  assert.equal(parseLogLine('not json'), undefined);
});

test('logs: rotated files are read oldest first (<log>.2, <log>.1, <log>); an unfinished last line waits', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(`${log}.2`, lines(0, 10));
    writeFileSync(`${log}.1`, lines(10, 20));
    writeFileSync(log, lines(20, 25) + line(25).slice(0, 30));
    assert.deepEqual(await logFiles(log), [`${log}.2`, `${log}.1`, log]);
    assert.deepEqual(await all(readLogs(log)), seq(0, 25));
    assert.deepEqual(await all(readLogs(`${log}-missing`)), []);
  } finally {
    done();
  }
});

test('logs: stream filters', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(log, lines(0, 30));
    assert.deepEqual(await all(readLogs(log, { stderr: false })), seq(0, 30, (i) => i % 3 !== 2));
    assert.deepEqual(await all(readLogs(log, { stdout: false })), seq(0, 30, (i) => i % 3 === 2));
  } finally {
    done();
  }
});

test('logs: tail counts matching entries from the end, across files, filters applied', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(`${log}.2`, lines(0, 1000));
    writeFileSync(`${log}.1`, lines(1000, 1005));
    writeFileSync(log, lines(1005, 1010) + '{"log":"torn');
    assert.deepEqual(await all(readLogs(log, { tail: 3 })), seq(1007, 1010));
    assert.deepEqual(await all(readLogs(log, { tail: 12 })), seq(998, 1010), 'reaches into the oldest file');
    assert.deepEqual(await all(readLogs(log, { tail: 5000 })), seq(0, 1010), 'more than there is: all');
    assert.deepEqual(await all(readLogs(log, { tail: 0 })), []);
    assert.deepEqual(await all(readLogs(log, { tail: 4, stdout: false })), seq(998, 1010, (i) => i % 3 === 2).slice(-4));
    assert.deepEqual(await all(readLogs(log, { tail: 2, until: T0 + 500n * 1_000_000n })), seq(499, 501), 'tail of what until allows');
  } finally {
    done();
  }
});

test('logs: tail finds its start in long files without reading them forwards (lines cross chunk edges)', async () => {
  const { log, done } = setup();
  try {
    // long lines so that 64 KiB chunks cut through them
    let text = '';
    for (let i = 0; i < 300; i++) text += line(i, 'stdout', `line ${i}${'x'.repeat(700)}\n`);
    writeFileSync(log, text);
    const got = await all(readLogs(log, { tail: 150 }));
    assert.equal(got.length, 150);
    assert.ok(got[0]!.startsWith('line 150x') && got[149]!.startsWith('line 299x'));
  } finally {
    done();
  }
});

test('logs: since is inclusive, until is inclusive and ends the read', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(log, lines(0, 20));
    const ms = (i: number) => T0 + BigInt(i) * 1_000_000n;
    assert.deepEqual(await all(readLogs(log, { since: ms(15) })), seq(15, 20));
    assert.deepEqual(await all(readLogs(log, { until: ms(3) })), seq(0, 4));
    assert.deepEqual(await all(readLogs(log, { since: '2024-05-01T10:00:00.005Z', until: '1714557600.007' })), seq(5, 8));
  } finally {
    done();
  }
});

test('logs: timestamps prefix the line with docker\'s fixed nine-digit time', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(log, line(1));
    const [e] = await all(readLogs(log, { timestamps: true }));
    assert.equal(e, '2024-05-01T10:00:00.001000000Z line 1\n');
  } finally {
    done();
  }
});

test('logs follow: through several rotations between two reads, nothing lost or repeated; ends at exit.json', async () => {
  const { dir, log, done } = setup();
  try {
    writeFileSync(log, lines(0, 3));
    const it = readLogs(log, { follow: true, untilExit: dir, pollMs: 10 })[Symbol.asyncIterator]();
    const got: string[] = [];
    got.push((await it.next()).value!.line);
    // while the reader is suspended: more lines, then two rotations (as the shim does them)
    appendFileSync(log, lines(3, 6));
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(6, 9));
    renameSync(`${log}.1`, `${log}.2`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(9, 12));
    for (let i = 0; i < 11; i++) got.push((await it.next()).value!.line);
    // the container exits: the shim writes the last line, closes the log, then exit.json
    appendFileSync(log, line(12));
    writeFileSync(join(dir, 'exit.json'), '{"exitCode":0}');
    const rest: string[] = [];
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      rest.push(r.value.line);
    }
    assert.deepEqual([...got, ...rest], seq(0, 13));
  } finally {
    done();
  }
});

test('logs follow: waits for a log that does not exist yet; follows a truncated file from its start', async () => {
  const { dir, log, done } = setup();
  try {
    const it = readLogs(log, { follow: true, untilExit: dir, pollMs: 10 })[Symbol.asyncIterator]();
    const first = it.next();
    writeFileSync(log, lines(0, 2));
    assert.equal((await first).value!.line, 'line 0\n');
    assert.equal((await it.next()).value!.line, 'line 1\n');
    const third = it.next();
    // max-file 1: the shim truncates the file and starts over
    writeFileSync(log, line(2));
    assert.equal((await third).value!.line, 'line 2\n');
    writeFileSync(join(dir, 'exit.json'), '{}');
    assert.equal((await it.next()).done, true);
  } finally {
    done();
  }
});

test('logs follow: ends when the shim is gone even without exit.json (lost), after reading everything', async () => {
  const { log, done } = setup();
  try {
    writeFileSync(log, lines(0, 2));
    const gone = spawnSync('true').pid!; // a pid that has exited
    const got = await all(readLogs(log, { follow: true, shim: { pid: gone, startTime: 1 }, pollMs: 10 }));
    assert.deepEqual(got, seq(0, 2));
  } finally {
    done();
  }
});

test('logs follow: an abort signal stops it', async () => {
  const { dir, log, done } = setup();
  try {
    writeFileSync(log, lines(0, 1));
    const ac = new AbortController();
    const got: string[] = [];
    for await (const e of readLogs(log, { follow: true, untilExit: dir, signal: ac.signal })) {
      got.push(e.line);
      ac.abort();
    }
    assert.deepEqual(got, seq(0, 1));
  } finally {
    done();
  }
});

test('logs follow started before the first log file exists reads the files rotated before it looked, oldest first', async () => {
  const { dir, log, done } = setup();
  try {
    const it = readLogs(log, { follow: true, untilExit: dir, pollMs: 10 })[Symbol.asyncIterator]();
    const first = it.next();
    // the container writes fast: the log has rotated twice before the follower looks
    writeFileSync(log, lines(0, 3));
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(3, 6));
    renameSync(`${log}.1`, `${log}.2`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(6, 9));
    writeFileSync(join(dir, 'exit.json'), '{}');
    const got = [(await first).value!.line];
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value.line);
    assert.deepEqual(got, seq(0, 9));
  } finally {
    done();
  }
});

/** Whether this process holds `path`'s file open (an fd on its inode). */
function holdsOpen(path: string): boolean {
  const want = statSync(path);
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const st = statSync(`/proc/self/fd/${fd}`);
      if (st.ino === want.ino && st.dev === want.dev) return true;
    } catch {
      /* closed meanwhile */
    }
  }
  return false;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

test('logs follow with max-file 2: files created and dropped while the consumer holds the reader lose nothing', { timeout: 60_000 }, async () => {
  const { dir, log, done } = setup();
  try {
    writeFileSync(log, lines(0, 3));
    const it = readLogs(log, { follow: true, untilExit: dir, pollMs: 10 })[Symbol.asyncIterator]();
    const got = [(await it.next()).value!.line];
    // The consumer takes nothing more while the shim rotates three times with max-file 2:
    // every rename over <log>.1 drops a file the reader has not read yet.
    for (let k = 1; k <= 3; k++) {
      renameSync(log, `${log}.1`);
      writeFileSync(log, lines(k * 3, k * 3 + 3));
      await until(() => holdsOpen(log)); // the follower has seen it (inotify), not read it
    }
    writeFileSync(join(dir, 'exit.json'), '{}');
    for (let r = await it.next(); !r.done; r = await it.next()) got.push(r.value.line);
    assert.deepEqual(got, seq(0, 12));
  } finally {
    done();
  }
});
