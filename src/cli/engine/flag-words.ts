/**
 * The engine's messages name request fields (`HostConfig.LogConfig.Type`) and create options
 * (`ipv4Address`); the CLI prints them with its flags instead (`--log-driver`, `--ip`), as
 * docker's CLI words them. The create table is passed to the engine, which looks names up.
 */
import { BerthError, isBerthError } from '../../core/errors';
import type { FieldNames } from '../../engine/create/validate';

/** `e` with each field in its message and hint replaced by the flag `flags` gives for it. */
export function inFlagWords(e: unknown, flags: Readonly<Record<string, string>>): unknown {
  if (!isBerthError(e)) return e;
  const swap = (text: string) => Object.entries(flags).reduce((t, [field, flag]) => t.split(field).join(flag), text);
  const message = swap(e.message);
  const hint = e.hint === undefined ? undefined : swap(e.hint);
  if (message === e.message && hint === e.hint) return e;
  return new BerthError(e.code, message, { ...(hint !== undefined ? { hint } : {}), cause: e.cause });
}

/**
 * `run`/`create`'s names for the options and request fields, so that the engine's parsing
 * and checks speak in flags (`invalid size "12q" for --memory`).
 */
export const CREATE_FIELD_FLAGS: FieldNames = {
  image: 'IMAGE',
  rootfs: '--rootfs',
  memory: '--memory',
  memorySwap: '--memory-swap',
  memoryReservation: '--memory-reservation',
  memorySwappiness: '--memory-swappiness',
  oomScoreAdj: '--oom-score-adj',
  cpuShares: '--cpu-shares',
  cpuPeriod: '--cpu-period',
  cpuQuota: '--cpu-quota',
  blkioWeight: '--blkio-weight',
  pidsLimit: '--pids-limit',
  shmSize: '--shm-size',
  stopSignal: '--stop-signal',
  stopTimeout: '--stop-timeout',
  attach: '--attach',
  entrypoint: '--entrypoint',
  sysctls: '--sysctl',
  annotations: '--annotation',
  logDriver: '--log-driver',
  logOpts: '--log-opt',
  cgroupns: '--cgroupns',
  'healthcheck.disable': '--no-healthcheck',
  'healthcheck.cmd': '--health-cmd',
  'healthcheck.interval': '--health-interval',
  'healthcheck.timeout': '--health-timeout',
  'healthcheck.startPeriod': '--health-start-period',
  'healthcheck.startInterval': '--health-start-interval',
  'healthcheck.retries': '--health-retries',
  name: '--name',
  'HostConfig.AutoRemove': '--rm',
  'HostConfig.RestartPolicy': '--restart',
  'HostConfig.OomScoreAdj': '--oom-score-adj',
  'HostConfig.Memory': '-m/--memory',
  'HostConfig.MemoryReservation': '--memory-reservation',
  'HostConfig.NanoCpus': '--cpus',
  networks: '--network',
  networkAliases: '--network-alias',
  ipv4Address: '--ip',
  ipv6Address: '--ip6',
  macAddress: '--mac-address',
  links: '--link',
  'HostConfig.NetworkMode': '--network',
  'HostConfig.PortBindings': '-p/--publish',
  'HostConfig.PublishAllPorts': '-P/--publish-all',
  'HostConfig.Links': '--link',
  'HostConfig.Dns': '--dns',
  'HostConfig.DnsSearch': '--dns-search',
  'HostConfig.DnsOptions': '--dns-option',
  'HostConfig.ExtraHosts': '--add-host',
  'Config.Hostname': '-h/--hostname',
  'Config.ExposedPorts': '--expose',
  'EndpointSettings.Aliases': '--network-alias',
  'EndpointSettings.IPAMConfig.IPv4Address': '--ip',
  'EndpointSettings.IPAMConfig.IPv6Address': '--ip6',
  'EndpointSettings.MacAddress': '--mac-address',
};
