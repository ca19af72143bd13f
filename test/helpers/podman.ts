/**
 * A private podman for the drop-in tests: its own storage (`--root`, `--runroot`, `--tmpdir`,
 * vfs, so no overlay mounts), cgroupfs, file events and file locks, and a containers.conf made
 * by the test, all under one temporary directory; containers go under a cgroup parent of their
 * own and never get a network. The OCI runtime is the one under test (`--runtime`), so the
 * same tests also run against runc (`BERTH_TEST_RUNTIME=runc`), which proves the tests.
 *
 * cleanup() removes every container and image, then reports what is left behind: container
 * state in the runtime, processes (conmon) mentioning the directory, mounts under it, and
 * cgroup directories of the containers; leftovers are removed so one failure does not
 * poison later runs. The few host-wide paths podman creates anyway go too, if they are new.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { runtimeBinary, removeCgroupTree, sanitize, skipReason as runtimeSkipReason } from './runtime';
import { makeBusyboxImageTar } from './rootfs';
import { cgroupDirsOf, commandReport, findTool, missingTools, mountsUnder, processesMentioning, runCommand, unmountUnder, type CmdOptions, type CmdResult } from './host';

/**
 * Host-wide paths podman creates whatever its --root says (the image copy's blob-info cache,
 * netavark's run directory), deepest first: cleanup removes those that did not exist before.
 */
const HOST_PATHS = [
  '/var/lib/containers/cache/blob-info-cache-v1.boltdb',
  '/var/lib/containers/cache',
  '/var/lib/containers',
  '/run/containers/networks',
  '/run/containers',
];

/** Why podman drop-in tests cannot run here, or undefined. */
export function podmanSkipReason(): string | undefined {
  return (
    missingTools([
      ['podman', 'podman'],
      ['conmon', 'conmon'],
      ['tar', 'tar'],
    ]) ?? runtimeSkipReason({ checker: true })
  );
}

/**
 * podman's own defaults, except what this host needs: the hard RLIMIT_NOFILE and RLIMIT_NPROC
 * here cannot be raised even by root, and podman's default ulimits would try to.
 */
function containersConf(): string {
  return `# Written by the berth drop-in tests.
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# Keep podman's container locks in its tmpdir rather than in a host-wide /dev/shm segment.
lock_type = "file"
# conmon passes --log-format=json --log FILE to runtimes listed here, as it does for runc.
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "${basename(runtimeBinary())}"]
`;
}

export interface RunOptions {
  /** Run the container in this pod (which decides its network and cgroup parent). */
  pod?: string;
}

export interface RunArgs {
  name: string;
  cidFile: string;
  /** `--name`, `--cidfile` and the placement options, for `podman run`/`create`. */
  args: string[];
}

export class PodmanEnv {
  readonly dir: string;
  readonly runtime = runtimeBinary();
  /** Absolute cgroup (relative to each hierarchy's root) that holds this file's containers. */
  readonly cgroupParent: string;
  readonly image: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly cidFiles: string[] = [];
  private readonly hostPathsBefore = new Set(HOST_PATHS.filter((p) => existsSync(p)));
  private imported = false;

