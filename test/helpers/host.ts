/**
 * Host-side helpers for the interop and drop-in tests, which drive other programs (runc,
 * podman, dockerd, docker): finding a tool, running it with its output captured in files,
 * and checking what a test leaves behind (mounts, processes, cgroup directories).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const EXTRA_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of `name` in PATH (plus the sbin directories), or undefined. */
export function findTool(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean).concat(EXTRA_PATH);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Skip reason naming the first tool of `names` that is not installed (with its Debian package). */
export function missingTools(names: Array<[tool: string, debianPackage: string]>): string | undefined {
  for (const [tool, pkg] of names) if (!findTool(tool)) return `${tool} not installed (Debian package ${pkg})`;
  return undefined;
}

export interface CmdResult {
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface CmdOptions {
  /** Written to the command's stdin (otherwise stdin is /dev/null). */
  input?: string;
  /** Kill the command after this long (default 120 s) so that a hang fails one test, not the suite. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

let scratch: string | undefined;
let calls = 0;

/**
 * Runs a command to completion. Output goes through files, not pipes: daemons the command
 * starts (conmon, containerd shims, container processes) may inherit its stdio, and a pipe
 * they hold open would keep us waiting until they exit.
 */
export function runCommand(bin: string, args: string[], opts: CmdOptions = {}): CmdResult {
  if (!scratch) {
    const dir = mkdtempSync(join(tmpdir(), 'berth-cmd-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  const n = ++calls;
  const outPath = join(scratch, `${n}.out`);
  const errPath = join(scratch, `${n}.err`);
  const inPath = join(scratch, `${n}.in`);
  if (opts.input !== undefined) writeFileSync(inPath, opts.input);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const stdin = opts.input !== undefined ? openSync(inPath, 'r') : 'ignore';
  try {
    const r = spawnSync(bin, args, {
      stdio: [stdin, out, err],
      timeout: opts.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
      env: opts.env ?? process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
    });
    const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    if (r.error && !timedOut) throw r.error;
    return {
      code: r.status ?? 128 + (r.signal ? signalNumber(r.signal) : 0),
      signal: r.signal,
      timedOut,
      stdout: readFileSync(outPath, 'utf8'),
      stderr: readFileSync(errPath, 'utf8'),
    };
  } finally {
    closeSync(out);
    closeSync(err);
    if (typeof stdin === 'number') closeSync(stdin);
    rmSync(outPath, { force: true });
    rmSync(errPath, { force: true });
    rmSync(inPath, { force: true });
  }
}

/** What a command did (status, both streams), for assertion messages. */
export function commandReport(what: string, r: CmdResult): string {
  return `${what} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;
}

function signalNumber(signal: NodeJS.Signals): number {
  const table: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGABRT: 6, SIGSEGV: 11 };
  return table[signal] ?? 0;
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Lazily unmounts everything at or below `dir`; returns what had to be unmounted. */
export function unmountUnder(dir: string): string[] {
  const found = mountsUnder(dir);
  for (const m of found) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  return found;
}

/** Live processes (not zombies) whose command line contains `needle`, excluding this one. */
export function processesMentioning(needle: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (!cmdline.includes(needle)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') found.push({ pid: Number(name), cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return found;
}

/** Directories of cgroup `relPath` that exist in any hierarchy under /sys/fs/cgroup. */
export function cgroupDirsOf(relPath: string): string[] {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((h) => join(root, h, relPath))
    .filter((p) => existsSync(p));
}
