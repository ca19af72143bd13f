/**
 * Network namespaces for the DNS tests, made and removed by the test itself (no `ip netns
 * add`, nothing in the host's namespace): a "host" namespace with a bridge on 10.77.0.1/24 and
 * fd77::1/64 (where the resolver runs, as it would in the real host's), and "container"
 * namespaces attached to the bridge by veth pairs. `unshare --net=FILE` keeps a namespace
 * alive by a bind mount on FILE; removing it is an unmount, which also deletes its links.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const AGENT = join(__dirname, 'dns-agent.js');

export interface TestNet {
  dir: string;
  host: string;
  gateway4: string;
  gateway6: string;
  /** Adds a namespace with eth0 on the bridge at 10.77.0.N and fd77::N. */
  addContainer(n: number): Promise<{ ns: string; ipv4: string; ipv6: string }>;
  /** Runs the agent in a namespace and returns its JSON line. */
  agent(ns: string, ...args: string[]): Promise<any>;
  /** Starts a long-running agent (a fake upstream) in a namespace; it is killed by cleanup. */
  agentServer(ns: string, ...args: string[]): Promise<ChildProcess>;
  nsexec(ns: string, cmd: string, ...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeTestNet(label: string): Promise<TestNet> {
  const dir = mkdtempSync(join(tmpdir(), `berth-dns-${label}-`));
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const makeNs = async (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, '');
    await run('unshare', [`--net=${path}`, 'true']);
    namespaces.push(path);
    return path;
  };
  const nsexec = async (ns: string, cmd: string, ...args: string[]) => (await run('nsenter', [`--net=${ns}`, '--', cmd, ...args])).stdout;
  const sh = (ns: string, script: string) => nsexec(ns, 'sh', '-ec', script);
  const net: TestNet = {
    dir,
    host: '',
    gateway4: '10.77.0.1',
    gateway6: 'fd77::1',
    async addContainer(n) {
      const ns = await makeNs(`c${n}`);
      await sh(net.host, `ip link add v${n} type veth peer name eth0 netns ${ns}; ip link set v${n} master br0 up`);
      await sh(ns, `ip link set lo up; ip addr add 10.77.0.${n}/24 dev eth0; ip -6 addr add fd77::${n}/64 dev eth0 nodad; ip link set eth0 up`);
      return { ns, ipv4: `10.77.0.${n}`, ipv6: `fd77::${n}` };
    },
    async agent(ns, ...args) {
      return JSON.parse(await nsexec(ns, process.execPath, AGENT, ...args));
    },
    async agentServer(ns, ...args) {
      const child = spawn('nsenter', [`--net=${ns}`, '--', process.execPath, AGENT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`agent ${args.join(' ')} exited with ${code}`)));
      });
      return child;
    },
    nsexec,
    async cleanup() {
      for (const c of children) c.kill('SIGKILL');
      for (const ns of namespaces) await run('umount', [ns]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    (net as { host: string }).host = await makeNs('host');
    await sh(net.host, 'ip link set lo up; ip link add br0 type bridge; ip addr add 10.77.0.1/24 dev br0; ip -6 addr add fd77::1/64 dev br0 nodad; ip link set br0 up');
  } catch (e) {
    await net.cleanup();
    throw e;
  }
  return net;
}
