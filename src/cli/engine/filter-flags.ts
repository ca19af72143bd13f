/**
 * `--filter KEY=VALUE` (repeatable) into the engine's filter map, the shape the Docker API's
 * `filters` parameter has. Each listing treats a value without "=" as docker's CLI does.
 */
import { BerthError } from '../../core/errors';
import { addFilter, type FilterArgs } from '../../engine/query';
import { parseKeyValue } from '../../engine/parse/values';

/**
 * `bare` says what "KEY" alone is: refused with a usage hint (`ps`), the key with an empty
 * value (`images --filter dangling` is then refused by the engine), or an invalid --filter
 * value (`volume ls`).
 */
export function filterArgsFromFlags(flags: readonly string[], bare: 'refuse' | 'empty-value' | 'invalid-value'): FilterArgs {
  const filters: FilterArgs = {};
  for (const raw of flags) {
    const i = raw.indexOf('=');
    if (bare === 'invalid-value') {
      const [k, v] = parseKeyValue('--filter', raw);
      addFilter(filters, k, v);
    } else if (i <= 0 && bare === 'refuse') {
      throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${raw}"`, { hint: 'use KEY=VALUE, e.g. status=exited' });
    } else if (i < 0) {
      addFilter(filters, raw, '');
    } else {
      addFilter(filters, raw.slice(0, i), raw.slice(i + 1));
    }
  }
  return filters;
}
