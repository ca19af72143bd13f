/**
 * The options `berth run` and `berth create` share, declared once with docker's names, and
 * their mapping onto the engine's create options; the engine parses and checks the values
 * (in the flags' words) before anything is pulled or created.
 */
import { Command, Option } from 'commander';
import { BerthError } from '../../core/errors';
import type { CreateRequest } from '../../engine/containers/request';
import type { ContainerCreateOptions } from '../../engine/create/options';
import { buildCreateRequest } from '../../engine/create/request-builder';
import { collect } from '../parse';
import { CREATE_FIELD_FLAGS } from './flag-words';

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
  network: string[];
  net: string[];
  networkAlias: string[];
  ip?: string;
  ip6?: string;
  macAddress?: string;
  link: string[];
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
  list('--add-host <host:ip>', 'add a line to /etc/hosts (IP may be host-gateway: the host, as seen from the container)');
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
  list('-p, --publish <[ip:][hostPort[-end]:]port[-end][/proto]>', "publish a container's port(s) on the host (proto: tcp, udp, sctp)");
  cmd.option('-P, --publish-all', 'publish every exposed port to a free host port');
  list('--expose <port[-end][/proto]>', 'expose a port or a range of ports');
  // Two long names in one option make commander store only the last ("net"): declare both.
  list('--network <network>', 'connect to a network (repeatable; the first is the network mode): bridge, host, none, container:NAME, a network name, or name=NET,alias=A,ip=IP,ip6=IP,mac-address=MAC,driver-opt=K=V');
  cmd.addOption(new Option('--net <network>', 'same as --network').argParser(collect).default([]).hideHelp());
  list('--network-alias <alias>', 'name the container answers to on the first network (user-defined networks)');
  cmd
    .option('--ip <address>', 'IPv4 address on the first network (user-defined networks, e.g. 172.30.100.104)')
    .option('--ip6 <address>', 'IPv6 address on the first network (user-defined networks, e.g. 2001:db8::33)')
    .option('--mac-address <address>', 'MAC address on the first network (e.g. 92:d0:c6:0a:29:33)');
  list('--link <name[:alias]>', 'add a link to another container (default bridge; an alias on a user-defined network)');
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

/** The flags as the engine's front-end-neutral create options (names differ; values are passed as typed). */
export function createOptionsFromFlags(f: ContainerFlags, image: string | undefined, command: string[]): ContainerCreateOptions {
  const networks = [...f.network, ...f.net];
  const health = {
    ...(f.healthCmd !== undefined ? { cmd: f.healthCmd } : {}),
    ...(f.healthInterval !== undefined ? { interval: f.healthInterval } : {}),
    ...(f.healthTimeout !== undefined ? { timeout: f.healthTimeout } : {}),
    ...(f.healthStartPeriod !== undefined ? { startPeriod: f.healthStartPeriod } : {}),
    ...(f.healthStartInterval !== undefined ? { startInterval: f.healthStartInterval } : {}),
    ...(f.healthRetries !== undefined ? { retries: f.healthRetries } : {}),
    ...(f.healthcheck === false ? { disable: true } : {}),
  };
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return defined<ContainerCreateOptions>({
    image, command, rootfs: f.rootfs, name: f.name,
    env: f.env, envFiles: f.envFile, labels: f.label, labelFiles: f.labelFile, annotations: f.annotation,
    workdir: f.workdir, user: f.user, entrypoint: f.entrypoint, hostname: f.hostname, domainname: f.domainname,
    interactive: f.interactive, tty: f.tty, detach: f.detach, autoRemove: f.rm,
    publish: f.publish, publishAll: f.publishAll, expose: f.expose,
    ...(networks.length ? { networks } : {}), networkAliases: f.networkAlias,
    ipv4Address: f.ip, ipv6Address: f.ip6, macAddress: f.macAddress, links: f.link,
    extraHosts: f.addHost, dns: f.dns, dnsSearch: f.dnsSearch, dnsOptions: f.dnsOption,
    volumes: f.volume, mounts: f.mount, tmpfs: f.tmpfs, volumesFrom: f.volumesFrom, readOnly: f.readOnly,
    memory: f.memory, memorySwap: f.memorySwap, memoryReservation: f.memoryReservation, memorySwappiness: f.memorySwappiness,
    oomKillDisable: f.oomKillDisable, oomScoreAdj: f.oomScoreAdj,
    cpus: f.cpus, cpuShares: f.cpuShares, cpusetCpus: f.cpusetCpus, cpusetMems: f.cpusetMems, cpuPeriod: f.cpuPeriod, cpuQuota: f.cpuQuota,
    pidsLimit: f.pidsLimit, blkioWeight: f.blkioWeight, shmSize: f.shmSize, ulimits: f.ulimit,
    capAdd: f.capAdd, capDrop: f.capDrop, privileged: f.privileged, securityOpt: f.securityOpt,
    devices: f.device, deviceCgroupRules: f.deviceCgroupRule, groupAdd: f.groupAdd, sysctls: f.sysctl,
    ipc: f.ipc, pid: f.pid, uts: f.uts, userns: f.userns, cgroupns: f.cgroupns, cgroupParent: f.cgroupParent, init: f.init,
    restart: f.restart, stopSignal: f.stopSignal, stopTimeout: f.stopTimeout,
    ...(Object.keys(health).length ? { healthcheck: health } : {}),
    logDriver: f.logDriver, logOpts: f.logOpt,
    pull: f.pull as ContainerCreateOptions['pull'], platform: f.platform, runtime: f.runtime, attach: f.attach,
  });
}

/**
 * Builds the create request. `positional` is what followed the options: IMAGE [COMMAND...],
 * or with --rootfs just COMMAND...
 */
export async function createRequestFromFlags(f: ContainerFlags, positional: string[], env: NodeJS.ProcessEnv = process.env): Promise<CreateRequest> {
  let image: string | undefined;
  let cmd: string[];
  if (f.rootfs) {
    cmd = positional;
  } else {
    if (!positional.length) throw new BerthError('EINVALID_ARGUMENT', 'an image is required', { hint: 'usage: berth run [OPTIONS] IMAGE [COMMAND] [ARG...] (or --rootfs DIR COMMAND)' });
    [image, ...cmd] = positional as [string, ...string[]];
  }
  return buildCreateRequest(createOptionsFromFlags(f, image, cmd), { names: CREATE_FIELD_FLAGS, callerEnv: env });
}
