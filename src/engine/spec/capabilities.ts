/**
 * `--cap-add` / `--cap-drop` / `--privileged` as docker computes them: names with or without
 * the CAP_ prefix, any case, and ALL; drops apply to the default set, adds come after, so
 * `--cap-drop ALL --cap-add NET_BIND_SERVICE` leaves exactly one capability.
 *
 * "Every capability" (--privileged, --cap-add ALL) means every one the engine itself holds,
 * as podman does: where root lacks some (containers, some CI machines lack CAP_SYS_RESOURCE)
 * docker's literal "all" makes capset fail and no privileged container could run. Asking
 * for a missing one by name fails at create, naming it.
 */
import { readFileSync } from 'node:fs';
import { BerthError } from '../../core/errors';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, isKnownCapability } from '../../spec/capabilities';
import { decodeCapabilities } from '../anatomy/decode';

let ownBounding: string[] | undefined;

/**
 * The capability bounding set of this process: what any container of ours can get at most.
 * Read synchronously once per process (procfs, answered from kernel memory) and cached.
 */
export function ownCapabilities(): string[] {
  if (!ownBounding) {
    try {
      const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
      ownBounding = m ? decodeCapabilities(m[1]!) : [...ALL_CAPABILITIES];
    } catch {
      ownBounding = [...ALL_CAPABILITIES];
    }
  }
  return ownBounding;
}

function normalize(name: string, flag: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === 'ALL') return 'ALL';
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!isKnownCapability(full)) {
    throw new BerthError('EINVALID_ARGUMENT', `unknown capability "${name}" in ${flag}`, {
      hint: `use a name such as NET_ADMIN or SYS_PTRACE (see capabilities(7)), or ALL`,
    });
  }
  return full;
}

export function computeCapabilities(opts: { capAdd?: string[]; capDrop?: string[]; privileged?: boolean; available?: string[] }): string[] {
  const available = opts.available ?? ownCapabilities();
  const all = ALL_CAPABILITIES.filter((c) => available.includes(c));
  if (opts.privileged) return all;
  const add = (opts.capAdd ?? []).map((c) => normalize(c, '--cap-add'));
  const drop = (opts.capDrop ?? []).map((c) => normalize(c, '--cap-drop'));
  if (add.includes('ALL')) {
    return all.filter((c) => !drop.includes(c));
  }
  const base = drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  const set = new Set(base);
  for (const c of add) {
    if (!available.includes(c)) {
      throw new BerthError('EINVALID_ARGUMENT', `--cap-add ${c.replace(/^CAP_/, '')}: this engine does not hold ${c} itself, so no container of it can`, {
        hint: `the bounding set of the berth process lacks it (see CapBnd in /proc/self/status); drop the flag or run berth where root has ${c}`,
      });
    }
    set.add(c);
  }
  // Keep the kernel's numbering order so that generated configs are stable.
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}
