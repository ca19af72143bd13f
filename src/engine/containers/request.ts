/** What `run`/`create` (CLI or API) ask the engine for, in docker's shapes. */
import type { ContainerConfig, HostConfig, NetworkingConfig } from '../docker-types';

export interface CreateRequest {
  name?: string;
  /** Image reference; absent when running from an exploded root filesystem. */
  image?: string;
  /** --rootfs DIR. */
  rootfs?: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  pull: 'always' | 'missing' | 'never';
  platform?: string;
  /**
   * The networks beyond HostConfig.NetworkMode (docker's NetworkingConfig): per network its
   * aliases, static addresses, MAC. NetworkMode's own network may have an entry here too.
   */
  networkingConfig?: NetworkingConfig;
}
