/** The records the network store keeps on disk (one JSON document each, versioned). */

export interface SubnetConfig {
  /** CIDR, e.g. "172.18.0.0/16". */
  subnet: string;
  gateway: string;
  /** Dynamic allocations come from this CIDR inside the subnet (docker's IPRange). */
  ipRange?: string;
}

export interface NetworkRecord {
  version: 1;
  /** 64 hex digits, like docker's. */
  id: string;
  name: string;
  driver: 'bridge';
  /** RFC 3339. */
  created: string;
  /** The host bridge device (com.docker.network.bridge.name, or br-<id12>). */
  bridge: string;
  internal: boolean;
  enableIPv6: boolean;
  /** One IPv4 subnet and, with enableIPv6, one IPv6 subnet. */
  subnets: SubnetConfig[];
  labels: Record<string, string>;
  options: Record<string, string>;
  /** True for the default "bridge" network (docker's: no name resolution, --link works). */
  isDefault: boolean;
}

/** A published port as the firewall sees it (one host port to one container port). */
export interface PortMapping {
  protocol: 'tcp' | 'udp' | 'sctp';
  /** "" or "0.0.0.0" or "::" for every host address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

export interface EndpointRecord {
  containerId: string;
  containerName: string;
  /** 64 hex digits, docker's EndpointID. */
  endpointId: string;
  aliases: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  /** Whether the addresses were asked for (--ip/--ip6): docker keeps those across restarts. */
  staticIPv4?: boolean;
  staticIPv6?: boolean;
  /** The ports this container publishes through this network (for conflict checks and teardown). */
  ports?: PortMapping[];
  created: string;
}

export interface EndpointsFile {
  version: 1;
  endpoints: Record<string, EndpointRecord>;
}

/** What `network create` asks for (flags already split into fields). */
export interface NetworkCreateRequest {
  name: string;
  driver?: string;
  /** Up to one IPv4 and one IPv6 entry; subnet omitted = pick one from the default pools. */
  ipam?: Array<{ subnet?: string; gateway?: string; ipRange?: string }>;
  internal?: boolean;
  enableIPv6?: boolean;
  labels?: Record<string, string>;
  options?: Record<string, string>;
}

/** What connecting a container to a network asks for. */
export interface ConnectRequest {
  containerId: string;
  containerName: string;
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  ports?: PortMapping[];
}
