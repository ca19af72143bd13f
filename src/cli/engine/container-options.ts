/**
 * The options `berth run` and `berth create` share, declared once with docker's names, and
 * their translation into the docker-shaped `Config` / `HostConfig` the engine stores. Values
 * are checked here, at the boundary, so that a bad flag fails before anything is created.
 */
import { Command, Option } from 'commander';
import { BerthError } from '../../core/errors';
import type { ContainerConfig, HealthConfig, HostConfig, MountSpec } from '../../engine/docker-types';
import type { CreateRequest } from '../../engine/containers/request';
import { parseDeviceFlag, parseMountFlag, parseTmpfsFlag, parseVolumeFlag } from '../../engine/parse/mounts';
import { parseExpose, parsePublish } from '../../engine/parse/ports';
import {
  invalidFlag, parseCpus, parseDuration, parseEnvEntry, parseExtraHost, parseKeyValue, parseLabel, parseRestartPolicy,
  parseUlimit, readEnvFile,
} from '../../engine/parse/values';
import { collect, parseBytes, parseIntFlag } from '../parse';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export interface ContainerFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  name?: string;
  env: string[];
  envFile: string[];
  label: string[];
  labelFile: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  domainname?: string;
  addHost: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  volume: string[];
  mount: string[];
  tmpfs: string[];
  volumesFrom: string[];
  readOnly?: boolean;
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  memorySwappiness?: string;
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  ulimit: string[];
  capAdd: string[];
  capDrop: string[];
  privileged?: boolean;
  securityOpt: string[];
  device: string[];
  deviceCgroupRule: string[];
  groupAdd: string[];
  sysctl: string[];
  ipc?: string;
  pid?: string;
  uts?: string;
  userns?: string;
  cgroupns?: string;
  cgroupParent?: string;
  init?: boolean;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: string;
  healthCmd?: string;
  healthInterval?: string;
  healthRetries?: string;
  healthTimeout?: string;
  healthStartPeriod?: string;
  healthStartInterval?: string;
  healthcheck?: boolean;
  logDriver?: string;
  logOpt: string[];
  platform?: string;
  pull?: string;
  runtime?: string;
  rootfs?: string;
  publish: string[];
  publishAll?: boolean;
  expose: string[];
  network?: string;
  net?: string;
  networkAlias: string[];
  attach: string[];
  sigProxy?: boolean;
  detachKeys?: string;
  cidfile?: string;
  shmSize?: string;
  annotation: string[];
  quiet?: boolean;
}

