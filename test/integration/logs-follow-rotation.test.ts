/**
 * `berth logs -f` across fast rotation with max-file 2 (issue 9 item 16): a container writes
 * 20000 numbered lines in bursts (about 4000 a second) into a 64 KiB log kept in two files;
 * a follower started before the writing sees every line in order, one started while it writes
 * sees an unbroken run up to the last line (only what rotated away before it looked may be
 * missing, as with docker), and neither sees a line twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { BERTH, BerthCli, engineSkip } from '../helpers/cli';
import { makeBusyboxRootfs } from '../helpers/rootfs';

const skip = engineSkip();
const N = 20000;
let work: string;
let b: BerthCli;

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'berth-logs-rotation-'));
  makeBusyboxRootfs(join(work, 'rootfs'));
  execFileSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
  b = new BerthCli('logs-rotation');
  b.ok(['import', join(work, 'rootfs.tar'), 'bb:logs']);
});
after(() => {
  b?.cleanup();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** `berth logs -f NAME`: its pid, and its stdout lines once it ends. */
function follow(name: string): { pid: number; lines: Promise<string[]> } {
  let pid = 0;
  const lines = new Promise<string[]>((resolve, reject) => {
    const p = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, 'logs', '-f', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString().split('\n').filter(Boolean)) : reject(new Error(`logs -f exited ${code}: ${err}`))));
    pid = p.pid!;
  });
  return { pid, lines };
}

/** Whether process `pid` holds the file at `path` open (the follower has looked). */
function holdsOpen(pid: number, path: string): boolean {
  let want;
  try {
    want = statSync(path);
  } catch {
    return false;
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      const st = statSync(`/proc/${pid}/fd/${fd}`);
      return st.ino === want.ino && st.dev === want.dev;
    } catch {
      return false;
    }
  });
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

test('logs -f with max-size 64k, max-file 2: every line once, in order, from before and while writing', { skip, timeout: 300_000 }, async () => {
  const sig = join(work, 'sig');
  execFileSync('mkdir', ['-p', sig]);
  // The container waits for the go file, so the first follower is attached before line 0.
  const script = `while [ ! -e /sig/go ]; do usleep 20000; done; i=0; while [ $i -lt ${N / 40} ]; do seq $((i*40)) $((i*40+39)); usleep 10000; i=$((i+1)); done`;
  const id = b.ok(['run', '-d', '--name', 'rot', '--log-opt', 'max-size=64k', '--log-opt', 'max-file=2', '-v', `${sig}:/sig`, 'bb:logs', 'sh', '-c', script]).trim();
  const logPath = b.ok(['inspect', '-f', '{{.LogPath}}', id]).trim();
  try {
    const first = follow('rot');
    await until(() => holdsOpen(first.pid, logPath)); // it has looked: now the writing starts
    writeFileSync(join(sig, 'go'), '');
    await until(() => existsSync(`${logPath}.1`)); // rotated at least once: mid-way
    const second = follow('rot');
    const [a, c] = await Promise.all([first.lines, second.lines]);
    const all = Array.from({ length: N }, (_, k) => String(k));
    assert.equal(a.length, N, `the first follower got ${a.length} of ${N} lines`);
    assert.deepEqual(a, all);
    assert.ok(c.length > 0);
    const from = Number(c[0]);
    assert.deepEqual(c, all.slice(from), 'the second follower: an unbroken run to the end');
  } finally {
    b.run(['rm', '-f', 'rot']);
  }
});
