/** Resource documents as `update` combines them. */
import type { DeviceRule, LinuxResources, RuntimeConfig } from '../spec/types';
import { DEFAULT_DEVICES } from './plan-builder';

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

/** Device numbers every container may use: the default devices, /dev/ptmx and every pty. */
const IMPLICIT_DEVICE_RULES: ReadonlyArray<DeviceRule> = [
  ...DEFAULT_DEVICES.map((d) => ({ allow: true, type: 'c' as const, major: d.major, minor: d.minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, minor: -1, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
];

/**
 * The resources the cgroup gets at create. When the config restricts devices (typically
 * "deny all" first), the devices the runtime itself must supply (runtime spec, "Default
 * Devices") and every `linux.devices` entry are allowed after the config's own rules, as runc
 * does: otherwise init could not mknod them and the container could not open /dev/null.
 * Without device rules the cgroup's inherited policy is left alone.
 */
export function effectiveResources(config: RuntimeConfig): LinuxResources | undefined {
  const res = config.linux?.resources;
  if (!res?.devices?.length) return res;
  const listed: DeviceRule[] = (config.linux?.devices ?? [])
    .filter((d) => d.type !== 'p' && d.major !== undefined && d.minor !== undefined)
    .map((d) => ({ allow: true, type: d.type === 'b' ? 'b' : 'c', major: d.major, minor: d.minor, access: 'rwm' }));
  return { ...res, devices: [...res.devices, ...IMPLICIT_DEVICE_RULES, ...listed] };
}
