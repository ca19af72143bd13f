/**
 * Platforms (`os/arch[/variant]`) and the choice of one manifest from an index. Architecture
 * names follow Go's (GOARCH), as the image spec does; aliases users type (x86_64, aarch64)
 * are normalized. The default is the host's platform.
 */
import { BerthError } from '../core/errors';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386', i686: '386' };

/** Normalizes architecture and variant: arm64 has v8 as its implied variant, arm has v7. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'arm64' && (variant === undefined || variant === '' || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && (variant === undefined || variant === '')) variant = 'v7';
  if (architecture === 'arm' && /^[5-8]$/.test(variant ?? '')) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: Platform = { os, architecture };
  if (variant) out.variant = variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  return out;
}

/** Parses `os/arch[/variant]` (as `--platform` takes it). */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new BerthError('EINVALID_REFERENCE', `invalid platform "${spec}": expected OS/ARCH[/VARIANT]`, { hint: 'for example linux/amd64 or linux/arm64/v8' });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** The platform of the machine Berth runs on. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle' };
  const architecture = arch[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as Record<string, unknown>)['arm_version'];
  return normalizePlatform({ os: 'linux', architecture, ...(architecture === 'arm' && typeof armVersion === 'string' ? { variant: `v${armVersion}` } : {}) });
}

/**
 * Variants a platform can run, best first: an armv7 machine runs v7, v6 and v5 images;
 * others only their own.
 */
function compatibleVariants(want: Platform): (string | undefined)[] {
  if (want.architecture === 'arm') {
    const order = ['v8', 'v7', 'v6', 'v5'];
    const i = order.indexOf(want.variant ?? 'v7');
    return i < 0 ? [want.variant] : order.slice(i);
  }
  return [want.variant];
}

/**
 * How well `have` serves `want`: 0 is an exact match, higher is worse, undefined is no match.
 * A request without a variant takes any variant of the architecture.
 */
export function platformScore(want: Platform, have: Platform): number | undefined {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return undefined;
  if (want.variant === undefined && w.architecture !== 'arm') return h.variant === w.variant ? 0 : 1;
  const i = compatibleVariants(w).indexOf(h.variant);
  return i < 0 ? undefined : i;
}
