/**
 * Published ports from specs to concrete host ports, refusing before anything starts a port
 * that a host process or another Berth container already holds (naming it), and choosing free
 * ports for `-p 80`, `-p 8000-8010:80` and `-P` from the kernel's ephemeral range, as docker
 * does. Two CLIs choosing at the same moment can still pick the same free port: the firewall's
 * attach (under its lock) refuses the second, and the engine retries the choice.
 */
import { readFile } from 'node:fs/promises';
import { BerthError } from '../../core/errors';
import type { Family } from '../ipam/cidr';
import { coverage, ipsOverlap } from './host-ip';
import type { PortMapping } from '../store-types';
import { type HostSocket, type SocketHolder, hostSockets, socketHolders } from './host-sockets';
import type { PublishSpec } from './publish';

export interface PortRange {
  first: number;
  last: number;
}

export interface PortContext {
  /** The host's bound sockets (hostSockets()). */
  sockets: HostSocket[];
  /** Ports other Berth containers publish. */
  published: Array<{ containerName: string; port: PortMapping }>;
  /** Where automatic host ports come from. */
  ephemeral: PortRange;
  /** Finds a socket's processes, for the error message (default: scan /proc). */
  holders?: (inode: number) => Promise<SocketHolder[]>;
}

/** docker's fallback when the kernel's range cannot be read. */
export const DOCKER_EPHEMERAL: PortRange = { first: 49153, last: 65535 };

/** /proc/sys/net/ipv4/ip_local_port_range, as docker's port allocator reads it. */
export async function ephemeralRange(path = '/proc/sys/net/ipv4/ip_local_port_range'): Promise<PortRange> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const m = /^\s*(\d+)\s+(\d+)/.exec(text);
  if (!m) return DOCKER_EPHEMERAL;
  const first = Number(m[1]);
  const last = Number(m[2]);
  return first >= 1 && last <= 65535 && first <= last ? { first, last } : DOCKER_EPHEMERAL;
}

/** The context from this host: its sockets and ephemeral range, plus Berth's published ports. */
export async function hostPortContext(published: PortContext['published']): Promise<PortContext> {
  return { sockets: await hostSockets(), published, ephemeral: await ephemeralRange() };
}

export async function resolvePublished(specs: PublishSpec[], ctx: PortContext): Promise<PortMapping[]> {
  const out: PortMapping[] = [];
  const claimed = (p: PortMapping) => out.some((o) => o.protocol === p.protocol && o.hostPort === p.hostPort && ipsOverlap(o.hostIp, p.hostIp));
  const free = (p: PortMapping) => !claimed(p) && !socketConflict(ctx.sockets, p) && !berthConflict(ctx.published, p);

  for (const spec of specs) {
    const count = spec.containerPorts.last - spec.containerPorts.first + 1;
    const oneToOne = spec.hostPorts && spec.hostPorts.last - spec.hostPorts.first + 1 === count;
    for (let i = 0; i < count; i++) {
      const containerPort = spec.containerPorts.first + i;
      const base = { protocol: spec.protocol, hostIp: spec.hostIp, containerPort };
      if (oneToOne) {
        const mapping = { ...base, hostPort: spec.hostPorts!.first + i };
        if (claimed(mapping)) {
          throw new BerthError('EINVALID_ARGUMENT', `host port ${describe(mapping)} is published twice`, { hint: 'publish each host port once' });
        }
        await refuseIfHeld(mapping, ctx);
        out.push(mapping);
        continue;
      }
      const range = spec.hostPorts ?? ctx.ephemeral;
      let picked: PortMapping | undefined;
      for (let port = range.first; port <= range.last && !picked; port++) {
        const candidate = { ...base, hostPort: port };
        if (free(candidate)) picked = candidate;
      }
      if (!picked) {
        throw new BerthError('EIN_USE', `no free host port for ${containerPort}/${spec.protocol} in ${range.first}-${range.last}${spec.hostIp ? ` on ${spec.hostIp}` : ''}`, {
          hint: spec.hostPorts ? 'give a wider host port range, or free one of its ports' : 'free some ports, or publish an explicit host port',
        });
      }
      out.push(picked);
    }
  }
  return out;
}

/** Throws the "already in use" error naming a host process or a Berth container. */
export async function refuseIfHeld(mapping: PortMapping, ctx: PortContext): Promise<void> {
  const sock = socketConflict(ctx.sockets, mapping);
  if (sock) {
    const holders = await (ctx.holders ?? socketHolders)(sock.inode);
    const who = holders.length > 0 ? holders.map((h) => `process ${h.pid} (${h.command})`).join(', ') : 'a socket whose process is not visible here';
    throw new BerthError('EIN_USE', `host port ${describe(mapping)} is already in use by ${who}`, {
      hint: `stop ${holders.length === 1 ? 'that process' : 'the program listening there'} or publish another host port (e.g. -p ${mapping.hostPort === 65535 ? mapping.hostPort - 1 : mapping.hostPort + 1}:${mapping.containerPort})`,
    });
  }
  const other = berthConflict(ctx.published, mapping);
  if (other) {
    throw new BerthError('EIN_USE', `host port ${describe(mapping)} is already published by container ${other.containerName}`, {
      hint: `publish another host port, or stop ${other.containerName}`,
    });
  }
}

function describe(p: PortMapping): string {
  const ip = p.hostIp === '' ? '' : p.hostIp.includes(':') ? `[${p.hostIp}]:` : `${p.hostIp}:`;
  return `${ip}${p.hostPort}/${p.protocol}`;
}

function socketConflict(sockets: HostSocket[], p: PortMapping): HostSocket | undefined {
  const cov = coverage(p.hostIp);
  return sockets.find((s) => {
    if (s.protocol !== p.protocol || s.port !== p.hostPort) return false;
    // An IPv6 wildcard socket usually serves IPv4 too (bindv6only=0): count it for both.
    const fams: Family[] = s.wildcard && s.family === 6 ? [4, 6] : [s.family];
    if (!fams.some((f) => cov.families.includes(f))) return false;
    return s.wildcard || cov.address === undefined || cov.address === s.address;
  });
}

function berthConflict(published: PortContext['published'], p: PortMapping): { containerName: string } | undefined {
  return published.find((o) => o.port.protocol === p.protocol && o.port.hostPort === p.hostPort && ipsOverlap(o.port.hostIp, p.hostIp));
}
