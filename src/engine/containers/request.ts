/** What `run`/`create` (CLI or API) ask the engine for, in docker's shapes. */
import type { ContainerConfig, HostConfig } from '../docker-types';

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
  networkAliases: string[];
}
