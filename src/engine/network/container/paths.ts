/**
 * Where a container's network lives on the host, derived from ids alone so that a teardown
 * (or a repair after a crash) finds everything without the record that made it:
 *   <runRoot>/netns/<container id>         the namespace file (podman's model)
 *   <runRoot>/network/                     the firewall's state and the bridges' locks
 *   veth<9 hex>                            the host end of the pair for (container, network)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

export function netnsDir(runRoot: string): string {
  return join(runRoot, 'netns');
}

export function netnsPath(runRoot: string, containerId: string): string {
  return join(netnsDir(runRoot), containerId);
}

export function networkRunDir(runRoot: string): string {
  return join(runRoot, 'network');
}

/** Serialises making a bridge and plugging into it with removing it (see bridge.ts). */
export function bridgeLockPath(runRoot: string, networkId: string): string {
  return join(networkRunDir(runRoot), `bridge-${networkId.slice(0, 16)}.lock`);
}

/** 13 bytes, within IFNAMSIZ; stable for the pair so that a teardown can name it. */
export function hostVethName(containerId: string, networkId: string): string {
  return `veth${createHash('sha256').update(`${containerId}/${networkId}`).digest('hex').slice(0, 9)}`;
}
