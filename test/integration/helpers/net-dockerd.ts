/**
 * A private dockerd in the HOST's network namespace with its iptables on, for the coexistence
 * test: dockerd then sets the iptables FORWARD policy to DROP and adds its DOCKER chains, as
 * on a real docker host. Everything of its own lives under one temporary directory (data
 * root, exec root, pid file, socket, config, key); its bridge docker0 takes 10.251.0.1/24
 * (`--bip`), a subnet Berth does not pick. No container is run in it.
 *
 * Afterwards the host is put back: stop() ends dockerd (and its containerd) by pid, then
 * undo() removes exactly what dockerd added to iptables — its rules, its chains, the FORWARD
 * policy it changed — compared line by line with the snapshot taken before it started, and
 * deletes docker0 when it was not there before. The host's own rules are never touched.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostLinks, processesMentioning } from './net-leaks';
import { pingDocker } from '../../helpers/dockerd';

export const DOCKERD = '/usr/sbin/dockerd';
export const DOCKER_BIP = '10.251.0.1/24';

/** Why the coexistence test cannot run here, or false. */
export function hostDockerdSkip(): string | false {
  if (!existsSync(DOCKERD)) return `${DOCKERD} is not installed`;
  for (const pidFile of ['/var/run/docker.pid', '/run/docker.pid']) {
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (pid > 0 && existsSync(`/proc/${pid}`)) return `a dockerd already runs (pid ${pid} in ${pidFile}): it owns the host's docker iptables`;
  }
  if (spawnSync('iptables-save', ['--version'], { stdio: 'ignore' }).status !== 0) return 'iptables-save is not installed';
  return false;
}

/** `iptables-save` of one family, counters blanked (they change on every packet). */
export function iptablesSave(family: 4 | 6): string[] {
  const out = execFileSync(family === 4 ? 'iptables-save' : 'ip6tables-save', { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, '[0:0]'));
}

interface Parsed {
  policies: Map<string, string>; // "table chain" -> policy
  chains: Set<string>; // "table chain" (user chains)
  rules: Set<string>; // "table\t-A CHAIN ..."
}

function parseSave(lines: string[]): Parsed {
  const p: Parsed = { policies: new Map(), chains: new Set(), rules: new Set() };
  let table = '';
  for (const l of lines) {
    if (l.startsWith('*')) table = l.slice(1);
    else if (l.startsWith(':')) {
      const [chain, policy] = l.slice(1).split(' ');
      if (policy && policy !== '-') p.policies.set(`${table} ${chain}`, policy);
      else p.chains.add(`${table} ${chain}`);
    } else if (l.startsWith('-A ')) p.rules.add(`${table}\t${l}`);
  }
  return p;
}

/** Splits an iptables-save rule into arguments (double-quoted words kept whole). */
function ruleArgs(rule: string): string[] {
  const out: string[] = [];
  for (const m of rule.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) out.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return out;
}

export interface IptablesDiff {
  addedRules: string[];
  removedRules: string[];
  addedChains: string[];
  removedChains: string[];
  changedPolicies: string[];
}

export function diffIptables(before: string[], after: string[]): IptablesDiff {
  const a = parseSave(before);
  const b = parseSave(after);
  const changedPolicies: string[] = [];
  for (const [k, v] of b.policies) if ((a.policies.get(k) ?? 'ACCEPT') !== v) changedPolicies.push(`${k} ${a.policies.get(k) ?? 'ACCEPT'} -> ${v}`);
  return {
    addedRules: [...b.rules].filter((r) => !a.rules.has(r)),
    removedRules: [...a.rules].filter((r) => !b.rules.has(r)),
    addedChains: [...b.chains].filter((c) => !a.chains.has(c)),
    removedChains: [...a.chains].filter((c) => !b.chains.has(c)),
    changedPolicies,
  };
}

export class HostDockerd {
  readonly dir = mkdtempSync('/tmp/berth-netdockerd-');
  readonly socket = join(this.dir, 'docker.sock');
  private pid: number | undefined;
  private readonly before = { 4: iptablesSave(4), 6: iptablesSave(6) };
  private readonly docker0Before = hostLinks().some((l) => l.ifname === 'docker0');