  constructor(label: string) {
    const tag = sanitize(label).slice(0, 24);
    this.dir = mkdtempSync(join(tmpdir(), `berth-podman-${tag}-`));
    for (const d of ['storage', 'run', 'tmp', 'networks', 'cids']) mkdirSync(join(this.dir, d));
    writeFileSync(join(this.dir, 'containers.conf'), containersConf());
    this.env = { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') };
    this.cgroupParent = `/berth-dropin-${tag}-${randomBytes(3).toString('hex')}`;
    this.image = `localhost/berth-dropin-busybox:${tag}`;
  }

  private globalArgs(): string[] {
    return [
      '--root', join(this.dir, 'storage'),
      '--runroot', join(this.dir, 'run'),
      '--tmpdir', join(this.dir, 'tmp'),
      '--network-config-dir', join(this.dir, 'networks'),
      '--storage-driver', 'vfs',
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
      '--runtime', this.runtime,
    ];
  }

  podman(args: string[], opts: CmdOptions = {}): CmdResult {
    return runCommand(findTool('podman') ?? 'podman', [...this.globalArgs(), ...args], { ...opts, env: { ...this.env, ...opts.env } });
  }

  /** Like podman() but throws (with both streams) on a non-zero exit. */
  podmanOk(args: string[], opts: CmdOptions = {}): CmdResult {
    const r = this.podman(args, opts);
    if (r.code !== 0) throw new Error(commandReport(`podman ${args.join(' ')}`, r));
    return r;
  }

  /** Imports a busybox image once per file (later calls reuse it). */
  importImage(): string {
    if (!this.imported) {
      const tar = makeBusyboxImageTar(join(this.dir, 'busybox.tar'));
      this.podmanOk(['import', '--quiet', tar, this.image]);
      rmSync(tar, { force: true });
      this.imported = true;
    }
    return this.image;
  }

  /**
   * Options every `podman run`/`create` of a test takes: a name carrying the test's name, a
   * cidfile (so cleanup knows the ids, even of --rm containers), our cgroup parent, no network.
   */
  runArgs(testName: string, label = '', opts: RunOptions = {}): RunArgs {
    const name = `${sanitize(testName).slice(0, 40)}${label ? '-' + sanitize(label) : ''}-${randomBytes(2).toString('hex')}`;
    const cidFile = join(this.dir, 'cids', `${name}.cid`);
    this.cidFiles.push(cidFile);
    // A pod's containers take its network and cgroup parent (podman refuses them per container).
    const placement = opts.pod ? ['--pod', opts.pod] : ['--cgroup-parent', this.cgroupParent, '--network', 'none'];
    return { name, cidFile, args: ['--name', name, '--cidfile', cidFile, ...placement] };
  }

  /** `podman inspect --format FORMAT name`, trimmed. */
  inspect(name: string, format: string): string {
    return this.podmanOk(['inspect', '--format', format, name]).stdout.trim();
  }

  containerIds(cidFiles = this.cidFiles): string[] {
    const ids: string[] = [];
    for (const f of cidFiles) {
      try {
        const id = readFileSync(f, 'utf8').trim();
        if (id) ids.push(id);
      } catch {
        /* the run failed before podman wrote it */
      }
    }
    return ids;
  }

  /** Polls `podman logs` until the container has printed `text`; returns the logs. */
  async waitForLog(name: string, text: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.podman(['logs', name]);
      if (r.stdout.includes(text)) return r.stdout;
      if (Date.now() > deadline) throw new Error(`container ${name} did not print "${text}" within ${timeoutMs} ms: ${commandReport('podman logs', r)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Registers, for one test, the removal of the containers it made (by name) and a check that
   * the runtime and the cgroups forgot them.
   */
  forTest(t: { name: string; after: (fn: () => void) => void }): { run: (label?: string, opts?: RunOptions) => RunArgs } {
    const names: string[] = [];
    const firstCid = this.cidFiles.length;
    t.after(() => {
      if (names.length) this.podman(['rm', '--force', '--time', '0', '--ignore', ...names], { timeoutMs: 180_000 });
      const problems = this.runtimeLeftovers(this.containerIds(this.cidFiles.slice(firstCid)));
      if (problems.length) throw new Error(`containers of this test left traces:\n  ${problems.join('\n  ')}`);
    });
    return {
      run: (label = '', opts: RunOptions = {}) => {
        const r = this.runArgs(t.name, label, opts);
        names.push(r.name);
        return r;
      },
    };
  }

  /** What the runtime and the cgroup tree still hold of containers `ids` (removing it). */
  private runtimeLeftovers(ids: string[]): string[] {
    const problems: string[] = [];
    for (const id of ids) {
      // podman passes no --root, so the runtime keeps its state in its default root.
      const st = runCommand(this.runtime, ['state', id]);
      if (st.code === 0) {
        problems.push(`${basename(this.runtime)} still has state for container ${id}: ${st.stdout.trim()}`);
        runCommand(this.runtime, ['delete', '--force', id]);
      }
      for (const dir of cgroupDirsOf(join(this.cgroupParent, `libpod-${id}`))) {
        problems.push(`cgroup ${dir} left behind`);
        removeCgroupTree(dir);
      }
    }
    return problems;
  }

  /** Removes containers, images and storage; throws listing whatever was left behind. */
  async cleanup(): Promise<void> {
    this.podman(['pod', 'rm', '--all', '--force', '--time', '0'], { timeoutMs: 180_000 });
    this.podman(['rm', '--all', '--force', '--time', '0'], { timeoutMs: 180_000 });
    this.podman(['rmi', '--all', '--force']);
    const problems = this.runtimeLeftovers(this.containerIds());
    for (const p of processesMentioning(this.dir)) {
      problems.push(`process ${p.pid} still runs: ${p.cmdline.slice(0, 200)}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const m of unmountUnder(this.dir)) problems.push(`mount ${m} left behind`);
    // podman leaves its conmon cgroup ("conmon") under the parent by design.
    for (const dir of cgroupDirsOf(this.cgroupParent)) removeCgroupTree(dir);
    for (const dir of cgroupDirsOf(this.cgroupParent)) problems.push(`cgroup ${dir} cannot be removed (tasks inside?)`);
    for (const p of HOST_PATHS) {
      if (this.hostPathsBefore.has(p) || !existsSync(p)) continue;
      try {
        if (statSync(p).isDirectory()) rmdirSync(p);
        else rmSync(p);
      } catch {
        problems.push(`${p} (made during this test) cannot be removed: is it in use?`);
      }
    }
    if (mountsUnder(this.dir).length === 0) rmSync(this.dir, { recursive: true, force: true });
    else problems.push(`${this.dir} kept: mounts remain under it`);
    if (problems.length) throw new Error(`podman cleanup found leaks:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
}
