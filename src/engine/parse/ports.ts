/**
 * `-p [IP:][HOST-PORT:]CONTAINER-PORT[/PROTO]` with ranges ("8000-8002:80-82") and bracketed
 * IPv6 addresses, into docker's `ExposedPorts` keys ("80/tcp") and `PortBindings`.
 */
import { BerthError } from '../../core/errors';
import type { PortBinding } from '../docker-types';

const ACCEPTED = '[IP:][HOST-PORT:]CONTAINER-PORT[/tcp|udp|sctp], e.g. 8080:80, 127.0.0.1:8080:80/tcp, 8000-8001:80-81';

function bad(value: string, why: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid -p "${value}": ${why}`, { hint: `accepted: ${ACCEPTED}` });
}

function range(value: string, text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw bad(value, `${what} "${text}" is not a port or range`);
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (a < 1 || b > 65535 || b < a) throw bad(value, `${what} "${text}" is out of range (1-65535)`);
  return [a, b];
}

export interface ParsedPorts {
  exposed: string[];
  bindings: Record<string, PortBinding[]>;
}

export function parsePublish(value: string): ParsedPorts {
  let rest = value;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw bad(value, `unknown protocol "${proto}"`);
  }
  let ip = '';
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(.*)$/.exec(rest);
  if (v6) {
    ip = v6[1]!;
    rest = v6[2]!;
  }
  const parts = rest.split(':');
  if (!v6 && parts.length === 3) ip = parts.shift()!;
  if (parts.length > 2 || (v6 && parts.length !== 2)) throw bad(value, 'too many fields');
  if (ip && !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) && !v6) throw bad(value, `"${ip}" is not an IP address`);
  const [hostText, ctrText] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  const [c0, c1] = range(value, ctrText, 'container port');
  let host: [number, number] | undefined;
  if (hostText) {
    host = range(value, hostText, 'host port');
    const n = host[1] - host[0];
    // docker allows a host range for one container port (it picks one); equal-sized otherwise.
    if (c1 - c0 !== n && c1 !== c0) throw bad(value, 'host and container port ranges differ in size');
  }
  const out: ParsedPorts = { exposed: [], bindings: {} };
  for (let p = c0; p <= c1; p++) {
    const key = `${p}/${proto}`;
    out.exposed.push(key);
    let hostPort = '';
    if (host) hostPort = c0 === c1 && host[0] !== host[1] ? `${host[0]}-${host[1]}` : String(host[0] + (p - c0));
    out.bindings[key] = [{ HostIp: ip, HostPort: hostPort }];
  }
  return out;
}

/** `--expose 80` / `--expose 8000-8010/udp`. */
export function parseExpose(value: string): string[] {
  const m = /^(\d+(?:-\d+)?)(?:\/(tcp|udp|sctp))?$/.exec(value.trim());
  if (!m) throw new BerthError('EINVALID_ARGUMENT', `invalid --expose "${value}"`, { hint: 'e.g. --expose 80 or --expose 8000-8010/udp' });
  const [a, b] = range(value, m[1]!, 'port');
  const out: string[] = [];
  for (let p = a; p <= b; p++) out.push(`${p}/${m[2] ?? 'tcp'}`);
  return out;
}
