/**
 * Capability names from process.capabilities -> the 64-bit masks berth-init passes to
 * capset(2), PR_CAPBSET_DROP and PR_CAP_AMBIENT_RAISE. Unknown names are an error naming the
 * field: silently dropping a capability the user asked for would be worse.
 */
import { BerthError } from '../core/errors';
import { CAPABILITY_NUMBERS } from '../spec/capabilities';
import type { Capabilities } from '../spec/types';

export interface CapabilityMasks {
  bounding: bigint;
  effective: bigint;
  inheritable: bigint;
  permitted: bigint;
  ambient: bigint;
}

export function capabilityMask(names: readonly string[] | undefined, field: string): bigint {
  let mask = 0n;
  for (const raw of names ?? []) {
    // Accept "chown" and "CAP_CHOWN" alike, as runc does for `exec --cap`.
    const name = raw.toUpperCase().startsWith('CAP_') ? raw.toUpperCase() : `CAP_${raw.toUpperCase()}`;
    const n = CAPABILITY_NUMBERS[name];
    if (n === undefined) {
      throw new BerthError('EINVALID_CONFIG', `${field}: unknown capability "${raw}"`, {
        hint: 'use names like CAP_NET_ADMIN (see capabilities(7))',
      });
    }
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** Masks of every set; a missing set is empty (inheritable and ambient stay empty unless asked). */
export function capabilityMasks(caps: Capabilities | undefined): CapabilityMasks {
  return {
    bounding: capabilityMask(caps?.bounding, 'process.capabilities.bounding'),
    effective: capabilityMask(caps?.effective, 'process.capabilities.effective'),
    inheritable: capabilityMask(caps?.inheritable, 'process.capabilities.inheritable'),
    permitted: capabilityMask(caps?.permitted, 'process.capabilities.permitted'),
    ambient: capabilityMask(caps?.ambient, 'process.capabilities.ambient'),
  };
}

/**
 * The kernel raises an ambient capability only if it is both permitted and inheritable.
 * runc's own `runc spec` lists ambient capabilities without an inheritable set, and runc
 * (through its capability library) ignores the failed raise, so such bundles run with an
 * empty ambient set. We do the same, but say which capabilities were dropped.
 */
export function raisableAmbient(masks: CapabilityMasks, warn: (msg: string) => void): CapabilityMasks {
  const raisable = masks.ambient & masks.permitted & masks.inheritable;
  const dropped = masks.ambient & ~raisable;
  if (dropped === 0n) return masks;
  const names = Object.entries(CAPABILITY_NUMBERS)
    .filter(([, n]) => (dropped >> BigInt(n)) & 1n)
    .map(([name]) => name);
  warn(`process.capabilities.ambient: ${names.join(', ')} not raised: an ambient capability must also be permitted and inheritable`);
  return { ...masks, ambient: raisable };
}
