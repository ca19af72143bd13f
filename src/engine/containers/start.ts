/**
 * `start`: from a created (or exited) container to a running one. Under the container's lock:
 * mount its root filesystem, write /etc/hosts, hostname and resolv.conf, resolve the user
 * inside the image, plan mounts and namespaces, build the OCI spec with the default seccomp
 * profile, write the bundle, and hand the container to a new berth-shim. The process is
 * then released (its exec fifo opened) — after the caller attached, when it wants to see the
 * first byte of output, which is why start comes in two halves: `prepareStart` and `release`.
 *
 * If anything fails, whatever was set up is taken down again (runtime container, cgroup,
 * mounts) and the reason is recorded in State.Error, as `ps -a`/`inspect` show it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { arch } from 'node:os';
import { join } from 'node:path';
import { BerthError, isBerthError } from '../../core/errors';
import { crashPoint } from '../../core/crash-point';
import type { FileLock } from '../../core/lock';
import { detectLayout } from '../../cgroups/layout';
import { defaultSeccompProfile } from '../../seccomp';
import type { LinuxSeccomp, NamespaceType } from '../../spec/types';
import type { ContainerContext } from './context';
import { hostnameFile, hostsFile } from '../etc-files';
import { containerHostsEntries, containerResolvConf, DEFAULT_DNS_DOMAIN, parseResolvConf, SYSTEMD_UPSTREAM_RESOLV_CONF } from '../../network/dns';
import { SYSTEMD_STUB } from '../../network/dns/container-files';
import { resolverEntries, type NetworkAttachment } from '../network/container';
import { fillNetworkSettings } from '../network/container/settings';
import { buildOciSpec, seccompChoice } from '../spec/oci';
import { computeCapabilities } from '../spec/capabilities';
import { resolveUser } from '../spec/user';
import { launchShim, startMonitored, type ShimLaunch } from '../shim';
import { parseBytes } from '../../core/units';
import { planMounts } from './mounts';
import { withStatus, ZERO_TIME, type ContainerRecord } from './record';
import { DEFAULT_CGROUP_PARENT, runPaths } from './runtime';
import { releaseRun, removeRunDir } from './teardown';
import { nativeDir } from '../../sys';

/** Node + the CLI entry, for the commands the shim runs (exit command, health checks). */
export function berthCommand(ctx: Pick<ContainerContext, 'root' | 'runRoot'>): string[] {
  // bin/berth loads the bundle with V8's code cache: the exit command starts faster.
  const cli = process.env.BERTH_CLI ?? join(nativeDir(), '..', '..', 'bin', 'berth');
  // "--": Node 20 would otherwise take an --env-file anywhere on its command line as its own.
  return [process.execPath, '--', cli, '--root', ctx.root, '--runroot', ctx.runRoot];
}

/**
 * The shim's environment, inherited by the exit and health commands (Node, started directly
 * rather than through bin/berth): without the caller's NODE_OPTIONS, as bin/berth runs us.
 */
function shimEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

