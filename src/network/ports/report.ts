/**
 * Published ports as docker shows them: inspect's NetworkSettings.Ports (every exposed port,
 * null when not published) and the lines of `docker port`. Docker lists a port published on
 * no particular address once per family: 0.0.0.0, and :: where IPv6 is on.
 */
import type { PortMapping } from '../store-types';

export interface DockerPortBinding {
  HostIp: string;
  HostPort: string;
}

/** NetworkSettings.Ports: exposed keys ("80/tcp") to their bindings, or null when unpublished. */
export function inspectPorts(mappings: PortMapping[], exposed: string[], ipv6: boolean): Record<string, DockerPortBinding[] | null> {
  const out: Record<string, DockerPortBinding[] | null> = {};
  for (const key of exposed) out[key] = null;
  for (const m of mappings) {
    const key = `${m.containerPort}/${m.protocol}`;
    const list = out[key] ?? (out[key] = []);
    for (const ip of hostIpsShown(m.hostIp, ipv6)) list.push({ HostIp: ip, HostPort: String(m.hostPort) });
  }
  return out;
}

/** `berth port CONTAINER [PORT[/PROTO]]` lines: "80/tcp -> 0.0.0.0:8080". */
export function portLines(mappings: PortMapping[], ipv6: boolean, only?: string): string[] {
  const want = only === undefined ? undefined : only.includes('/') ? only : `${only}/tcp`;
  const out: string[] = [];
  const sorted = [...mappings].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol) || a.hostPort - b.hostPort);
  for (const m of sorted) {
    const key = `${m.containerPort}/${m.protocol}`;
    if (want !== undefined && key !== want) continue;
    for (const ip of hostIpsShown(m.hostIp, ipv6)) {
      const host = ip.includes(':') ? `[${ip}]` : ip;
      out.push(want === undefined ? `${key} -> ${host}:${m.hostPort}` : `${host}:${m.hostPort}`);
    }
  }
  return out;
}

function hostIpsShown(hostIp: string, ipv6: boolean): string[] {
  if (hostIp !== '') return [hostIp];
  return ipv6 ? ['0.0.0.0', '::'] : ['0.0.0.0'];
}