  async start(): Promise<void> {
    writeFileSync(
      join(this.dir, 'daemon.json'),
      JSON.stringify({ 'storage-driver': 'vfs', 'deprecated-key-path': join(this.dir, 'key.json') }),
    );
    const log = openSync(join(this.dir, 'dockerd.log'), 'a');
    const child = spawn(
      DOCKERD,
      [
        '--data-root', join(this.dir, 'data'),
        '--exec-root', join(this.dir, 'exec'),
        '--pidfile', join(this.dir, 'docker.pid'),
        '-H', `unix://${this.socket}`,
        '--config-file', join(this.dir, 'daemon.json'),
        '--bip', DOCKER_BIP,
        '--containerd-namespace', 'berth-net-coexist',
        '--containerd-plugins-namespace', 'berth-net-coexist-plugins',
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    closeSync(log);
    child.unref();
    this.pid = child.pid;
    let exited: string | undefined;
    child.once('exit', (code, signal) => (exited = `dockerd exited (${code ?? signal})`));
    const deadline = Date.now() + 60_000;
    while (!(await this.ping())) {
      if (exited || Date.now() > deadline) throw new Error(`${exited ?? 'dockerd did not answer within 60 s'}; log:\n${this.logTail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * dockerd sets the FORWARD policy to DROP only when it had to turn IP forwarding on itself;
   * on a host that forwards already (as here) it leaves ACCEPT. The test wants the docker host
   * most people have, so it sets DROP itself in the filter table dockerd made — undo() puts
   * the policy back. Returns whether it had to.
   */
  forceForwardDrop(): boolean {
    if (/^:FORWARD DROP/m.test(iptablesSave(4).join('\n'))) return false;
    execFileSync('iptables', ['-t', 'filter', '-P', 'FORWARD', 'DROP']);
    return true;
  }

  /** What dockerd's iptables changes are, compared with the snapshot before it started. */
  diff(family: 4 | 6): IptablesDiff {
    return diffIptables(this.before[family], iptablesSave(family));
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.dir, 'dockerd.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private ping(): Promise<boolean> {
    return pingDocker(this.socket, 3000);
  }

  /**
   * With the nf_tables backend, iptables tables dockerd created (absent from the snapshot) are
   * nft tables `ip filter`, `ip nat`, ...: once emptied of rules and chains they are deleted,
   * so the host's ruleset is as before. A table holding anything is left alone.
   */
  private dropEmptyTables(): string[] {
    const version = spawnSync('iptables', ['--version'], { encoding: 'utf8' }).stdout;
    if (!version.includes('nf_tables')) return [];
    const problems: string[] = [];
    for (const family of [4, 6] as const) {
      const tablesBefore = new Set(this.before[family].filter((l) => l.startsWith('*')).map((l) => l.slice(1)));
      let table = '';
      const content = new Map<string, number>();
      for (const l of iptablesSave(family)) {
        if (l.startsWith('*')) content.set((table = l.slice(1)), 0);
        else if (l.startsWith('-A ') || (l.startsWith(':') && l.includes(' - '))) content.set(table, (content.get(table) ?? 0) + 1);
      }
      for (const [name, n] of content) {
        if (tablesBefore.has(name)) continue;
        if (n > 0) {
          problems.push(`IPv${family} table ${name} (made during the test) still holds ${n} rules or chains`);
          continue;
        }
        spawnSync('nft', ['delete', 'table', family === 4 ? 'ip' : 'ip6', name]);
      }
    }
    return problems;
  }

  /** Stops dockerd and its containerd (by pid), waiting until they are gone. */
  async stop(): Promise<void> {
    if (this.pid === undefined) return;
    try {
      process.kill(this.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const deadline = Date.now() + 60_000;
    while (processesMentioning(this.dir).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    for (const p of processesMentioning(this.dir)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.pid = undefined;
  }

  /**
   * Removes what dockerd added to iptables (rules first, then its chains), sets back the
   * policies it changed, deletes docker0 if dockerd made it, and the directory. Returns what
   * could not be undone.
   */
  async undo(): Promise<string[]> {
    const problems: string[] = [];
    for (const family of [4, 6] as const) {
      const tool = family === 4 ? 'iptables' : 'ip6tables';
      const d = this.diff(family);
      for (const r of d.addedRules) {
        const [table, rule] = r.split('\t') as [string, string];
        const args = ruleArgs(rule);
        args[0] = '-D';
        const res = spawnSync(tool, ['-t', table, ...args], { encoding: 'utf8' });
        // Another root may remove its own chain meanwhile (tests run beside this one).
        if (res.status !== 0 && !/does not exist|No chain/.test(res.stderr)) problems.push(`${tool} -t ${table} ${args.join(' ')}: ${res.stderr.trim()}`);
      }
      for (const c of d.addedChains) {
        const [table, chain] = c.split(' ') as [string, string];
        spawnSync(tool, ['-t', table, '-F', chain]);
        const res = spawnSync(tool, ['-t', table, '-X', chain], { encoding: 'utf8' });
        if (res.status !== 0 && !/does not exist|No chain/.test(res.stderr)) problems.push(`${tool} -t ${table} -X ${chain}: ${res.stderr.trim()}`);
      }
      for (const p of d.changedPolicies) {
        const [table, chain, was] = p.split(' ') as [string, string, string];
        spawnSync(tool, ['-t', table, '-P', chain, was]);
      }
    }
    // A chain another root added while dockerd ran keeps a table busy until that root's last
    // container goes: a few tries, then say what is left.
    let busy = this.dropEmptyTables();
    for (let i = 0; i < 10 && busy.length; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      busy = this.dropEmptyTables();
    }
    problems.push(...busy);
    if (!this.docker0Before && hostLinks().some((l) => l.ifname === 'docker0')) {
      spawnSync('ip', ['link', 'delete', 'docker0']);
    }
    rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}
