/**
 * `--cap-add` / `--cap-drop` / `--privileged` as docker computes them: names with or without
 * the CAP_ prefix, any case, and ALL; drops apply to the default set, adds come after, so
 * `--cap-drop ALL --cap-add NET_BIND_SERVICE` leaves exactly one capability.
 */
import { BerthError } from '../../core/errors';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, isKnownCapability } from '../../spec/capabilities';

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

export function computeCapabilities(opts: { capAdd?: string[]; capDrop?: string[]; privileged?: boolean }): string[] {
  if (opts.privileged) return [...ALL_CAPABILITIES];
  const add = (opts.capAdd ?? []).map((c) => normalize(c, '--cap-add'));
  const drop = (opts.capDrop ?? []).map((c) => normalize(c, '--cap-drop'));
  if (add.includes('ALL')) {
    return ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  }
  const base = drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES.filter((c) => !drop.includes(c));
  const set = new Set(base);
  for (const c of add) set.add(c);
  // Keep the kernel's numbering order so that generated configs are stable.
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}
