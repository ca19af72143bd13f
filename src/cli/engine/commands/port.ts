/**
 * `port CONTAINER [PRIVATE_PORT[/PROTO]]`: docker's "80/tcp -> 0.0.0.0:8080" lines, in
 * natural order.
 */
import { Command } from 'commander';
import type { CliEnv } from '../env';

/** Go's net.JoinHostPort: IPv6 addresses in brackets. */
function joinHostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Natural order: digit runs compare as numbers ("80/tcp" before "443/tcp"). */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) return Number(x) - Number(y) || x.length - y.length;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function registerPortCommand(program: Command, container: Command, env: CliEnv): void {
  const port = (c: Command) =>
    c
      .argument('<container>')
      .argument('[private-port]', 'PORT[/PROTO], e.g. 80 or 53/udp')
      .description('list the published ports of a container')
      .action(async (name: string, privatePort: string | undefined) => {
        const ports = await env.engine().ports(name, privatePort);
        const lines = ports.map((p) => (privatePort !== undefined ? joinHostPort(p.hostIp, p.hostPort) : `${p.privatePort} -> ${joinHostPort(p.hostIp, p.hostPort)}`));
        env.out.write(lines.sort(naturalCompare).map((l) => `${l}\n`).join(''));
      });
  port(program.command('port'));
  port(container.command('port'));
}
