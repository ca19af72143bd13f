/**
 * docker's record form of published and exposed ports: `-p` specs become `ExposedPorts` keys
 * ("80/tcp") and `PortBindings`, `--expose` specs become keys. The grammar and its messages
 * are the network layer's (src/network/ports/publish.ts), so that what a create accepts is
 * exactly what the firewall side can publish: this module only changes the shape.
 */
import type { PortBinding } from '../docker-types';
import { parsePublishSpec, specForExposed, type PublishSpec } from '../../network/ports/publish';

export interface ParsedPorts {
  exposed: string[];
  bindings: Record<string, PortBinding[]>;
}

/** docker's HostPort for container port `port` of `spec`: "" (any free port), one port, or a range to pick from. */
function hostPortFor(spec: PublishSpec, port: number): string {
  const host = spec.hostPorts;
  if (!host) return '';
  const { first, last } = spec.containerPorts;
  // One container port with a host range: docker records the range and picks one port of it at start.
  if (first === last && host.first !== host.last) return `${host.first}-${host.last}`;
  return String(host.first + (port - first));
}

/** `-p [IP:][HOST-PORT[-END]:]CONTAINER-PORT[-END][/tcp|udp|sctp]`. */
export function parsePublish(value: string): ParsedPorts {
  const spec = parsePublishSpec(value);
  const out: ParsedPorts = { exposed: [], bindings: {} };
  for (let port = spec.containerPorts.first; port <= spec.containerPorts.last; port++) {
    const key = `${port}/${spec.protocol}`;
    out.exposed.push(key);
    out.bindings[key] = [{ HostIp: spec.hostIp, HostPort: hostPortFor(spec, port) }];
  }
  return out;
}

/** `--expose 80` / `--expose 8000-8010/udp`: the ExposedPorts keys. */
export function parseExpose(value: string): string[] {
  const spec = specForExposed(value);
  const out: string[] = [];
  for (let port = spec.containerPorts.first; port <= spec.containerPorts.last; port++) out.push(`${port}/${spec.protocol}`);
  return out;
}
