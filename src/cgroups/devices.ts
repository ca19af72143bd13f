/** OCI device rules in the normalized form both the v1 files and the v2 eBPF generator use. */
import { BerthError } from '../core/errors';
import type { DeviceRule } from '../spec/types';

export interface NormalizedDeviceRule {
  allow: boolean;
  /** 'a' matches both character and block devices. */
  type: 'a' | 'c' | 'b';
  /** undefined means "any" (OCI null or -1, written as * in v1). */
  major: number | undefined;
  minor: number | undefined;
  /** Subset of "rwm". */
  access: string;
}

export function normalizeDeviceRule(rule: DeviceRule, index: number): NormalizedDeviceRule {
  const field = `linux.resources.devices[${index}]`;
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'c' && type !== 'b') {
    throw new BerthError('ECGROUP', `${field}.type "${String(type)}" is not one of a, c, b`);
  }
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]*$/.test(access)) {
    throw new BerthError('ECGROUP', `${field}.access "${access}" may only contain r, w and m`);
  }
  const num = (v: number | null | undefined, name: string) => {
    if (v === null || v === undefined || v === -1) return undefined;
    if (!Number.isInteger(v) || v < 0) throw new BerthError('ECGROUP', `${field}.${name} ${v} is not a device number`);
    return v;
  };
  return { allow: rule.allow, type, major: num(rule.major, 'major'), minor: num(rule.minor, 'minor'), access: access || 'rwm' };
}

/** The v1 devices.allow/devices.deny line: "c 1:3 rwm", "a *:* rwm". */
export function v1DeviceLine(r: NormalizedDeviceRule): string {
  return `${r.type} ${r.major ?? '*'}:${r.minor ?? '*'} ${r.access}`;
}
