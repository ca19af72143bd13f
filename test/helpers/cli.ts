/**
 * Runs the `berth` CLI of this checkout against a private state root, for black-box tests
 * of commands, flags, output and exit codes.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..', '..');
export const BERTH = join(REPO, 'bin', 'berth');

export interface CliResult {
  code: number;
  /** The signal that ended the CLI (e.g. SIGKILL from a BERTH_CRASH_AT crash point), or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class BerthCli {
  readonly root: string;
  readonly runRoot: string;
  constructor(name: string) {
    const safe = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 32);
    this.root = mkdtempSync(join(tmpdir(), `berth-cli-${safe}-`));
    // Short: the shim's sockets live under it, and unix socket paths are limited to 108 bytes.
    this.runRoot = mkdtempSync('/tmp/br-');
  }

  run(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
    const r: SpawnSyncReturns<string> = spawnSync(BERTH, ['--root', this.root, '--runroot', this.runRoot, ...args], {
      encoding: 'utf8',
      input: opts.input ?? '',
      env: { ...process.env, ...(opts.env ?? {}) },
      timeout: opts.timeoutMs ?? 120_000,
    });
    return { code: r.status ?? 128, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs and fails the test with the full output when the exit status is not 0. */
  ok(args: string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`berth ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  /** Mounts and cgroups this CLI's containers left behind (expected empty after rm). */
  leaks(): string[] {
    this.noteIds();
    const out: string[] = [];
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4];
      if (mp && (mp.startsWith(this.root) || mp.startsWith(this.runRoot))) out.push(`mount ${mp}`);
    }
    for (const id of this.ids) {
      for (const ctl of ['memory', 'pids', 'cpu', 'freezer']) {
        const dir = join('/sys/fs/cgroup', ctl, 'berth', id);
        if (existsSync(dir)) out.push(`cgroup ${dir}`);
      }
    }
    return out;
  }

  /** Ids of every container this CLI ever listed (for leak checks after removal). */
  private readonly ids = new Set<string>();

  /** Remembers the ids that have state on disk, even those no command lists (half-made ones). */
  private noteIds(): void {
    for (const d of [join(this.root, 'containers'), join(this.runRoot, 'c'), join(this.runRoot, 'runtime')]) {
      for (const id of existsSync(d) ? readdirSync(d) : []) if (/^[0-9a-f]{64}$/.test(id)) this.ids.add(id);
    }
  }

  /**
   * Everything `leaks()` finds plus state that should be gone once no container exists:
   * records, name claims, shim and runtime directories, writable snapshots, volumes.
   */
  residue(opts: { volumes?: boolean } = {}): string[] {
    const out = this.leaks();
    const list = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
    for (const e of list(join(this.root, 'containers'))) out.push(`state containers/${e}`);
    for (const e of list(join(this.root, 'names'))) out.push(`state names/${e}`);
    for (const e of list(join(this.runRoot, 'c'))) out.push(`state runroot c/${e}`);
    for (const e of list(join(this.runRoot, 'runtime'))) out.push(`state runroot runtime/${e}`);
    for (const driver of list(join(this.root, 'layers'))) {
      for (const e of list(join(this.root, 'layers', driver, 'active'))) out.push(`snapshot ${driver}/active/${e}`);
    }
    if (opts.volumes !== false) for (const e of list(join(this.root, 'volumes'))) out.push(`volume ${e}`);
    return out;
  }

  containerIds(): string[] {
    const ids = this.run(['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean);
    for (const id of ids) this.ids.add(id);
    return ids;
  }

  cleanup(): void {
    const ids = this.containerIds();
    if (ids.length) this.run(['rm', '-f', '-v', ...ids]);
    for (const leak of this.leaks()) {
      if (leak.startsWith('mount ')) spawnSync('umount', ['-l', leak.slice(6)]);
    }
    rmSync(this.root, { recursive: true, force: true });
    rmSync(this.runRoot, { recursive: true, force: true });
  }
}

/**
 * A busybox image in the CLI's store, made with `berth import` from a rootfs tarball built
 * once per process (the tarball is shared; each CLI imports it into its own root).
 */
let busyboxTar: string | undefined;
export function importBusybox(cli: BerthCli, name = 'busybox:test'): string {
  if (!busyboxTar) {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { makeBusyboxRootfs } = require('./rootfs') as typeof import('./rootfs');
    const dir = mkdtempSync(join(tmpdir(), 'berth-bbtar-'));
    makeBusyboxRootfs(join(dir, 'rootfs'));
    spawnSync('tar', ['-C', join(dir, 'rootfs'), '-cf', join(dir, 'rootfs.tar'), '.']);
    busyboxTar = join(dir, 'rootfs.tar');
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  cli.ok(['import', '-c', 'CMD ["sh"]', busyboxTar, name]);
  return name;
}

/** Why the engine's black-box tests cannot run on this machine, or false when they can. */
export function engineSkip(): string | false {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { busyboxAvailable } = require('./rootfs') as typeof import('./rootfs');
  if (!busyboxAvailable()) return 'busybox-static not installed';
  return process.getuid?.() !== 0 ? 'needs root' : false;
}

/**
 * A fresh CLI (own state root) per test, all cleaned up after the file's tests ran: call at
 * the top level of a test file, then `const b = cli(t)` inside each test.
 */
export function cliPerTest(): (t: { name: string }) => BerthCli {
  const clis: BerthCli[] = [];
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { after } = require('node:test') as typeof import('node:test');
  after(() => clis.forEach((c) => c.cleanup()));
  return (t) => {
    const c = new BerthCli(t.name);
    clis.push(c);
    return c;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it holds or `ms` passed; its last answer. No timing is asserted. */
export async function until(fn: () => boolean, ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (fn()) return true;
  return fn();
}

/** Whether a process exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs the CLI asynchronously (for concurrent invocations). */
export function runAsync(b: BerthCli, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(BERTH, ['--root', b.root, '--runroot', b.runRoot, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d));
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.once('close', (code, signal) => resolve({ code: code ?? 128, signal, stdout, stderr }));
  });
}
