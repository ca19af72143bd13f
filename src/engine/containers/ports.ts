/**
 * `port`: the published ports recorded in NetworkSettings.Ports ("80/tcp" -> host
 * addresses), for all private ports or one. Networking fills NetworkSettings when a
 * container starts; this only reads what is recorded.
 */
import { BerthError } from '../../core/errors';
import { containerName, type ContainerRecord } from './record';

export interface PublishedPort {
  /** "80/tcp" */
  privatePort: string;
  hostIp: string;
  hostPort: string;
}

/** "80" -> "80/tcp"; "53/udp" stays. Refuses what is not a port number and protocol. */
export function normalizePrivatePort(spec: string): string {
  const [port = '', proto = 'tcp', extra] = spec.split('/');
  const n = Number(port);
  if (extra !== undefined || !/^\d+$/.test(port) || n < 1 || n > 65535 || !['tcp', 'udp', 'sctp'].includes(proto)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid port "${spec}"`, { hint: 'give PORT or PORT/PROTOCOL, e.g. 80 or 53/udp' });
  }
  return `${n}/${proto}`;
}

export function publishedPorts(rec: ContainerRecord, privatePort?: string): PublishedPort[] {
  const ports = rec.NetworkSettings?.Ports ?? {};
  if (privatePort !== undefined) {
    const key = normalizePrivatePort(privatePort);
    const bindings = ports[key];
    if (!bindings?.length) {
      throw new BerthError('ENOT_FOUND', `No public port '${key}' published for ${containerName(rec)}`, { hint: 'publish it with -p HOST:CONTAINER when creating the container' });
    }
    return bindings.map((b) => ({ privatePort: key, hostIp: b.HostIp, hostPort: b.HostPort }));
  }
  return Object.entries(ports).flatMap(([key, bindings]) => (bindings ?? []).map((b) => ({ privatePort: key, hostIp: b.HostIp, hostPort: b.HostPort })));
}
