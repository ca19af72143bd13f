/**
 * The engine's container record: docker's ContainerInspectResponse fields (so `inspect` is the
 * record itself, plus live state) and a `Berth` section for what only the engine needs.
 */
import type { ContainerConfig, EndpointSettings, HostConfig } from '../docker-types';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

export interface PortBindingState {
  HostIp: string;
  HostPort: string;
}

export type NetworkEndpoint = EndpointSettings;

/**
 * docker's NetworkSettings. Networks has an entry per network from create on (the request's
 * aliases and addresses); the address fields, Ports and SandboxKey are filled at start and
 * emptied at stop. The top-level address fields repeat the default bridge network's, as docker's do.
 */
export interface NetworkSettings {
  SandboxID?: string;
  SandboxKey: string;
  Ports: Record<string, PortBindingState[] | null>;
  Networks: Record<string, NetworkEndpoint>;
  Bridge?: string;
  HairpinMode?: boolean;
  LinkLocalIPv6Address?: string;
  LinkLocalIPv6PrefixLen?: number;
  EndpointID?: string;
  IPAddress: string;
  IPPrefixLen?: number;
  Gateway: string;
  GlobalIPv6Address?: string;
  GlobalIPv6PrefixLen?: number;
  IPv6Gateway?: string;
  MacAddress: string;
}

/** Engine-only facts, kept next to the docker fields. */
export interface BerthSection {
  /** Snapshot key of the container's writable layer (undefined for --rootfs containers). */
  snapshotKey?: string;
  /** Top chain id of the image, the snapshot's parent. */
  chainId?: string;
  /** --rootfs: the exploded root filesystem the container runs from. */
  rootfs?: string;
  /** OCI runtime: "berth" (built in), "runc", "crun" or a path. */
  runtime: string;
  /** The monitor of the current run, identified by pid and start time (pid reuse). */
  shimPid?: number;
  shimStartTime?: number;
  /** Start time of State.Pid, to tell a live container from a reused pid. */
  pidStartTime?: number;
  /** `stop`/`kill` by the user: `unless-stopped` and `always` do not restart it. */
  stoppedByUser?: boolean;
  /** Status "restarting": when its backoff ends (restart.ts). */
  restartAt?: string;
  /** The image reference the user asked for (docker keeps it in Config.Image). */
  imageRef?: string;
  /** --mac-address (or an API MacAddress) per network: kept when a stop empties the live fields. */
  requestedMacs?: Record<string, string>;
  /** Anonymous volumes made for this container: target path -> volume name. */
  anonymousVolumes?: Record<string, string>;
  /**
   * Markers of multi-step operations, each held by a lock while its process lives (see
   * recover.ts): a marker whose lock is free was left by a killed process.
   * A create in progress (lock: the container's): named volumes it made, to take back.
   */
  creating?: { volumes: string[] };
  /** A start in progress (lock: start.lock): the status to return to if it never ran. */
  starting?: { previous: 'created' | 'exited'; since: string };
  /** A removal in progress (status "removing", lock: the container's): with -v. */
  removeVolumes?: boolean;
  /**
   * --rm is due but deferred: the exit was settled while a command waiting for the exit
   * status (an attached run, `start -a`, `wait`) held `exit.lock` shared. Whoever finds the
   * lock free removes the container (recover.ts: reconcile).
   */
  autoRemovePending?: boolean;
}

export interface ContainerRecord {
  Id: string;
  /** With docker's leading slash: "/web". */
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  /** Image id (config digest), or "" for --rootfs containers. */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  Config: ContainerConfig;
  HostConfig: HostConfig;
  Mounts: MountPoint[];
  NetworkSettings: NetworkSettings;
  Berth: BerthSection;
}

export const ZERO_TIME = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** The boolean fields follow Status (docker reports both). */
export function withStatus(s: ContainerState, status: ContainerStatus): ContainerState {
  return { ...s, Status: status, Running: status === 'running' || status === 'paused' || status === 'restarting', Paused: status === 'paused', Restarting: status === 'restarting', Dead: status === 'dead' };
}

export function containerName(rec: ContainerRecord): string {
  return rec.Name.replace(/^\//, '');
}
