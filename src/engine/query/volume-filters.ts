/**
 * docker's volume filters (dangling, name, label, driver) as the volume service applies them,
 * from the API's filter map; `volume ls`, `volume prune` and `GET /volumes` share them.
 */
import { BerthError } from '../../core/errors';
import type { VolumeFilter } from '../volumes/service';
import { filterPairs, type FilterArgs } from './filters';

export function volumeFilter(filters: FilterArgs | undefined): VolumeFilter {
  const f: VolumeFilter = {};
  for (const [k, v] of filterPairs(filters)) {
    if (k === 'dangling') {
      if (!['true', 'false', '1', '0'].includes(v)) throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${k}=${v}"`, { hint: 'use dangling=true or dangling=false' });
      f.dangling = v === 'true' || v === '1';
    } else if (k === 'name') (f.name ??= []).push(v);
    else if (k === 'label') (f.label ??= []).push(v);
    else if (k === 'driver') (f.driver ??= []).push(v);
    else throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${k}"`, { hint: 'volume filters: dangling=true|false, name=, label=KEY[=VALUE], driver=' });
  }
  return f;
}
