/**
 * The /etc/hosts and /etc/hostname a container gets (bind-mounted from its directory, as
 * docker does). Its resolv.conf, and the network lines of /etc/hosts (host.docker.internal,
 * --add-host), come from the resolver's side: src/network/dns/container-files.ts.
 */
import { hostsLines, type HostsEntry } from '../network/dns';

export interface HostsInput {
  hostname: string;
  domainname?: string;
  /** The container's own addresses (for its hostname line). */
  addresses: string[];
  /**
   * The lines after the container's own: linked containers, then the network's
   * (host.docker.internal, --add-host; network/dns containerHostsEntries parses those).
   */
  peers?: HostsEntry[];
  /** --network host shares the host's view; docker copies the host file then. */
  hostNetwork?: boolean;
  hostHostsFile?: string;
}

export function hostsFile(input: HostsInput): string {
  if (input.hostNetwork && input.hostHostsFile !== undefined) {
    return input.hostHostsFile + hostsLines(input.peers ?? []);
  }
  const fqdn = input.domainname ? `${input.hostname}.${input.domainname} ${input.hostname}` : input.hostname;
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
  ];
  for (const a of input.addresses) lines.push(`${a}\t${fqdn}`);
  // Without an address of its own (--network none) the hostname still resolves, to loopback.
  if (!input.addresses.length) lines.push(`127.0.0.1\t${fqdn}`);
  return lines.join('\n') + '\n' + hostsLines(input.peers ?? []);
}

export function hostnameFile(hostname: string): string {
  return `${hostname}\n`;
}
