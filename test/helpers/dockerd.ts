/**
 * A private dockerd for the tests that need docker (drop-in runs through `--runtime berth`, image
 * interop through load/save/import), one per test file: its own data root, exec root, pid file,
 * socket, trust key and client config under one temporary directory; no bridge, no iptables;
 * the vfs storage driver (no overlay mounts to leak); a cgroup parent of its own; and the
 * runtime under test registered as "berth" in its `runtimes` (so the tests also run against
 * runc with `BERTH_TEST_RUNTIME=runc`).
 *
 * dockerd runs in a network namespace of its own (`unshare --net`, which execs it under the
 * same pid): started with `--bridge none`, dockerd deletes any `docker0` it finds, and in the
 * host's namespace that is the user's own docker's bridge. In a fresh namespace it finds only
 * `lo`; the namespace goes away with dockerd and its children, so nothing is left to remove.
 *
 * dockerd starts its own containerd (state and sockets under the exec root, content under the
 * data root) because none is given. The containerd shims put their sockets in the fixed
 * /run/containerd/s, and dockerd makes /run/docker/plugins: stop() removes those directories
 * when they were not there before and are empty again.
 *
 * stop() removes every container, stops dockerd (which stops its containerd), then reports
 * what is left: processes mentioning the directory, mounts under it (netns files, the data
 * root's bind mount), cgroup directories, runtime state.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { runtimeBinary, removeCgroupTree, sanitize, skipReason as runtimeSkipReason } from './runtime';
import { makeBusyboxImageTar } from './rootfs';
import { cgroupDirsOf, commandReport, findTool, missingTools, mountsUnder, processesMentioning, runCommand, unmountUnder, type CmdOptions, type CmdResult } from './host';

/** The name the runtime under test has in dockerd's `runtimes`. */
export const RUNTIME_NAME = 'berth';

/** Directories outside ours that dockerd and the containerd shims create when missing. */
const HOST_DIRS = ['/run/containerd/s', '/run/containerd', '/run/docker/plugins', '/run/docker', '/etc/docker'];

export function dockerdSkipReason(): string | undefined {
  return (
    missingTools([
      ['dockerd', 'docker.io'],
      ['docker', 'docker.io'],
      ['containerd', 'containerd'],
      ['containerd-shim-runc-v2', 'containerd'],
      ['tar', 'tar'],
      ['unshare', 'util-linux'],
    ]) ?? runtimeSkipReason({ checker: true })
  );
}

export class PrivateDockerd {
  readonly dir: string;
  readonly socket: string;
  readonly cgroupParent: string;
  readonly image: string;
  private readonly tag: string;
  private readonly hostDirsBefore: Set<string>;
  private pid: number | undefined;

  constructor(label: string) {
    this.tag = sanitize(label).slice(0, 24);
    // Short: unix socket paths (containerd's, under the exec root) are limited to 108 bytes.
    this.dir = mkdtempSync('/tmp/berth-dockerd-');
    this.socket = join(this.dir, 'docker.sock');
    this.cgroupParent = `/berth-dropin-${this.tag}-${randomBytes(3).toString('hex')}`;
    this.image = `berth-dropin-busybox:${this.tag}`;
    this.hostDirsBefore = new Set(HOST_DIRS.filter((d) => existsSync(d)));
  }

  private get execRoot(): string {
    return join(this.dir, 'exec');
  }

  /** Where dockerd tells the runtime to keep its state (`--root`). */
  get runtimeRoot(): string {
    return join(this.execRoot, 'runtime-runc', 'moby');
  }

