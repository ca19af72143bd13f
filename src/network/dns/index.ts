/**
 * Daemonless container DNS: one small resolver process per network, in the host's network
 * namespace on the network's gateway addresses (aardvark-dns's model), started with the
 * network's first container and gone with its last. See README "Container DNS".
 */
export { startOrJoin, updateEndpoint, leave, reconcile, resolverStatus, listResolverKeys, defaultResolverScript } from './lifecycle';
export type { StartOrJoinOptions, ResolverInfo, ResolverTarget, ResolverStatus } from './lifecycle';
export type { DnsEndpoint, ResolverConfig } from './records';
export { containerResolvConf, containerHostsEntries, hostsLines, parseResolvConf, HOST_NAMES, SYSTEMD_UPSTREAM_RESOLV_CONF } from './container-files';
export type { ContainerNetworkDns, ResolvConfInput, ContainerResolvConf, HostsEntry, HostsEntriesInput, ResolvConfFacts } from './container-files';
export { resolverPaths, dnsRoot } from './paths';

/** The search domain of container names (`web.dns.berth` == `web`), like podman's dns.podman. */
export const DEFAULT_DNS_DOMAIN = 'dns.berth';
