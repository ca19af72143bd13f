/**
 * Attributes of a container's events as docker records them: the container's labels, its
 * image and name (so `events --filter label=...` and `--filter image=...` work for every
 * lifecycle event), plus what is particular to the event (exit code, signal, ...).
 */
import { containerName, type ContainerRecord } from './record';

export function containerEventAttributes(rec: Pick<ContainerRecord, 'Name' | 'Config'>, extra: Record<string, string> = {}): Record<string, string> {
  return { ...(rec.Config.Labels ?? {}), image: rec.Config.Image ?? '', name: containerName(rec as ContainerRecord), ...extra };
}
