/**
 * Drives an OCI runtime binary (berth-runtime, runc, crun...) through its command line for the
 * conformance tests. Every session gets a private `--root`, names its containers after the test
 * (so a leaked container or cgroup says which test leaked it) and, on cleanup, kills and deletes
 * everything it created and then checks that no process, state entry or cgroup directory is left.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ContainerState, RuntimeConfig } from '../../src/spec/types';
import { busyboxAvailable } from './rootfs';
import { CGROUP_PARENT, makeBundle, type Bundle } from './bundle';
import { pruneEmptyLevel } from '../../src/cgroups';

const REPO = join(__dirname, '..', '..', '..');
const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * The runtime under test: `BERTH_TEST_RUNTIME` (a path, or a bare name looked up in PATH such as
 * `runc`), defaulting to this checkout's bin/berth-runtime.
 */
export function runtimeBinary(): string {
  const wanted = process.env.BERTH_TEST_RUNTIME;
  if (!wanted) return join(REPO, 'bin', 'berth-runtime');
  if (wanted.includes('/')) return wanted;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    const candidate = join(dir, wanted);
    if (existsSync(candidate)) return candidate;
  }
  return wanted;
}

/** This checkout's berth-runtime, whatever BERTH_TEST_RUNTIME says (for interop tests). */
export const BERTH_RUNTIME = join(REPO, 'bin', 'berth-runtime');

/** Why this checkout's berth-runtime cannot run here (not built, not root, no busybox), or undefined. */
export function berthSkipReason(): string | undefined {
  if (!existsSync(join(REPO, 'dist', 'berth-runtime.js'))) return 'bin/berth-runtime needs dist/berth-runtime.js: run `npm run build`';
  if (!existsSync(join(REPO, 'build', 'Release', 'berth-init'))) return 'build/Release/berth-init missing: run `npm run install`';
  const broken = runtimeUnusable(BERTH_RUNTIME);
  if (broken) return broken;
  if (!busyboxAvailable()) return 'busybox (/bin/busybox from busybox-static) not installed';
  if (process.getuid?.() !== 0) return 'needs root';
  return undefined;
}

/** Base name of the runtime under test ("runc", "berth-runtime"), for runtime-specific expectations. */
export function runtimeName(): string {
  return basename(runtimeBinary());
}

export function isBerth(): boolean {
  return runtimeName().startsWith('berth');
}

/**
 * Skip reason for expectations only berth is held to (spec features newer than the runc 1.1
 * used to validate the suite, or deliberate berth behaviour), undefined when testing berth.
 */
export function berthOnly(why: string): string | undefined {
  return isBerth() ? undefined : `berth-only expectation (${runtimeName()}: ${why})`;
}

/** Where the checker binary is built; tests that read its reports skip without it. */
export const CHECKER_BUILD = join(REPO, 'build', 'Release', 'berth-checker');

/**
 * Why the conformance tests cannot run here, or undefined when they can. Passed as `skip` to
 * node:test so a machine without the runtime, busybox or root skips with the reason printed.
 */
export function skipReason(opts: { checker?: boolean } = {}): string | undefined {
  const bin = runtimeBinary();
  if (!existsSync(bin)) return `runtime binary ${bin} not found (set BERTH_TEST_RUNTIME)`;
  if (bin === join(REPO, 'bin', 'berth-runtime') && !existsSync(join(REPO, 'dist', 'berth-runtime.js'))) {
    return 'bin/berth-runtime needs dist/berth-runtime.js: run `npm run build`';
  }
  const broken = runtimeUnusable(bin);
  if (broken) return broken;
  if (!busyboxAvailable()) return 'busybox (/bin/busybox from busybox-static) not installed';
  if (process.getuid?.() !== 0) return 'conformance tests need root';
  if (opts.checker && !existsSync(CHECKER_BUILD)) return `${CHECKER_BUILD} missing: run \`npm run install\``;
  return undefined;
}

