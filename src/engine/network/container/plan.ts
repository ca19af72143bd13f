/**
 * Which networks a container is on, from its record: HostConfig.NetworkMode's network first
 * (docker's order: it is the one whose gateway is the default route and whose address ports
 * are published through), then the others of NetworkSettings.Networks by name.
 */
import type { EndpointSettings } from '../../docker-types';
import type { ContainerRecord } from '../../containers/record';
import { DEFAULT_NETWORK_NAME } from '../../../network/store-create';

/** A mode that is not a network of its own: the container gets no endpoint. */
export function isSpecialMode(mode: string): boolean {
  return mode === 'host' || mode === 'none' || mode.startsWith('container:');
}

/** "default" is docker's other name for the default bridge network. */
export function networkKey(mode: string | undefined): string {
  return !mode || mode === 'default' ? DEFAULT_NETWORK_NAME : mode;
}

/** Names of the networks to attach, in order (empty for host, none and container: modes). */
export function attachedNetworks(rec: ContainerRecord): string[] {
  const mode = networkKey(rec.HostConfig.NetworkMode);
  if (isSpecialMode(mode)) return [];
  const keys = Object.keys(rec.NetworkSettings.Networks ?? {}).map((k) => (k === 'default' ? 'bridge' : k));
  // A record from before networks were recorded has none: its mode is its network.
  if (!keys.length) return [mode];
  const others = keys.filter((n) => n !== mode && !isSpecialMode(n)).sort();
  // Disconnected from its NetworkMode network (network disconnect): only the others.
  return keys.includes(mode) ? [mode, ...others] : others;
}

/** An entry for NetworkSettings.Networks as create records it: the request, no address yet. */
export function requestedEndpoint(req: Partial<EndpointSettings> = {}): EndpointSettings {
  return {
    IPAMConfig: req.IPAMConfig ?? null,
    Links: req.Links ?? null,
    Aliases: req.Aliases ?? null,
    MacAddress: req.MacAddress ?? '',
    DriverOpts: req.DriverOpts ?? null,
    NetworkID: req.NetworkID ?? '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

/** Empties what only a running container has (docker keeps the entry and its request). */
export function clearedEndpoint(ep: EndpointSettings, requestedMac: string | undefined): EndpointSettings {
  return { ...requestedEndpoint(ep), NetworkID: ep.NetworkID, MacAddress: requestedMac ?? '' };
}
