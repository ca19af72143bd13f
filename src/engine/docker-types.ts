/**
 * The container configuration in the shapes of the Docker Engine API (`Config` and
 * `HostConfig` of `POST /containers/create`). The engine stores and inspects containers in
 * these shapes, so `berth inspect`, the API server and docker clients see the field names
 * they know, and the CLI flags map onto them as docker's do.
 */

export interface HealthConfig {
  /** ["NONE"] disables an image's check; ["CMD", ...args] or ["CMD-SHELL", "command"]. */
  Test?: string[];
  /** Nanoseconds, as the API has them (0 = default). */
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[];
  Cmd?: string[];
  Healthcheck?: HealthConfig;
  Image?: string;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Entrypoint?: string[];
  NetworkDisabled?: boolean;
  /** Deprecated in the API (EndpointsConfig has it per network); still sent by older clients. */
  MacAddress?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Seconds. */
  StopTimeout?: number;
  Shell?: string[];
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type: string;
  Config?: Record<string, string>;
}

export interface MountSpec {
  Type: 'bind' | 'volume' | 'tmpfs';
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] };
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export interface DeviceMapping {
  PathOnHost: string;
  PathInContainer: string;
  CgroupPermissions: string;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface HostConfig {
  Binds?: string[];
  /** --link NAME[:ALIAS] (the default bridge network only, as docker). */
  Links?: string[];
  LogConfig?: LogConfig;
  NetworkMode?: string;
  PortBindings?: Record<string, PortBinding[] | null>;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumesFrom?: string[];
  Mounts?: MountSpec[];
  ConsoleSize?: [number, number];
  Annotations?: Record<string, string>;
  CapAdd?: string[];
  CapDrop?: string[];
  CgroupnsMode?: 'private' | 'host' | '';
  Dns?: string[];
  DnsOptions?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  IpcMode?: string;
  Cgroup?: string;
  OomScoreAdj?: number;
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  /** Mount point -> tmpfs options ("size=64m,mode=1777"). */
  Tmpfs?: Record<string, string>;
  UTSMode?: string;
  UsernsMode?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  // Resources (flattened into HostConfig as in the API)
  CpuShares?: number;
  Memory?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[];
  DeviceCgroupRules?: string[];
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  NanoCpus?: number;
  OomKillDisable?: boolean;
  Init?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: Ulimit[];
}

/** IP addresses asked for on one network (--ip, --ip6; compose's ipv4_address). */
export interface EndpointIPAMConfig {
  IPv4Address?: string;
  IPv6Address?: string;
  LinkLocalIPs?: string[];
}

/**
 * docker's EndpointSettings: a container on one network, as inspect shows it in
 * NetworkSettings.Networks[NAME]. The request fields are kept from create; the address
 * fields are filled while the container runs and emptied when it stops (docker's behaviour).
 */
export interface EndpointSettings {
  IPAMConfig: EndpointIPAMConfig | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  /** Names the container answers to on this network (name, short id, aliases). */
  DNSNames: string[] | null;
}

/** What a create (or network connect) asks for on one network. */
export type EndpointRequest = Partial<Pick<EndpointSettings, 'IPAMConfig' | 'Links' | 'Aliases' | 'MacAddress' | 'DriverOpts'>>;

/** docker's NetworkingConfig: the networks a container is created on, beyond NetworkMode's. */
export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointRequest>;
}