  /** Starts dockerd and waits until it answers /_ping. */
  async start(): Promise<void> {
    const config = {
      runtimes: { [RUNTIME_NAME]: { path: runtimeBinary() } },
      'storage-driver': 'vfs',
      'cgroup-parent': this.cgroupParent,
      'exec-opts': ['native.cgroupdriver=cgroupfs'],
      // The daemon identity key would otherwise be written to /etc/docker/key.json.
      'deprecated-key-path': join(this.dir, 'key.json'),
    };
    writeFileSync(join(this.dir, 'daemon.json'), JSON.stringify(config, null, 2));
    mkdirSync(join(this.dir, 'client'));
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const child = spawn(
      findTool('unshare') ?? 'unshare',
      [
        '--net',
        '--',
        findTool('dockerd') ?? 'dockerd',
        '--data-root', join(this.dir, 'data'),
        '--exec-root', this.execRoot,
        '--pidfile', join(this.dir, 'dockerd.pid'),
        '--host', `unix://${this.socket}`,
        '--config-file', join(this.dir, 'daemon.json'),
        '--bridge', 'none',
        '--iptables=false',
        '--ip6tables=false',
        // Should a system containerd be running, dockerd would use it: keep our objects apart.
        '--containerd-namespace', `berth-${this.tag}`,
        '--containerd-plugins-namespace', `berth-${this.tag}-plugins`,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    this.pid = child.pid;
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
    const deadline = Date.now() + 120_000;
    while (!(await this.ping())) {
      if (exited || Date.now() > deadline) {
        throw new Error(`${exited ?? 'dockerd did not answer /_ping within 120 s'}; log:\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The network namespace dockerd runs in (`net:[inode]`), while it runs. */
  networkNamespace(): string {
    if (this.pid === undefined) throw new Error('dockerd is not started');
    return readlinkSync(`/proc/${this.pid}/ns/net`);
  }

  /** Pids of dockerd and every process it started (containerd, shims), read from /proc. */
  daemonPids(): number[] {
    if (this.pid === undefined) return [];
    return [this.pid, ...processesMentioning(this.dir).map((p) => p.pid)].filter((p, i, all) => all.indexOf(p) === i);
  }

  private ping(): Promise<boolean> {
    return pingDocker(this.socket, 5000);
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  docker(args: string[], opts: CmdOptions = {}): CmdResult {
    return runCommand(findTool('docker') ?? 'docker', ['--host', `unix://${this.socket}`, ...args], {
      ...opts,
      // The client's own config (contexts, credentials) stays in our directory too.
      env: { ...process.env, DOCKER_CONFIG: join(this.dir, 'client'), ...opts.env },
    });
  }

  dockerOk(args: string[], opts: CmdOptions = {}): CmdResult {
    const r = this.docker(args, opts);
    if (r.code !== 0) throw new Error(commandReport(`docker ${args.join(' ')}`, r));
    return r;
  }

  importImage(): string {
    const tar = makeBusyboxImageTar(join(this.dir, 'busybox.tar'));
    this.dockerOk(['import', tar, this.image]);
    rmSync(tar, { force: true });
    return this.image;
  }

  /** `docker inspect --format FORMAT name`, trimmed. */
  inspect(name: string, format: string): string {
    return this.dockerOk(['inspect', '--format', format, name]).stdout.trim();
  }

  async waitForLog(name: string, text: string, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.docker(['logs', name]);
      if (r.stdout.includes(text)) return r.stdout;
      if (Date.now() > deadline) throw new Error(`container ${name} did not print "${text}" within ${timeoutMs} ms: ${commandReport('docker logs', r)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Container names for one test (carrying its name); after the test they are removed and
   * the runtime must have forgotten them.
   */
  forTest(t: { name: string; after: (fn: () => void) => void }): (label?: string) => string {
    const names: string[] = [];
    t.after(() => {
      const ids = names.map((n) => this.docker(['inspect', '--format', '{{.Id}}', n]).stdout.trim()).filter(Boolean);
      if (names.length) this.docker(['rm', '--force', ...names], { timeoutMs: 180_000 });
      const problems: string[] = [];
      for (const id of ids) {
        if (runCommand(runtimeBinary(), ['--root', this.runtimeRoot, 'state', id]).code === 0) problems.push(`${basename(runtimeBinary())} still has state for ${id}`);
        for (const dir of cgroupDirsOf(join(this.cgroupParent, id))) problems.push(`cgroup ${dir} left behind`);
      }
      if (problems.length) throw new Error(`containers of this test left traces:\n  ${problems.join('\n  ')}`);
    });
    return (label = '') => {
      const name = `${sanitize(t.name).slice(0, 40)}${label ? '-' + sanitize(label) : ''}-${randomBytes(2).toString('hex')}`;
      names.push(name);
      return name;
    };
  }

  /** Removes all containers, stops dockerd and its containerd; throws listing leftovers. */
  async stop(): Promise<void> {
    const problems: string[] = [];
    if (this.pid !== undefined && (await this.ping())) {
      const ids = this.docker(['ps', '--all', '--quiet', '--no-trunc']).stdout.split('\n').filter(Boolean);
      if (ids.length) this.docker(['rm', '--force', ...ids], { timeoutMs: 180_000 });
      const st = runCommand(runtimeBinary(), ['--root', this.runtimeRoot, 'list', '--quiet']);
      if (st.stdout.trim()) problems.push(`the runtime still lists containers: ${st.stdout.trim().replace(/\n/g, ' ')}`);
    }
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    // dockerd stops its containerd on the way out; shims exit with their containers.
    const deadline = Date.now() + 120_000;
    while (processesMentioning(this.dir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    for (const p of processesMentioning(this.dir)) {
      problems.push(`process ${p.pid} still runs: ${p.cmdline.slice(0, 200)}`);
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    for (const m of unmountUnder(this.dir)) problems.push(`mount ${m} left behind`);
    for (const dir of cgroupDirsOf(this.cgroupParent)) {
      for (const child of readdirSync(dir, { withFileTypes: true })) {
        if (child.isDirectory()) problems.push(`cgroup ${join(dir, child.name)} left behind`);
      }
      removeCgroupTree(dir);
    }
    for (const d of HOST_DIRS) {
      if (this.hostDirsBefore.has(d) || !existsSync(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        problems.push(`${d} (made during this test) is not empty: ${readdirSync(d).join(', ')}`);
      }
    }
    if (mountsUnder(this.dir).length === 0) rmSync(this.dir, { recursive: true, force: true });
    else problems.push(`${this.dir} kept: mounts remain under it`);
    if (problems.length) throw new Error(`dockerd cleanup found leaks:\n  ${[...new Set(problems)].join('\n  ')}`);
  }
}

/** GET /_ping on a docker API socket: true when it answers 200 within `timeoutMs`. */
export function pingDocker(socket: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}
