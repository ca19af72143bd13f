/**
 * A container's published ports, from its record to concrete host ports: HostConfig's
 * PortBindings (docker's "80/tcp" -> [{HostIp, HostPort}] with HostPort "", "8080" or a range
 * "8000-8010") plus, with PublishAllPorts (-P), every exposed port not bound explicitly.
 */
import type { ContainerRecord } from '../../containers/record';
import { type PublishSpec, specForExposed } from '../../../network/ports/publish';
import { hostPortContext, resolvePublished } from '../../../network/ports/resolve';
import type { NetworkStore } from '../../../network/store';
import type { PortMapping } from '../../../network/store-types';

export function publishSpecs(rec: ContainerRecord): PublishSpec[] {
  const out: PublishSpec[] = [];
  const bindings = rec.HostConfig.PortBindings ?? {};
  for (const [key, list] of Object.entries(bindings)) {
    const base = specForExposed(key);
    for (const b of list ?? []) {
      const spec: PublishSpec = { ...base, hostIp: b.HostIp ?? '' };
      const m = /^(\d+)(?:-(\d+))?$/.exec(b.HostPort ?? '');
      if (m) spec.hostPorts = { first: Number(m[1]), last: Number(m[2] ?? m[1]) };
      out.push(spec);
    }
  }
  if (rec.HostConfig.PublishAllPorts) {
    for (const key of Object.keys(rec.Config.ExposedPorts ?? {})) {
      if (!bindings[key]?.length) out.push(specForExposed(key));
    }
  }
  return out;
}

/** The exposed keys inspect lists (null when unpublished), as docker: ExposedPorts and bound ones. */
export function exposedKeys(rec: ContainerRecord): string[] {
  return [...new Set([...Object.keys(rec.Config.ExposedPorts ?? {}), ...Object.keys(rec.HostConfig.PortBindings ?? {})])];
}

/** Host ports for the specs, refusing ports a host process or another container holds. */
export async function resolvePorts(store: NetworkStore, rec: ContainerRecord): Promise<PortMapping[]> {
  const specs = publishSpecs(rec);
  if (!specs.length) return [];
  const published = (await store.publishedPorts()).filter((p) => p.containerId !== rec.Id);
  return resolvePublished(specs, await hostPortContext(published));
}
