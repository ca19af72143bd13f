/**
 * A private dockerd for image interop tests (load/save/import; no containers are run). It is
 * the drop-in tests' PrivateDockerd (helpers/dockerd.ts: private directories, its own network
 * namespace, leak checks at stop) behind the small surface these tests use: `dockerOk` returns
 * the output text.
 */
import { spawnSync } from 'node:child_process';
import { PrivateDockerd } from './dockerd';

export function dockerSkipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (dockerd)';
  for (const [tool, pkg] of [['dockerd', 'docker.io'], ['docker', 'docker.io'], ['containerd', 'containerd'], ['unshare', 'util-linux']] as const) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return false;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class DockerDaemon {
  private readonly d = new PrivateDockerd('archive');

  get dir(): string {
    return this.d.dir;
  }

  get socket(): string {
    return this.d.socket;
  }

  start(): Promise<void> {
    return this.d.start();
  }

  logTail(lines = 30): string {
    return this.d.logTail(lines);
  }

  docker(args: string[]): CommandResult {
    const r = this.d.docker(args);
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  dockerOk(args: string[]): string {
    const r = this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}\ndockerd log:\n${this.logTail()}`);
    return r.stdout;
  }

  stop(): Promise<void> {
    return this.d.stop();
  }
}
