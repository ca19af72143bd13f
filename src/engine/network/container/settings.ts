/**
 * NetworkSettings as docker shows them: per network the request (kept from create) and,
 * while the container runs, its addresses; the top-level address fields repeat the default
 * bridge network's (docker's legacy fields, empty on user-defined networks).
 */
import type { ContainerRecord } from '../../containers/record';
import { inspectPorts } from '../../../network/ports/report';
import type { NetworkAttachment } from '.';
import { dnsNames } from '.';
import { parseCidr } from '../../../network/ipam/cidr';
import { clearedEndpoint, requestedEndpoint } from './plan';
import { exposedKeys } from './ports';

export function fillNetworkSettings(rec: ContainerRecord, a: NetworkAttachment): void {
  const ns = rec.NetworkSettings;
  ns.SandboxID = rec.Id;
  ns.SandboxKey = a.netnsPath;
  const ipv6 = a.endpoints[0]?.network.enableIPv6 === true;
  ns.Ports = inspectPorts(a.ports, exposedKeys(rec), ipv6);
  for (const e of a.endpoints) {
    const key = Object.keys(ns.Networks).find((k) => k === e.network.name || (e.network.isDefault && k === 'default')) ?? e.network.name;
    if (key !== e.network.name) delete ns.Networks[key];
    const v4 = e.network.subnets.find((s) => !s.subnet.includes(':'));
    const v6 = e.network.subnets.find((s) => s.subnet.includes(':'));
    const prev = ns.Networks[key] ?? requestedEndpoint();
    ns.Networks[e.network.name] = {
      ...prev,
      NetworkID: e.network.id,
      EndpointID: e.endpoint.endpointId,
      Gateway: e.endpoint.ipv4 && v4 ? v4.gateway : '',
      IPAddress: e.endpoint.ipv4 ?? '',
      IPPrefixLen: e.endpoint.ipv4 && v4 ? parseCidr(v4.subnet).prefix : 0,
      IPv6Gateway: e.endpoint.ipv6 && v6 ? v6.gateway : '',
      GlobalIPv6Address: e.endpoint.ipv6 ?? '',
      GlobalIPv6PrefixLen: e.endpoint.ipv6 && v6 ? parseCidr(v6.subnet).prefix : 0,
      MacAddress: e.endpoint.mac ?? '',
      DNSNames: e.network.isDefault ? null : dnsNames(rec, e.endpoint.aliases),
    };
  }
  const def = a.endpoints.find((e) => e.network.isDefault);
  const d = def ? ns.Networks[def.network.name] : undefined;
  ns.Bridge = '';
  ns.HairpinMode = false;
  ns.EndpointID = d?.EndpointID ?? '';
  ns.IPAddress = d?.IPAddress ?? '';
  ns.IPPrefixLen = d?.IPPrefixLen ?? 0;
  ns.Gateway = d?.Gateway ?? '';
  ns.GlobalIPv6Address = d?.GlobalIPv6Address ?? '';
  ns.GlobalIPv6PrefixLen = d?.GlobalIPv6PrefixLen ?? 0;
  ns.IPv6Gateway = d?.IPv6Gateway ?? '';
  ns.MacAddress = d?.MacAddress ?? '';
}

/** A stopped container: no sandbox, no addresses, no published ports (docker empties them too). */
export function clearNetworkSettings(rec: ContainerRecord): void {
  const ns = rec.NetworkSettings;
  if (!ns) return;
  ns.SandboxID = '';
  ns.SandboxKey = '';
  ns.Ports = {};
  for (const [k, ep] of Object.entries(ns.Networks ?? {})) ns.Networks[k] = clearedEndpoint(ep, rec.Berth.requestedMacs?.[k]);
  ns.EndpointID = '';
  ns.IPAddress = '';
  ns.IPPrefixLen = 0;
  ns.Gateway = '';
  ns.GlobalIPv6Address = '';
  ns.GlobalIPv6PrefixLen = 0;
  ns.IPv6Gateway = '';
  ns.MacAddress = '';
}
