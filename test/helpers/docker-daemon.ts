/**
 * A private dockerd for image interop tests (load/save/import; no containers are run): its
 * own data root, exec root, pid file, socket and client config under one temporary
 * directory; vfs storage (no mounts), no bridge, no iptables, its own containerd namespaces.
 * stop() ends dockerd (and the containerd it started), removes the directory and the host
 * directories dockerd created, and reports processes left behind.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const HOST_DIRS = ['/run/docker/plugins', '/run/docker', '/etc/docker'];

export function dockerSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (dockerd)';
  for (const tool of ['dockerd', 'docker', 'containerd']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install docker.io)`;
  }
  return false;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Pids of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

export class DockerDaemon {
  readonly dir: string;
  readonly socket: string;
  private readonly ns = `berth-archive-${randomBytes(3).toString('hex')}`;
  private readonly hostDirsBefore = new Set(HOST_DIRS.filter((d) => existsSync(d)));
  private pid: number | undefined;

  constructor() {
    // Short: containerd's socket under the exec root must fit a unix socket path.
    this.dir = mkdtempSync('/tmp/berth-dk-');
    this.socket = join(this.dir, 'docker.sock');
  }

  async start(): Promise<void> {
    writeFileSync(join(this.dir, 'daemon.json'), JSON.stringify({ 'storage-driver': 'vfs', 'deprecated-key-path': join(this.dir, 'key.json') }));
    mkdirSync(join(this.dir, 'client'));
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const child = spawn(
      'dockerd',
      [
        '--data-root', join(this.dir, 'data'),
        '--exec-root', join(this.dir, 'exec'),
        '--pidfile', join(this.dir, 'dockerd.pid'),
        '--host', `unix://${this.socket}`,
        '--config-file', join(this.dir, 'daemon.json'),
        '--bridge', 'none',
        '--iptables=false',
        '--ip6tables=false',
        '--containerd-namespace', this.ns,
        '--containerd-plugins-namespace', `${this.ns}-plugins`,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    this.pid = child.pid;
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
    // Polls until the daemon answers; bounded by the number of tries, not by a timing claim.
    for (let i = 0; !(await this.ping()); i++) {
      if (exited || i > 1200) throw new Error(`${exited ?? 'dockerd did not answer /_ping'}; log:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = request({ socketPath: this.socket, path: '/_ping' }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', () => resolve(false));
      req.end();
    });
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  docker(args: string[]): CommandResult {
    const r = spawnSync('docker', ['--host', `unix://${this.socket}`, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: join(this.dir, 'client') } });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  dockerOk(args: string[]): string {
    const r = this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}\ndockerd log:\n${this.logTail()}`);
    return r.stdout;
  }

  async stop(): Promise<void> {
    if (this.pid !== undefined) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    // dockerd stops the containerd it started on its way out.
    for (let i = 0; processesMentioning(this.dir).length && i < 1200; i++) await new Promise((r) => setTimeout(r, 100));
    const left = processesMentioning(this.dir);
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    for (const d of HOST_DIRS) {
      if (this.hostDirsBefore.has(d) || !existsSync(d)) continue;
      try {
        rmdirSync(d);
      } catch {
        // not empty: not ours alone
      }
    }
    if (left.length) throw new Error(`processes left by dockerd: ${left.join(', ')}`);
  }
}
