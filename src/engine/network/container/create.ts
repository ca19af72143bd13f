/**
 * NetworkSettings at create (docker's): an entry per network the container will be on, with
 * what was asked (aliases, static addresses, links, MAC) and the network's id; an unknown
 * network is refused here, before anything is made. `host` and `none` get their pseudo
 * entry; `container:NAME` none (it uses the other container's).
 */
import { BerthError } from '../../../core/errors';
import type { NetworkStore } from '../../../network/store';
import type { EndpointRequest, HostConfig, NetworkingConfig } from '../../docker-types';
import type { NetworkSettings } from '../../containers/record';
import { isSpecialMode, networkKey, requestedEndpoint } from './plan';

export interface CreatedNetworks {
  settings: NetworkSettings;
  /** MACs asked for, per network name (kept when a stop empties the live fields). */
  requestedMacs: Record<string, string>;
}

export async function networksAtCreate(store: NetworkStore, hc: HostConfig, networking: NetworkingConfig | undefined, legacyMac: string | undefined): Promise<CreatedNetworks> {
  const mode = networkKey(hc.NetworkMode);
  const settings: NetworkSettings = { SandboxKey: '', Ports: {}, Networks: {}, IPAddress: '', Gateway: '', MacAddress: '' };
  const requestedMacs: Record<string, string> = {};
  const asked = networking?.EndpointsConfig ?? {};
  if (isSpecialMode(mode)) {
    const extra = Object.keys(asked).filter((n) => networkKey(n) !== mode);
    if (extra.length) {
      throw new BerthError('EINVALID_ARGUMENT', `container cannot be connected to network(s) ${extra.join(', ')} with network mode ${mode}`, {
        hint: 'host, none and container: modes take no other network',
      });
    }
    if (!mode.startsWith('container:')) settings.Networks[mode] = requestedEndpoint();
    return { settings, requestedMacs };
  }
  const names = [mode, ...Object.keys(asked).map(networkKey).filter((n) => n !== mode)];
  for (const name of names) {
    const net = name === 'bridge' ? await store.ensureDefault() : await store.get(name);
    const req: EndpointRequest = asked[name] ?? (name === 'bridge' ? asked['default'] : undefined) ?? {};
    if (net.isDefault && (req.Aliases?.length || req.IPAMConfig?.IPv4Address || req.IPAMConfig?.IPv6Address)) {
      const what = req.Aliases?.length ? 'network-scoped aliases are' : 'a user specified IP address is';
      throw new BerthError('EINVALID_ARGUMENT', `${what} only supported on user-defined networks, not on the default bridge network`, {
        hint: 'create a network (berth network create NAME) and run the container with --network NAME',
      });
    }
    const mac = req.MacAddress || (name === mode ? legacyMac : undefined);
    if (mac) requestedMacs[net.name] = mac.toLowerCase();
    settings.Networks[net.name] = requestedEndpoint({ ...req, ...(mac ? { MacAddress: mac.toLowerCase() } : {}), NetworkID: net.id });
  }
  return { settings, requestedMacs };
}