/** Declares the shared options on `cmd` (`run` adds --rm, -d, --sig-proxy... the same way). */
export function addContainerOptions(cmd: Command): Command {
  const list = (flags: string, description: string) => cmd.option(flags, description, collect, []);
  cmd
    .option('-d, --detach', 'run in the background and print the container id')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--rm', 'remove the container when it exits')
    .option('--name <name>', 'name the container');
  list('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)');
  list('--env-file <file>', 'read environment variables from a file');
  list('-l, --label <KEY=VALUE>', 'set metadata');
  list('--label-file <file>', 'read labels from a file');
  cmd
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('-u, --user <user[:group]>', 'user name or uid (and group) to run as')
    .option('--entrypoint <command>', "override the image's ENTRYPOINT (\"\" clears it)")
    .option('-h, --hostname <name>', 'container host name')
    .option('--domainname <name>', 'container NIS domain name');
  list('--add-host <host:ip>', 'add a line to /etc/hosts');
  list('--dns <ip>', 'name server');
  list('--dns-search <domain>', 'DNS search domain');
  list('--dns-option <option>', 'resolv.conf option');
  list('-v, --volume <spec>', 'bind mount or volume: SRC:DST[:ro] or DST');
  list('--mount <spec>', 'mount: type=bind|volume|tmpfs,source=...,target=...');
  list('--tmpfs <dst[:opts]>', 'mount a tmpfs');
  list('--volumes-from <container[:ro]>', "mount another container's volumes");
  cmd
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 512m, 1g)')
    .option('--memory-swap <bytes>', 'memory + swap limit (-1 unlimited)')
    .option('--memory-reservation <bytes>', 'memory soft limit')
    .option('--memory-swappiness <0-100>', 'swappiness')
    .option('--oom-kill-disable', 'disable the OOM killer')
    .option('--oom-score-adj <n>', 'OOM score adjustment (-1000..1000)')
    .option('--cpus <n>', 'number of CPUs (e.g. 1.5)')
    .option('-c, --cpu-shares <n>', 'relative CPU weight')
    .option('--cpuset-cpus <list>', 'CPUs to run on (0-3, 0,1)')
    .option('--cpuset-mems <list>', 'memory nodes')
    .option('--cpu-period <us>', 'CFS period')
    .option('--cpu-quota <us>', 'CFS quota')
    .option('--pids-limit <n>', 'process limit (-1 unlimited)')
    .option('--blkio-weight <10-1000>', 'block IO weight');
  list('--ulimit <name=soft[:hard]>', 'resource limit');
  list('--cap-add <cap>', 'add a capability');
  list('--cap-drop <cap>', 'drop a capability');
  cmd.option('--privileged', 'all capabilities and devices, no seccomp or masked paths');
  list('--security-opt <opt>', 'no-new-privileges, seccomp=unconfined|PATH, label=..., apparmor=...');
  list('--device <host[:ctr][:rwm]>', 'expose a host device');
  list('--device-cgroup-rule <rule>', "allow a device in the cgroup ('c 1:3 rwm')");
  list('--group-add <group>', 'additional group');
  list('--sysctl <key=value>', 'namespaced kernel parameter');
  cmd
    .option('--ipc <mode>', 'IPC namespace: private, shareable, host, none, container:NAME')
    .option('--pid <mode>', 'PID namespace: host or container:NAME')
    .option('--uts <mode>', 'UTS namespace: host')
    .option('--userns <mode>', 'user namespace mode (host)')
    .option('--cgroupns <mode>', 'cgroup namespace: private or host')
    .option('--cgroup-parent <path>', 'parent cgroup')
    .option('--init', 'run an init (berth-reaper) as PID 1 that forwards signals and reaps zombies')
    .option('--restart <policy>', 'no, always, unless-stopped, on-failure[:N]')
    .option('--stop-signal <signal>', 'signal to stop the container')
    .option('--stop-timeout <seconds>', 'seconds to wait before killing on stop')
    .option('--health-cmd <command>', 'health check command (run with /bin/sh -c)')
    .option('--health-interval <duration>', 'time between checks (e.g. 30s)')
    .option('--health-retries <n>', 'failures before unhealthy')
    .option('--health-timeout <duration>', 'maximum time of one check')
    .option('--health-start-period <duration>', 'grace period after start')
    .option('--health-start-interval <duration>', 'time between checks during the start period')
    .option('--no-healthcheck', "disable the image's health check")
    .option('--log-driver <driver>', 'json-file (default), none');
  list('--log-opt <key=value>', 'log options: max-size, max-file');
  cmd
    .addOption(new Option('--pull <policy>', 'pull the image: always, missing, never').choices(['always', 'missing', 'never']))
    .option('--platform <os/arch>', 'platform of the image')
    .option('--runtime <runtime>', 'OCI runtime: berth (built in), runc, crun or a path')
    .option('--rootfs <dir>', 'run from an exploded root filesystem instead of an image');
  list('-p, --publish <[ip:][hostPort:]port[/proto]>', 'publish a port');
  cmd.option('-P, --publish-all', 'publish every exposed port to a random host port');
  list('--expose <port[/proto]>', 'expose a port');
  // Two long names in one option make commander store only the last ("net"): declare both.
  cmd.option('--network <mode>', 'network: bridge, host, none, container:NAME or a network name');
  cmd.addOption(new Option('--net <mode>', 'same as --network').hideHelp());
  list('--network-alias <alias>', 'name on the network');
  list('-a, --attach <stream>', 'attach to stdin, stdout or stderr');
  cmd
    .option('--no-sig-proxy', 'do not forward signals to the container')
    .option('--detach-keys <keys>', 'key sequence to detach (default ctrl-p,ctrl-q)')
    .option('--cidfile <file>', 'write the container id to a file')
    .option('--shm-size <bytes>', 'size of /dev/shm');
  list('--annotation <key=value>', 'OCI annotation');
  cmd.option('-q, --quiet', 'suppress the pull output');
  return cmd;
}

const SIGNAL_RE = /^(SIG)?[A-Z0-9]+(\+\d+)?$|^\d+$/;

function bytesOpt(flag: string, v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseBytes(flag, v);
}