const probed = new Map<string, string | undefined>();
/** Runs `BIN --version` once per binary: one that cannot even do that (e.g. not built) counts as missing. */
function runtimeUnusable(bin: string): string | undefined {
  if (!probed.has(bin)) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    const problem =
      r.status === 0 ? undefined : `runtime ${bin} is not usable: \`--version\` exited ${r.status ?? r.signal}: ${(r.stderr || r.stdout || String(r.error ?? '')).trim().slice(0, 200)}`;
    probed.set(bin, problem);
  }
  return probed.get(bin);
}

export interface RtResult {
  /** Exit status; 128+signal when the runtime was killed (e.g. by the timeout). */
  code: number;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface RtOptions {
  /** Written to the runtime's stdin (otherwise stdin is /dev/null). */
  input?: string;
  /** Kill the runtime after this long (default 60 s): a hang fails the test instead of the suite. */
  timeoutMs?: number;
  /** Host fds handed to the runtime as its fds 3, 4, ... (for --preserve-fds and leak tests). */
  extraFds?: number[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the runtime's stdout goes (default: a file per call). A container created without a
   * terminal inherits it, so passing a file the test owns lets it read what the container
   * printed after `start`.
   */
  stdoutFile?: string;
}

export interface CreateOptions {
  pidFile?: string;
  extraArgs?: string[];
  rt?: RtOptions;
}

export class RuntimeSession {
  readonly root: string;
  readonly scratch: string;
  /** The runtime this session drives (default: the one under test, see runtimeBinary). */
  readonly binary: string;
  private readonly prefix: string;
  private readonly ids = new Set<string>();
  private readonly pids = new Set<number>();
  private readonly bundles: Bundle[] = [];
  private calls = 0;

  constructor(testName: string, opts: { binary?: string } = {}) {
    this.binary = opts.binary ?? runtimeBinary();
    this.prefix = sanitize(testName).slice(0, 32);
    this.scratch = mkdtempSync(join(tmpdir(), `berth-rt-${this.prefix}-`));
    this.root = join(this.scratch, 'root');
  }

  /** A fresh container id carrying the test's name; it is tracked for cleanup. */
  newId(label = ''): string {
    const id = `${this.prefix}${label ? '-' + sanitize(label) : ''}-${randomBytes(3).toString('hex')}`;
    this.ids.add(id);
    return id;
  }

  /** A new container id plus a bundle for it; the bundle is removed by cleanup(). */
  bundle(label = '', mutate?: (cfg: RuntimeConfig, bundle: Bundle) => void): { id: string; bundle: Bundle } {
    const id = this.newId(label);
    const bundle = makeBundle(id, mutate);
    this.bundles.push(bundle);
    return { id, bundle };
  }

  /**
   * create + start, then waits until the container's process has exited (status "stopped").
   * Throws with the runtime's stderr when create or start fails.
   */
  async runToCompletion(id: string, bundle: Bundle, opts: CreateOptions = {}): Promise<void> {
    await this.createAndStart(id, bundle, opts);
    await this.waitForStatus(id, 'stopped');
  }

  /** create + start; throws with the runtime's stderr when either fails. */
  async createAndStart(id: string, bundle: Bundle, opts: CreateOptions = {}): Promise<void> {
    const c = this.createContainer(id, bundle.dir, opts);
    if (c.code !== 0) throw new Error(`create ${id} failed (${c.code}): ${c.stderr.trim()}`);
    this.rtOk(['start', id]);
  }

  /** Track an id that was not made by newId (e.g. one the test expects to be rejected). */
  track(id: string): void {
    this.ids.add(id);
  }

  /**
   * Runs the runtime with this session's `--root`. stdout/stderr go to files, not pipes: a
   * created container inherits the runtime's stdio, and a pipe held open by it would make the
   * call wait for the container to exit.
   */
  rt(args: string[], opts: RtOptions = {}): RtResult {
    const n = ++this.calls;
    const outPath = opts.stdoutFile ?? join(this.scratch, `call-${n}.out`);
    const errPath = join(this.scratch, `call-${n}.err`);
    const inPath = join(this.scratch, `call-${n}.in`);
    if (opts.input !== undefined) writeFileSync(inPath, opts.input);
    const out = openSync(outPath, opts.stdoutFile ? 'a' : 'w');
    const err = openSync(errPath, 'w');
    const stdin = opts.input !== undefined ? openSync(inPath, 'r') : 'ignore';
    try {
      const r = spawnSync(this.binary, ['--root', this.root, ...args], {
        stdio: [stdin, out, err, ...(opts.extraFds ?? [])],
        timeout: opts.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        env: opts.env ?? process.env,
        cwd: opts.cwd ?? this.scratch,
      });
      if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
      const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
      return {
        code: r.status ?? 128 + signalNumber(r.signal),
        signal: r.signal,
        timedOut,
        stdout: readFileSync(outPath, 'utf8'),
        stderr: readFileSync(errPath, 'utf8'),
      };
    } finally {
      closeSync(out);
      closeSync(err);
      if (typeof stdin === 'number') closeSync(stdin);
    }
  }

  /** Like rt() but throws (with both streams) when the runtime exits non-zero. */
  rtOk(args: string[], opts: RtOptions = {}): RtResult {
    const r = this.rt(args, opts);
    if (r.code !== 0) throw new Error(`${basename(this.binary)} ${args.join(' ')} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  createContainer(id: string, bundle: string, opts: CreateOptions = {}): RtResult {
    this.ids.add(id);
    const args = ['create', '--bundle', bundle];
    if (opts.pidFile) args.push('--pid-file', opts.pidFile);
    args.push(...(opts.extraArgs ?? []), id);
    const r = this.rt(args, opts.rt);
    if (r.code === 0) this.rememberPid(id);
    return r;
  }

  startContainer(id: string): RtResult {
    return this.rt(['start', id]);
  }

  /** `state ID` parsed, or undefined when the runtime reports an error. */
  state(id: string): ContainerState | undefined {
    const r = this.rt(['state', id]);
    if (r.code !== 0) return undefined;
    const s = JSON.parse(r.stdout) as ContainerState;
    if (s.pid) this.pids.add(s.pid);
    return s;
  }

  stateOk(id: string): ContainerState {
    const r = this.rtOk(['state', id]);
    const s = JSON.parse(r.stdout) as ContainerState;
    if (s.pid) this.pids.add(s.pid);
    return s;
  }

  /** Polls `state` until the status matches; throws with the last state seen after `timeoutMs`. */
  async waitForStatus(id: string, status: string, timeoutMs = 20_000): Promise<ContainerState> {
    const deadline = Date.now() + timeoutMs;
    let last: ContainerState | undefined;
    while (Date.now() < deadline) {
      last = this.state(id);
      if (last?.status === status) return last;
      await sleep(50);
    }
    throw new Error(`container ${id} did not reach "${status}" within ${timeoutMs} ms; last state: ${JSON.stringify(last)}`);
  }

  deleteForce(id: string): RtResult {
    return this.rt(['delete', '--force', id]);
  }

  /** Ids listed by `list --format json` (an empty list may be printed as `null`). */
  listIds(): string[] {
    const r = this.rtOk(['list', '--format', 'json']);
    const parsed = JSON.parse(r.stdout.trim() || 'null') as Array<{ id: string }> | null;
    return (parsed ?? []).map((c) => c.id);
  }

  /**
   * Asserts that nothing of container `id` exists: not in `list`, no `state`, no cgroup
   * directory, and (when `pid` is given) no process. Returns the problems found.
   */
  leftovers(id: string, pid?: number, rootfs?: string): string[] {
    const problems: string[] = [];
    if (rootfs) for (const p of processesRootedAt(rootfs)) problems.push(`process ${p} runs with its root in ${rootfs}`);
    if (this.listIds().includes(id)) problems.push(`${id} still listed by \`list\``);
    if (this.rt(['state', id]).code === 0) problems.push(`\`state ${id}\` still succeeds`);
    for (const dir of findCgroupDirs(id)) problems.push(`cgroup directory ${dir} remains`);
    if (pid && processAlive(pid)) problems.push(`process ${pid} of ${id} is still alive`);
    return problems;
  }

  /**
   * Kills and deletes every container this session created, then fails if anything of them
   * remains (processes, cgroup directories). Leftover cgroup directories are removed so one
   * broken test does not poison the next run.
   */
  async cleanup(): Promise<void> {
    const problems: string[] = [];
    for (const id of this.ids) {
      const s = this.state(id);
      if (!s) continue;
      this.rt(['kill', id, 'KILL']);
      const del = this.deleteForce(id);
      if (del.code !== 0 && this.state(id)) problems.push(`delete --force ${id} failed: ${del.stderr.trim()}`);
    }
    for (const pid of this.pids) {
      if (!(await waitUntil(() => !processAlive(pid), 10_000))) {
        problems.push(`process ${pid} still alive after delete --force`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const id of this.ids) {
      for (const dir of findCgroupDirs(id)) {
        problems.push(`cgroup directory ${dir} left behind`);
        removeCgroupTree(dir);
      }
    }
    // the shared parent, once no test file uses it any more (others may: busy is fine)
    pruneEmptyLevel(CGROUP_PARENT, CGROUP_ROOT);
    for (const b of this.bundles) b.cleanup();
    rmSync(this.scratch, { recursive: true, force: true });
    if (problems.length) throw new Error(`cleanup found leaks:\n  ${problems.join('\n  ')}`);
  }

  private rememberPid(id: string): void {
    this.state(id);
  }
}

/** A session whose cleanup runs after the test (registered with t.after). */
export function session(t: { name: string; after: (fn: () => Promise<void> | void) => void }, opts: { binary?: string } = {}): RuntimeSession {
  const s = new RuntimeSession(t.name, opts);
  t.after(() => s.cleanup());
  return s;
}

/** Every directory named `id` in the first levels of every cgroup hierarchy. */
export function findCgroupDirs(id: string, maxDepth = 6): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const p = join(dir, name);
      let isDir = false;
      try {
        isDir = statSync(p).isDirectory();
      } catch {
        continue;
      }
      if (!isDir) continue;
      if (name === id) found.push(p);
      else if (depth < maxDepth) walk(p, depth + 1);
    }
  };
  walk(CGROUP_ROOT, 0);
  return found;
}

/** Host paths of the cgroup `cgroupsPath` in each v1 controller (and the v2 mount), existing or not. */
export function cgroupHostPaths(cgroupsPath: string): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const controller of readdirSync(CGROUP_ROOT)) paths[controller] = join(CGROUP_ROOT, controller, cgroupsPath);
  return paths;
}

/** rmdir of a cgroup directory and its children, deepest first; busy ones (with tasks) stay. */
export function removeCgroupTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) removeCgroupTree(p);
  }
  try {
    rmdirSync(dir);
  } catch {
    /* still has tasks: reported as a leak already */
  }
}

/** Pids of live processes whose root directory is `rootfs` (i.e. container processes of that bundle). */
export function processesRootedAt(rootfs: string): number[] {
  // readlink(/proc/PID/root) of a pivoted process in another mount namespace says "/", so
  // compare the directory itself (a bind mount keeps device and inode numbers).
  const want = statSync(rootfs);
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const root = statSync(`/proc/${name}/root/`);
      if (root.dev === want.dev && root.ino === want.ino && processAlive(Number(name))) found.push(Number(name));
    } catch {
      /* exited, or a kernel thread */
    }
  }
  return found;
}

export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie is dead for our purposes; its parent (often the runtime) reaps it.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitUntil(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

export function sanitize(s: string): string {
  return s.replace(/[^a-zA-Z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'test';
}

function signalNumber(signal: NodeJS.Signals | null): number {
  if (!signal) return 0;
  const table: Record<string, number> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGABRT: 6, SIGSEGV: 11 };
  return table[signal] ?? 0;
}
