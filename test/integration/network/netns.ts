// Network namespaces for tests, each held by a `sleep` in a fresh namespace (no /run/netns
// file to leak): killing the holder destroys the namespace and every interface, address,
// route and nft table in it. Commands run in a namespace only through nsenter, so nothing
// here can touch the host's own network namespace.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { resolve } from 'node:path';

export class TestNetns {
  private constructor(
    readonly name: string,
    private readonly holder: ChildProcess,
    private readonly children: ChildProcess[] = [],
  ) {}

  get pid(): number {
    return this.holder.pid!;
  }

  static async create(name: string): Promise<TestNetns> {
    const holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
    const ns = new TestNetns(name, holder);
    const host = readlinkSync('/proc/self/ns/net');
    for (let i = 0; i < 200; i++) {
      try {
        if (readlinkSync(`/proc/${holder.pid}/ns/net`) !== host) {
          ns.sh('ip link set lo up');
          return ns;
        }
      } catch {
        /* not started yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    ns.destroy();
    throw new Error(`namespace ${name} did not appear`);
  }

  /** The prefix that runs a program in this namespace. */
  enter(): string[] {
    return ['nsenter', '-t', String(this.pid), '-n'];
  }

  /** Runs a shell command line in the namespace; throws with its stderr on failure. */
  sh(line: string): string {
    const r = spawnSync(this.enter()[0]!, [...this.enter().slice(1), 'sh', '-c', line], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`[${this.name}] ${line}: exit ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs the probe (net-probe.js) in the namespace: exit status and output. */
  probe(args: string[]): { ok: boolean; out: string } {
    const r = spawnSync(this.enter()[0]!, [...this.enter().slice(1), process.execPath, resolve(__dirname, 'net-probe.js'), ...args], { encoding: 'utf8', timeout: 10_000 });
    return { ok: r.status === 0, out: r.stdout.trim() };
  }

  /** Starts the probe's server; resolves once it listens. */
  async serve(name: string, ports: number[]): Promise<void> {
    const child = spawn(this.enter()[0]!, [...this.enter().slice(1), process.execPath, resolve(__dirname, 'net-probe.js'), 'serve', name, ...ports.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    await new Promise<void>((done, fail) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && done());
      child.on('exit', (code) => fail(new Error(`server in ${this.name} exited ${code}`)));
    });
  }

  destroy(): void {
    for (const c of this.children) c.kill('SIGKILL');
    this.holder.kill('SIGKILL');
  }
}

/** A veth pair from `outer` (name `outerIf`) into `inner` (named eth0 there). */
export function veth(outer: TestNetns, outerIf: string, inner: TestNetns, innerIf = 'eth0'): void {
  outer.sh(`ip link add ${outerIf} type veth peer name ${innerIf} netns ${inner.pid} && ip link set ${outerIf} up`);
  inner.sh(`ip link set ${innerIf} up`);
}