function intOpt(flag: string, v: string | undefined, min = 0, max?: number): number | undefined {
  if (v === undefined) return undefined;
  const n = parseIntFlag(flag, v, min);
  if (max !== undefined && n > max) throw invalidFlag(flag, v, `an integer from ${min} to ${max}`);
  return n;
}

function healthConfig(f: ContainerFlags): HealthConfig | undefined {
  if (f.healthcheck === false) {
    if (f.healthCmd) throw new BerthError('EINVALID_ARGUMENT', '--no-healthcheck conflicts with --health-cmd', { hint: 'use one of them' });
    return { Test: ['NONE'] };
  }
  const ns = (flag: string, v: string | undefined) => (v === undefined ? undefined : parseDuration(flag, v) * 1e6);
  const h: HealthConfig = {};
  if (f.healthCmd) h.Test = ['CMD-SHELL', f.healthCmd];
  const interval = ns('--health-interval', f.healthInterval);
  const timeout = ns('--health-timeout', f.healthTimeout);
  const start = ns('--health-start-period', f.healthStartPeriod);
  const startInterval = ns('--health-start-interval', f.healthStartInterval);
  const retries = intOpt('--health-retries', f.healthRetries);
  if (interval !== undefined) h.Interval = interval;
  if (timeout !== undefined) h.Timeout = timeout;
  if (start !== undefined) h.StartPeriod = start;
  if (startInterval !== undefined) h.StartInterval = startInterval;
  if (retries !== undefined) h.Retries = retries;
  return Object.keys(h).length ? h : undefined;
}

function logConfig(f: ContainerFlags): HostConfig['LogConfig'] {
  const type = f.logDriver ?? 'json-file';
  if (!['json-file', 'none', 'k8s-file', 'local'].includes(type)) {
    throw invalidFlag('--log-driver', type, 'json-file or none');
  }
  const config: Record<string, string> = {};
  for (const o of f.logOpt) {
    const [k, v] = parseKeyValue('--log-opt', o);
    if (k === 'max-size') parseBytes('--log-opt max-size', v);
    else if (k === 'max-file') parseIntFlag('--log-opt max-file', v, 1);
    else if (!['compress', 'labels', 'env', 'tag', 'mode'].includes(k)) throw invalidFlag('--log-opt', o, 'max-size=10m, max-file=3');
    config[k] = v;
  }
  return { Type: type === 'k8s-file' || type === 'local' ? 'json-file' : type, Config: config };
}

function cgroupnsMode(v: string | undefined): HostConfig['CgroupnsMode'] {
  if (v === undefined) return '';
  if (v === 'host' || v === 'private') return v;
  throw invalidFlag('--cgroupns', v, 'private or host');
}

/** The kernel cannot hold a container in less (docker's daemon refuses it with these words). */
const MIN_MEMORY = 6 * 1024 * 1024;

/** docker's daemon-side checks, here so that a refused container leaves nothing behind. */
function checkLimits(hc: HostConfig, cpus = availableParallelism()): void {
  if (hc.Memory && hc.Memory > 0 && hc.Memory < MIN_MEMORY) {
    throw new BerthError('EINVALID_ARGUMENT', 'Minimum memory limit allowed is 6MB', { hint: 'give -m/--memory 6m or more' });
  }
  if (hc.MemoryReservation && hc.MemoryReservation > 0 && hc.MemoryReservation < MIN_MEMORY) {
    throw new BerthError('EINVALID_ARGUMENT', 'Minimum memory reservation allowed is 6MB', { hint: 'give --memory-reservation 6m or more' });
  }
  if (hc.NanoCpus && hc.NanoCpus > cpus * 1e9) {
    throw new BerthError('EINVALID_ARGUMENT', `Range of CPUs is from 0.01 to ${cpus.toFixed(2)}, as there are only ${cpus} CPUs available`, { hint: `give --cpus ${cpus} or less` });
  }
}

/**
 * Berth has no user-defined networks yet: a name other than docker's built-in modes names a
 * network that does not exist, refused as docker refuses it (nothing may claim to be on it).
 */
function checkNetwork(mode: string): void {
  if (['bridge', 'default', 'host', 'none'].includes(mode) || mode.startsWith('container:')) return;
  throw new BerthError('ENOT_FOUND', `network ${mode} not found`, { hint: 'use --network bridge, host, none or container:NAME' });
}

/**
 * Builds the create request. `positional` is what followed the options: IMAGE [COMMAND...],
 * or with --rootfs just COMMAND...
 */
