/**
 * What a front end asks to create, before it is a `CreateRequest`: the options of `docker
 * run`, of a compose service and of the API's convenience forms, with values as users write
 * them (docker-style strings: "8080:80", "/srv:/data:ro", "type=tmpfs,target=/t", "A=1",
 * "nofile=1024:2048", "/dev/fuse", "512m", "30s"). `buildCreateRequest` turns it into the
 * engine's request; the CLI's flags and compose's short syntax both map onto it.
 */
export interface ContainerCreateOptions {
  /** Image reference; absent with `rootfs`. */
  image?: string;
  /** The command (after the image), with `rootfs` the whole command line. */
  command?: string[];
  /** An exploded root file system to run instead of an image. */
  rootfs?: string;
  name?: string;

  /** "KEY=VALUE", or "KEY" to take the value from `callerEnv`. */
  env?: string[];
  /** Files of KEY=VALUE lines, read before `env`. */
  envFiles?: string[];
  /** "KEY=VALUE" or "KEY". */
  labels?: string[];
  labelFiles?: string[];
  annotations?: string[];

  workdir?: string;
  user?: string;
  /** One command; "" clears the image's ENTRYPOINT. */
  entrypoint?: string;
  hostname?: string;
  domainname?: string;

  /** Keep stdin open (docker's -i, compose's stdin_open). */
  interactive?: boolean;
  tty?: boolean;
  /** Not attached to the caller's stdio (docker's -d). */
  detach?: boolean;
  /** Remove the container when it exits (docker's --rm). */
  autoRemove?: boolean;

  /** "[ip:][hostPort[-end]:]port[-end][/tcp|udp|sctp]". */
  publish?: string[];
  /** Every exposed port (the image's and `expose`) on a free host port. */
  publishAll?: boolean;
  /** "port[/proto]" or a range. */
  expose?: string[];
  /**
   * The networks to join, in order; the first is HostConfig.NetworkMode (default: bridge).
   * Each is a name (bridge, host, none, container:NAME, a user-defined network) or docker's
   * advanced form "name=NET,alias=A,ip=IPv4,ip6=IPv6,mac-address=MAC,driver-opt=KEY=VALUE".
   */
  networks?: string[];
  /** Names the container answers to on the first network (user-defined networks only). */
  networkAliases?: string[];
  /** Static addresses and MAC address on the first network (addresses: user-defined networks only). */
  ipv4Address?: string;
  ipv6Address?: string;
  macAddress?: string;
  /** "NAME[:ALIAS]": legacy links on the default bridge, aliases for NAME on a user-defined network. */
  links?: string[];
  /** "HOST:IP" or "HOST:host-gateway" (the engine resolves host-gateway at start). */
  extraHosts?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];

  /** "SRC:DST[:OPTS]" or "DST" (anonymous volume). */
  volumes?: string[];
  /** "type=bind|volume|tmpfs,source=...,target=...". */
  mounts?: string[];
  /** "DST[:OPTS]". */
  tmpfs?: string[];
  volumesFrom?: string[];
  readOnly?: boolean;

  /** Sizes as "512m", "1g", or bytes. */
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  memorySwappiness?: string;
  oomKillDisable?: boolean;
  oomScoreAdj?: string;
  /** "1.5". */
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  shmSize?: string;
  /** "name=soft[:hard]". */
  ulimits?: string[];

  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  securityOpt?: string[];
  /** "host[:container][:rwm]". */
  devices?: string[];
  deviceCgroupRules?: string[];
  groupAdd?: string[];
  /** "key=value". */
  sysctls?: string[];
  ipc?: string;
  pid?: string;
  uts?: string;
  userns?: string;
  cgroupns?: string;
  cgroupParent?: string;
  init?: boolean;

  /** no, always, unless-stopped, on-failure[:N]. */
  restart?: string;
  stopSignal?: string;
  /** Seconds. */
  stopTimeout?: string;
  healthcheck?: HealthcheckOptions;
  /** json-file (default) or none. */
  logDriver?: string;
  /** "max-size=10m", "max-file=3". */
  logOpts?: string[];

  /** Image pull policy; default missing. */
  pull?: 'always' | 'missing' | 'never';
  platform?: string;
  /** berth (built in), runc, crun or a path. */
  runtime?: string;
  /** Streams to attach: stdin, stdout, stderr. */
  attach?: string[];
}

export interface HealthcheckOptions {
  /** Run with /bin/sh -c. */
  cmd?: string;
  /** Durations as "30s", "1m30s". */
  interval?: string;
  timeout?: string;
  startPeriod?: string;
  startInterval?: string;
  retries?: string;
  /** Turn the image's check off. */
  disable?: boolean;
}
