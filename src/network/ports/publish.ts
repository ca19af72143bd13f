/**
 * `-p [ip:][hostPort[-end]:]containerPort[-end][/tcp|udp|sctp]` into a structured spec with
 * its ranges kept (the firewall needs numbers, not docker's "80/tcp" strings), and `--expose`
 * / EXPOSE keys ("80/tcp") into specs for `-P`. This is the one grammar: the engine's
 * src/engine/parse/ports.ts is an adapter that turns these specs into docker's
 * ExposedPorts/PortBindings form for the container record.
 */
import { BerthError } from '../../core/errors';
import { parseAddress } from '../ipam/cidr';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export interface PublishSpec {
  /** "" = every host address (both families), or one address. */
  hostIp: string;
  /** Absent: any free host port (docker's ephemeral range). */
  hostPorts?: { first: number; last: number };
  containerPorts: { first: number; last: number };
  protocol: PortProtocol;
}

const ACCEPTED = '[IP:][HOST-PORT[-END]:]CONTAINER-PORT[-END][/tcp|udp|sctp], e.g. 8080:80, 127.0.0.1:8080:80/udp, [::1]:8080:80, 8000-8002:80-82';

function bad(value: string, why: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid -p "${value}": ${why}`, { hint: `accepted: ${ACCEPTED}` });
}

function portRange(value: string, text: string, what: string): { first: number; last: number } {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) throw bad(value, `${what} "${text}" is not a port or a range of ports`);
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535) throw bad(value, `${what} "${text}" is out of range: ports are 1 to 65535`);
  if (last < first) throw bad(value, `${what} range "${text}" ends before it starts`);
  return { first, last };
}

export function parsePublishSpec(value: string): PublishSpec {
  let rest = value.trim();
  let protocol: PortProtocol = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw bad(value, `unknown protocol "${p}" (tcp, udp or sctp)`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let hostIp = '';
  let fields: string[];
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) {
    hostIp = bracketed[1]!;
    if (parseAddress(hostIp)?.family !== 6) throw bad(value, `"[${hostIp}]" is not an IPv6 address`);
    fields = bracketed[2]!.split(':');
    if (fields.length !== 2) throw bad(value, 'after [IPv6]: give HOST-PORT:CONTAINER-PORT (HOST-PORT may be empty)');
  } else {
    fields = rest.split(':');
    if (fields.length > 3) throw bad(value, 'too many ":" (an IPv6 host address goes in brackets: [::1]:8080:80)');
    if (fields.length === 3) {
      hostIp = fields.shift()!;
      if (parseAddress(hostIp)?.family !== 4) throw bad(value, `"${hostIp}" is not an IPv4 address`);
    }
  }
  const containerText = fields[fields.length - 1]!;
  const hostText = fields.length === 2 ? fields[0]! : '';
  const containerPorts = portRange(value, containerText, 'container port');
  const spec: PublishSpec = { hostIp, containerPorts, protocol };
  if (hostText !== '') {
    const hostPorts = portRange(value, hostText, 'host port');
    const hostSize = hostPorts.last - hostPorts.first;
    const ctrSize = containerPorts.last - containerPorts.first;
    // docker: equal sizes map one to one; one container port with a host range takes one free port of it.
    if (hostSize !== ctrSize && ctrSize !== 0) {
      throw bad(value, `host range ${hostText} (${hostSize + 1} ports) and container range ${containerText} (${ctrSize + 1} ports) differ in size`);
    }
    spec.hostPorts = hostPorts;
  }
  return spec;
}

/** An image's or --expose's "80/tcp" key, published on any free host port (-P). */
export function specForExposed(key: string): PublishSpec {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/i.exec(key.trim());
  if (!m) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid exposed port "${key}"`, { hint: 'write it as PORT[/PROTOCOL], e.g. 80/tcp or 53/udp' });
  }
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  if (first < 1 || last > 65535 || last < first) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid exposed port "${key}": ports are 1 to 65535`, { hint: 'e.g. 80/tcp' });
  }
  return { hostIp: '', containerPorts: { first, last }, protocol: (m[3]?.toLowerCase() ?? 'tcp') as PortProtocol };
}
