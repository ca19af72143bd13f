/** Resource documents as `update` combines them. */
import type { LinuxResources } from '../spec/types';

/** Shallow merge per resource group, so that an update of memory.limit keeps cpu settings. */
export function mergeResources(base: LinuxResources, upd: LinuxResources): LinuxResources {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(upd)) {
    const prev = (base as Record<string, unknown>)[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? { ...(prev as object), ...(v as object) }
        : v;
  }
  return out as LinuxResources;
}
