/**
 * Berth's registry settings file (default `/etc/berth/registries.json`), in the shape of
 * docker's daemon.json keys: `{"insecure-registries": ["host:5000"]}`. Missing file: defaults.
 */
import { readFile } from 'node:fs/promises';
import { BerthError, errnoCode } from '../../core/errors';

export const DEFAULT_REGISTRIES_CONFIG = '/etc/berth/registries.json';

export interface RegistriesConfig {
  insecureRegistries: string[];
}

export async function readRegistriesConfig(file = DEFAULT_REGISTRIES_CONFIG): Promise<RegistriesConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { insecureRegistries: [] };
    throw e;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new BerthError('EINVALID_CONFIG', `${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const list = (v as { 'insecure-registries'?: unknown })?.['insecure-registries'] ?? [];
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    throw new BerthError('EINVALID_CONFIG', `${file}: "insecure-registries" must be a list of host[:port] strings`);
  }
  return { insecureRegistries: list as string[] };
}