export function createRequestFromFlags(f: ContainerFlags, positional: string[], env: NodeJS.ProcessEnv = process.env): CreateRequest {
  let image: string | undefined;
  let cmd: string[];
  if (f.rootfs) {
    cmd = positional;
  } else {
    if (!positional.length) throw new BerthError('EINVALID_ARGUMENT', 'an image is required', { hint: 'usage: berth run [OPTIONS] IMAGE [COMMAND] [ARG...] (or --rootfs DIR COMMAND)' });
    [image, ...cmd] = positional as [string, ...string[]];
  }
  if (f.name !== undefined && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(f.name)) {
    throw invalidFlag('--name', f.name, 'letters, digits, _ . - (at least two characters, starting with a letter or digit)');
  }
  const envList: string[] = [];
  for (const file of f.envFile) envList.push(...readEnvFile(file, env));
  for (const e of f.env) {
    const v = parseEnvEntry(e, env);
    if (v !== undefined) envList.push(v);
  }
  const labels: Record<string, string> = {};
  for (const file of f.labelFile) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() && !line.trim().startsWith('#')) {
        const [k, v] = parseLabel(line.trim());
        labels[k] = v;
      }
    }
  }
  for (const l of f.label) {
    const [k, v] = parseLabel(l);
    labels[k] = v;
  }

  const exposed: Record<string, Record<string, never>> = {};
  const bindings: NonNullable<HostConfig['PortBindings']> = {};
  for (const p of f.publish) {
    const parsed = parsePublish(p);
    for (const e of parsed.exposed) exposed[e] = {};
    for (const [k, v] of Object.entries(parsed.bindings)) bindings[k] = [...(bindings[k] ?? []), ...v];
  }
  for (const e of f.expose) for (const k of parseExpose(e)) exposed[k] = {};

  const binds: string[] = [];
  const mounts: MountSpec[] = [];
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of f.volume) {
    const m = parseVolumeFlag(v);
    if (m.Source === undefined) volumes[m.Target] = {};
    else binds.push(v.startsWith('.') ? `${m.Source}:${v.split(':').slice(1).join(':')}` : v);
  }
  for (const m of f.mount) mounts.push(parseMountFlag(m));
  const tmpfs: Record<string, string> = {};
  for (const t of f.tmpfs) {
    const [target, opts] = parseTmpfsFlag(t);
    tmpfs[target] = opts;
  }
  const sysctls: Record<string, string> = {};
  for (const s of f.sysctl) {
    const [k, v] = parseKeyValue('--sysctl', s);
    sysctls[k] = v;
  }
  const annotations: Record<string, string> = {};
  for (const a of f.annotation) {
    const [k, v] = parseKeyValue('--annotation', a);
    annotations[k] = v;
  }
  if (f.stopSignal !== undefined && !SIGNAL_RE.test(f.stopSignal.toUpperCase())) {
    throw invalidFlag('--stop-signal', f.stopSignal, 'a signal name or number, e.g. SIGTERM, QUIT or 15');
  }
  for (const a of f.attach) if (!['stdin', 'stdout', 'stderr'].includes(a.toLowerCase())) throw invalidFlag('--attach', a, 'stdin, stdout or stderr');
  const cpus = f.cpus === undefined ? undefined : parseCpus(f.cpus);
  const memorySwap = bytesOpt('--memory-swap', f.memorySwap);
  const pids = f.pidsLimit === undefined ? undefined : parseIntFlag('--pids-limit', f.pidsLimit, -1);
  const healthcheck = healthConfig(f);
  const restart = f.restart ? parseRestartPolicy(f.restart) : { Name: 'no' as const, MaximumRetryCount: 0 };
  if (f.rm && restart.Name !== 'no') {
    throw new BerthError('EINVALID_ARGUMENT', `--rm conflicts with --restart ${f.restart}`, { hint: 'a container removed on exit cannot be restarted; drop one of them' });
  }
  if (f.entrypoint !== undefined && f.entrypoint.includes('\0')) throw invalidFlag('--entrypoint', f.entrypoint, 'a command');

  const config: ContainerConfig = {
    Hostname: f.hostname ?? '',
    Domainname: f.domainname ?? '',
    User: f.user ?? '',
    AttachStdin: f.interactive === true && !f.detach,
    AttachStdout: !f.detach,
    AttachStderr: !f.detach,
    Tty: f.tty === true,
    OpenStdin: f.interactive === true,
    StdinOnce: f.interactive === true && !f.detach,
    Env: envList,
    ...(cmd.length ? { Cmd: cmd } : {}),
    ...(image ? { Image: image } : {}),
    WorkingDir: f.workdir ?? '',
    ...(f.entrypoint !== undefined ? { Entrypoint: f.entrypoint === '' ? [] : [f.entrypoint] } : {}),
    Labels: labels,
    ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
    ...(Object.keys(volumes).length ? { Volumes: volumes } : {}),
    ...(f.stopSignal ? { StopSignal: f.stopSignal } : {}),
    ...(f.stopTimeout !== undefined ? { StopTimeout: parseIntFlag('--stop-timeout', f.stopTimeout, -1) } : {}),
    ...(healthcheck ? { Healthcheck: healthcheck } : {}),
  };
  const hostConfig: HostConfig = {
    Binds: binds,
    LogConfig: logConfig(f),
    NetworkMode: f.network ?? f.net ?? 'bridge',
    PortBindings: bindings,
    RestartPolicy: restart,
    AutoRemove: f.rm === true,
    VolumesFrom: f.volumesFrom,
    Mounts: mounts,
    CapAdd: f.capAdd,
    CapDrop: f.capDrop,
    CgroupnsMode: cgroupnsMode(f.cgroupns),
    Dns: f.dns,
    DnsOptions: f.dnsOption,
    DnsSearch: f.dnsSearch,
    ExtraHosts: f.addHost.map(parseExtraHost),
    GroupAdd: f.groupAdd,
    IpcMode: f.ipc ?? 'private',
    PidMode: f.pid ?? '',
    UTSMode: f.uts ?? '',
    UsernsMode: f.userns ?? '',
    Privileged: f.privileged === true,
    PublishAllPorts: f.publishAll === true,
    ReadonlyRootfs: f.readOnly === true,
    SecurityOpt: f.securityOpt,
    Tmpfs: tmpfs,
    ShmSize: bytesOpt('--shm-size', f.shmSize) ?? 64 * 1024 * 1024,
    Sysctls: sysctls,
    Runtime: f.runtime ?? 'berth',
    ...(Object.keys(annotations).length ? { Annotations: annotations } : {}),
    CpuShares: intOpt('--cpu-shares', f.cpuShares, 2) ?? 0,
    Memory: bytesOpt('--memory', f.memory) ?? 0,
    CgroupParent: f.cgroupParent ?? '',
    BlkioWeight: intOpt('--blkio-weight', f.blkioWeight, 10, 1000) ?? 0,
    CpuPeriod: intOpt('--cpu-period', f.cpuPeriod, 1000) ?? 0,
    CpuQuota: intOpt('--cpu-quota', f.cpuQuota, 1000) ?? 0,
    CpusetCpus: f.cpusetCpus ?? '',
    CpusetMems: f.cpusetMems ?? '',
    Devices: f.device.map(parseDeviceFlag),
    DeviceCgroupRules: f.deviceCgroupRule,
    MemoryReservation: bytesOpt('--memory-reservation', f.memoryReservation) ?? 0,
    MemorySwap: memorySwap ?? 0,
    MemorySwappiness: f.memorySwappiness === undefined ? null : (intOpt('--memory-swappiness', f.memorySwappiness, 0, 100) ?? null),
    NanoCpus: cpus ?? 0,
    OomKillDisable: f.oomKillDisable === true,
    OomScoreAdj: f.oomScoreAdj === undefined ? 0 : parseIntFlag('--oom-score-adj', f.oomScoreAdj, -1000),
    Init: f.init === true ? true : null,
    PidsLimit: pids ?? null,
    Ulimits: f.ulimit.map(parseUlimit),
  };
  if ((hostConfig.OomScoreAdj ?? 0) > 1000) throw invalidFlag('--oom-score-adj', f.oomScoreAdj!, 'an integer from -1000 to 1000');
  checkLimits(hostConfig);
  checkNetwork(hostConfig.NetworkMode ?? 'bridge');
  return {
    ...(f.name !== undefined ? { name: f.name.replace(/^\//, '') } : {}),
    ...(image ? { image } : {}),
    ...(f.rootfs ? { rootfs: f.rootfs } : {}),
    config,
    hostConfig,
    pull: (f.pull as CreateRequest['pull'] | undefined) ?? 'missing',
    ...(f.platform ? { platform: f.platform } : {}),
    networkAliases: f.networkAlias,
  };
}