async function seccompFor(rec: ContainerRecord): Promise<LinuxSeccomp | undefined> {
  const choice = seccompChoice(rec.HostConfig);
  if (choice.kind === 'unconfined') return undefined;
  if (choice.kind === 'file') {
    let text: string;
    try {
      text = await readFile(choice.path, 'utf8');
    } catch (e) {
      throw new BerthError('EINVALID_ARGUMENT', `--security-opt seccomp=${choice.path}: cannot read the profile`, { cause: e, hint: 'give the path of a JSON seccomp profile' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new BerthError('EINVALID_ARGUMENT', `--security-opt seccomp=${choice.path}: not valid JSON`, { cause: e });
    }
    return json as LinuxSeccomp;
  }
  const caps = computeCapabilities({ capAdd: rec.HostConfig.CapAdd, capDrop: rec.HostConfig.CapDrop, privileged: rec.HostConfig.Privileged });
  return defaultSeccompProfile({ capabilities: caps, arch: nativeArchFor() });
}

function nativeArchFor(): string {
  const map: Record<string, string> = { x64: 'SCMP_ARCH_X86_64', arm64: 'SCMP_ARCH_AARCH64', arm: 'SCMP_ARCH_ARM', ia32: 'SCMP_ARCH_X86', riscv64: 'SCMP_ARCH_RISCV64', ppc64: 'SCMP_ARCH_PPC64LE', s390x: 'SCMP_ARCH_S390X' };
  return map[arch()] ?? 'SCMP_ARCH_X86_64';
}

/** Namespace paths of other containers for `container:NAME` modes (they must be running). */
async function joinedNamespaces(ctx: Pick<ContainerContext, 'containerStore'>, rec: ContainerRecord): Promise<Partial<Record<NamespaceType, string>>> {
  const out: Partial<Record<NamespaceType, string>> = {};
  const hc = rec.HostConfig;
  const modes: Array<[NamespaceType, string | undefined, string]> = [
    ['network', hc.NetworkMode, 'net'],
    ['pid', hc.PidMode, 'pid'],
    ['ipc', hc.IpcMode, 'ipc'],
    ['uts', hc.UTSMode, 'uts'],
  ];
  for (const [type, mode, file] of modes) {
    if (!mode?.startsWith('container:')) continue;
    const other = await ctx.containerStore.resolve(mode.slice('container:'.length));
    if (!other.State.Running || !other.State.Pid) {
      throw new BerthError('ESTATE', `cannot join the ${type} namespace of container ${other.Name.slice(1)}: it is not running`, { hint: `start ${other.Name.slice(1)} first` });
    }
    out[type] = `/proc/${other.State.Pid}/ns/${file}`;
  }
  return out;
}

async function readOr(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf for this run. Regenerated at every start, so
 * no fsync is needed (a crash just rewrites them).
 */
async function writeEtcFiles(ctx: Pick<ContainerContext, 'containerStore'>, rec: ContainerRecord, hostname: string, net: NetworkAttachment | undefined): Promise<void> {
  const hc = rec.HostConfig;
  const hostNet = hc.NetworkMode === 'host';
  const hostResolv = parseResolvConf(await readOr('/etc/resolv.conf'));
  const first = net?.endpoints[0];
  const gateway = first?.network.subnets.find((s) => !s.subnet.includes(':'))?.gateway;
  const addresses = (net?.endpoints ?? []).flatMap((e) => [e.endpoint.ipv4, e.endpoint.ipv6]).filter((a): a is string => !!a);
  const extra = containerHostsEntries({
    hostname,
    names: [],
    addresses: [],
    ...(gateway ? { hostGateway: gateway } : {}),
    addHosts: hc.ExtraHosts ?? [],
  });
  const hosts = hostsFile({
    hostname,
    domainname: rec.Config.Domainname || '',
    addresses,
    peers: [...(await linkedPeers(ctx, rec)), ...extra],
    hostNetwork: hostNet,
    ...(hostNet ? { hostHostsFile: await readOr('/etc/hosts') } : {}),
  });
  await writeFile(rec.HostsPath, hosts, { mode: 0o644 });
  await writeFile(rec.HostnamePath, hostnameFile(hostname), { mode: 0o644 });
  const systemd = hostResolv.nameservers.includes(SYSTEMD_STUB) ? parseResolvConf(await readOr(SYSTEMD_UPSTREAM_RESOLV_CONF)) : undefined;
  const resolv = containerResolvConf({
    host: hostResolv,
    ...(systemd ? { systemdUpstreams: systemd } : {}),
    networks: net ? resolverEntries(net.endpoints) : [],
    domain: DEFAULT_DNS_DOMAIN,
    // The host's namespace reaches the host's own (loopback) name servers: keep them.
    dns: hc.Dns?.length ? hc.Dns : hostNet ? hostResolv.nameservers : [],
    dnsSearch: hc.DnsSearch ?? [],
    dnsOptions: hc.DnsOptions ?? [],
  });
  await writeFile(rec.ResolvConfPath, resolv.text, { mode: 0o644 });
}

/**
 * --link NAME:ALIAS (docker's legacy links, HostConfig.Links "/name:/me/alias"): the linked
 * container's address on a network both share, under its alias and name. It must be running.
 */
async function linkedPeers(ctx: Pick<ContainerContext, 'containerStore'>, rec: ContainerRecord): Promise<Array<{ names: string[]; ip: string }>> {
  const out: Array<{ names: string[]; ip: string }> = [];
  for (const link of rec.HostConfig.Links ?? []) {
    const [target = '', aliasPath = ''] = link.split(':');
    const other = await ctx.containerStore.resolve(target.replace(/^\//, ''));
    if (!other.State.Running) {
      throw new BerthError('ESTATE', `cannot link to ${other.Name.slice(1)}: it is not running`, { hint: `start ${other.Name.slice(1)} first` });
    }
    const alias = aliasPath.slice(aliasPath.lastIndexOf('/') + 1);
    const shared = Object.entries(other.NetworkSettings.Networks).find(([k, e]) => e.IPAddress && rec.NetworkSettings.Networks[k]);
    if (!shared) {
      throw new BerthError('EINVALID_ARGUMENT', `cannot link to ${other.Name}, as it does not belong to the default network`, {
        hint: 'put both containers on one network (a user-defined network resolves names without links)',
      });
    }
    out.push({ ip: shared[1].IPAddress, names: [...new Set([alias, other.Name.slice(1), other.Id.slice(0, 12)].filter(Boolean))] });
  }
  return out;
}

function logOptions(rec: ContainerRecord): { path: string; maxSize?: number; maxFiles?: number } | null {
  if (!rec.LogPath) return null;
  const cfg = rec.HostConfig.LogConfig?.Config ?? {};
  return {
    path: rec.LogPath,
    maxSize: cfg['max-size'] ? parseBytes('--log-opt max-size', cfg['max-size']) : 10 * 1024 * 1024,
    maxFiles: cfg['max-file'] ? Number(cfg['max-file']) : 3,
  };
}

function healthSchedule(ctx: Pick<ContainerContext, 'root' | 'runRoot'>, rec: ContainerRecord): Parameters<typeof launchShim>[0]['health'] {
  const h = rec.Config.Healthcheck;
  if (!h?.Test?.length || h.Test[0] === 'NONE') return undefined;
  const ms = (ns: number | undefined, dflt: number) => (ns && ns > 0 ? Math.round(ns / 1e6) : dflt);
  const timeoutMs = ms(h.Timeout, 30_000);
  return {
    command: [...berthCommand(ctx), 'healthcheck', 'run', rec.Id],
    intervalMs: ms(h.Interval, 30_000),
    timeoutMs: timeoutMs + 10_000,
    ...(h.StartPeriod ? { startPeriodMs: ms(h.StartPeriod, 0) } : {}),
    ...(h.StartInterval ? { startIntervalMs: ms(h.StartInterval, 5_000) } : {}),
  };
}

export interface PreparedStart {
  rec: ContainerRecord;
  launch: ShimLaunch;
  dir: string;
  warn: (message: string) => void;
  /** Held from prepare until the process runs (see ContainerService.prepare). */
  startLock?: FileLock;
}

export interface StartOptions {
  /**
   * The size of the terminal the user starts from (run -t, start -a): the container's pty has
   * it before the process runs, so its first `stty size` is right. A resize sent after attach
   * races with the program starting. Without it: HostConfig.ConsoleSize from create, if any.
   */
  consoleSize?: { rows: number; cols: number };
  /** What the runtime adjusted instead of failing (an rlimit clamped to the host's): for the user. */
  onWarning?: (message: string) => void;
}

/** What start uses. */
export type StartContext = Pick<ContainerContext, 'root' | 'runRoot' | 'containerStore' | 'snapshotter' | 'volumes' | 'runtimes' | 'networking'>;

/** The first half of start: the container exists under its shim, blocked before execve. */
export async function prepareStart(ctx: StartContext, rec: ContainerRecord, opts: StartOptions = {}): Promise<PreparedStart> {
  const { dir, bundle } = runPaths(ctx.runRoot, rec.Id);
  const warn = (m: string): void => opts.onWarning?.(m);
  // A previous run's leftovers (exit.json, sockets) must not be mistaken for this run's.
  await removeRunDir(ctx, rec);
  await mkdir(bundle, { recursive: true, mode: 0o700 });
  let mounted = false;
  try {
    let rootfs: string;
    if (rec.Berth.rootfs) rootfs = rec.Berth.rootfs;
    else {
      rootfs = await ctx.snapshotter.mount(rec.Berth.snapshotKey!);
      mounted = true;
    }
    crashPoint('start:mounted');
    const hostname = rec.Config.Hostname || rec.Id.slice(0, 12);
    const net = await ctx.networking.setup(rec);
    if (net) fillNetworkSettings(rec, net);
    await writeEtcFiles(ctx, rec, hostname, net);
    const user = await resolveUser(rootfs, rec.Config.User, rec.HostConfig.GroupAdd ?? []);
    const planned = await planMounts(rec, rec.Berth.anonymousVolumes ?? {}, ctx.volumes.store, (n) => ctx.containerStore.resolve(n));
    rec.Mounts = planned.map((p) => p.point);
    const cgroupParent = rec.HostConfig.CgroupParent || DEFAULT_CGROUP_PARENT;
    const spec = await buildOciSpec({
      id: rec.Id,
      config: rec.Config,
      hostConfig: rec.HostConfig,
      rootfs,
      user,
      etcFiles: { hosts: rec.HostsPath, hostname: rec.HostnamePath, resolvConf: rec.ResolvConfPath },
      mounts: planned.map((p) => p.oci),
      joinNamespaces: { ...(await joinedNamespaces(ctx, rec)), ...(net ? { network: net.netnsPath } : {}) },
      cgroupsPath: `${cgroupParent.startsWith('/') ? '' : '/'}${cgroupParent.replace(/\/$/, '')}/${rec.Id}`,
      cgroupV2: detectLayout() === 'v2',
      seccomp: await seccompFor(rec),
      ...(rec.HostConfig.Init ? { initBinary: join(nativeDir(), 'berth-reaper') } : {}),
    });
    if (opts.consoleSize && spec.process?.terminal) spec.process.consoleSize = { height: opts.consoleSize.rows, width: opts.consoleSize.cols };
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec, null, 1), { mode: 0o600 });
    const launch = await launchShim({
      id: rec.Id,
      dir,
      bundle,
      runtime: ctx.runtimes.for(rec).shim(warn),
      log: logOptions(rec),
      stdin: rec.Config.OpenStdin === true,
      stdinOnce: rec.Config.StdinOnce === true,
      exitCommand: [...berthCommand(ctx), 'container', 'cleanup', rec.Id],
      env: shimEnv(),
      ...(healthSchedule(ctx, rec) ? { health: healthSchedule(ctx, rec)! } : {}),
    });
    return { rec, launch, dir, warn };
  } catch (e) {
    await releaseRun(ctx, rec, { unmount: mounted, runDir: true });
    throw e;
  }
}

/** Exit code docker reports for a container that could not start. */
export function startFailureCode(e: unknown): number {
  const msg = e instanceof Error ? e.message : String(e);
  if (/no such file or directory|not found/i.test(msg) && /^exec/m.test(msg)) return 127;
  if (/permission denied/i.test(msg) && /^exec/m.test(msg)) return 126;
  return 128;
}

/** The second half: let the process run, and record it as running. */
export async function release(ctx: Pick<ContainerContext, 'runRoot' | 'runtimes' | 'snapshotter' | 'networking'>, prepared: PreparedStart): Promise<ContainerRecord> {
  const { rec, dir } = prepared;
  try {
    await startMonitored(dir, rec.Id, ctx.runtimes.for(rec).shim(prepared.warn));
  } catch (e) {
    await releaseRun(ctx, rec, { unmount: true, runDir: false });
    throw e;
  }
  return rec;
}

/** Records a successful launch (under the caller's lock). */
export function markRunning(rec: ContainerRecord, launch: ShimLaunch): void {
  rec.State = {
    ...withStatus(rec.State, 'running'),
    Pid: launch.containerPid,
    ExitCode: 0,
    Error: '',
    OOMKilled: false,
    StartedAt: new Date().toISOString(),
    FinishedAt: ZERO_TIME,
    ...(rec.Config.Healthcheck?.Test?.length && rec.Config.Healthcheck.Test[0] !== 'NONE' ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } } : {}),
  };
  rec.Berth.shimPid = launch.shimPid;
  rec.Berth.shimStartTime = launch.shimStartTime;
  if (launch.containerStartTime !== undefined) rec.Berth.pidStartTime = launch.containerStartTime;
  delete rec.Berth.stoppedByUser;
  delete rec.Berth.autoRemovePending;
  delete rec.Berth.restartAt;
}

/** Records a failed start as docker does (status unchanged, error and exit code set). */
export function markStartFailed(rec: ContainerRecord, e: unknown): void {
  rec.State = { ...rec.State, Error: isBerthError(e) || e instanceof Error ? e.message : String(e), ExitCode: startFailureCode(e) };
}
