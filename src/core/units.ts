/**
 * Numbers and sizes as users type them in flags and options ("512m", "1g", "-1"); each error
 * names the flag and the accepted forms. Shared by the CLIs and the engine (log options).
 */
import { BerthError } from './errors';

export function parseIntFlag(flag: string, v: string, min = 0): number {
  if (!/^-?\d+$/.test(v.trim()) || Number(v) < min) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid value "${v}" for ${flag}: expected an integer ≥ ${min}`);
  }
  return Number(v);
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, t: 1024 ** 4, tb: 1024 ** 4 };

/** "512m", "1g", "1048576", "-1" (unlimited). */
export function parseBytes(flag: string, v: string): number {
  const m = /^(-1|\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid size "${v}" for ${flag}`, {
      hint: 'use a number of bytes with an optional unit: 1048576, 512k, 256m, 1g (or -1 for unlimited)',
    });
  }
  if (m[1] === '-1') return -1;
  return Math.round(Number(m[1]) * unit);
}

