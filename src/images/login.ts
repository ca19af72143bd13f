/**
 * `login` / `logout`: credentials are verified against the registry (GET /v2/, through the
 * token server when it uses bearer auth) before they are stored in the docker-compatible
 * config.json, so that a typo is reported now rather than at the next pull.
 */
import { DockerConfigCredentials, type Credentials } from './registry/credentials';
import { RegistryClient, type RegistryClientOptions } from './registry/client';
import { parseReference } from './reference';

export interface LoginOptions extends Omit<RegistryClientOptions, 'credentials' | 'override'> {
  /** The config.json to write (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  authFile?: string;
  signal?: AbortSignal;
}

/** Normalizes what users type as REGISTRY (`localhost:5000`, `https://host/`, `docker.io`). */
export function registryDomain(input: string): string {
  const bare = input.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  return parseReference(`${bare}/x`, { defaultTag: false }).domain;
}

export async function login(registry: string, credentials: Credentials, opts: LoginOptions = {}): Promise<{ registry: string; authFile: string }> {
  const domain = registryDomain(registry);
  const client = new RegistryClient({ ...opts, override: { registry: domain, credentials } });
  try {
    await client.checkLogin(domain, opts.signal);
  } finally {
    client.close();
  }
  const store = new DockerConfigCredentials(opts.authFile);
  await store.store(domain, credentials);
  return { registry: domain, authFile: store.file };
}

/** Removes stored credentials; returns whether there were any. */
export async function logout(registry: string, opts: { authFile?: string } = {}): Promise<boolean> {
  return new DockerConfigCredentials(opts.authFile).remove(registryDomain(registry));
}
