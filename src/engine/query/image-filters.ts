/**
 * Which images a listing shows: docker's image filters (dangling, reference, before, since)
 * over the summaries, as `docker images` and `GET /images/json` both apply them.
 */
import { BerthError } from '../../core/errors';
import type { ImageSummary } from '../../images/store';
import { filterPairs, type FilterArgs } from './filters';

/** Whether a REPO:TAG matches a reference filter (a glob over REPO:TAG or REPO). */
export function referenceMatcher(pattern: string): (repoTag: string) => boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.')}$`);
  return (t) => re.test(t) || re.test(t.slice(0, t.lastIndexOf(':')));
}

/** A predicate over summaries for `filters`; `all` is the whole list, for before/since. */
export function imageFilter(filters: FilterArgs | undefined, all: readonly ImageSummary[]): (s: ImageSummary) => boolean {
  const tests: Array<(s: ImageSummary) => boolean> = [];
  for (const [key, value] of filterPairs(filters)) {
    switch (key) {
      case 'dangling':
        if (value !== 'true' && value !== 'false') {
          throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${value === '' ? key : `${key}=${value}`}"`, { hint: 'use dangling=true or dangling=false' });
        }
        tests.push((s) => s.dangling === (value === 'true'));
        break;
      case 'reference': {
        const match = referenceMatcher(value);
        tests.push((s) => s.repoTags.some(match));
        break;
      }
      case 'before':
      case 'since': {
        const ref = all.find((s) => s.repoTags.includes(value) || s.id.includes(value) || s.repoTags.includes(`${value}:latest`));
        if (!ref) throw new BerthError('ENOT_FOUND', `No such image: ${value}`, { hint: `the ${key} filter needs an existing image` });
        const t = Date.parse(ref.created ?? '') || 0;
        tests.push((s) => (key === 'before' ? (Date.parse(s.created ?? '') || 0) < t : (Date.parse(s.created ?? '') || 0) > t));
        break;
      }
      case 'label':
        // Labels live in the config blobs; the summary does not carry them yet.
        throw new BerthError('EINVALID_ARGUMENT', 'the label filter is not supported for images yet', { hint: 'filter with reference=, dangling=, before= or since=' });
      default:
        throw new BerthError('EINVALID_ARGUMENT', `invalid filter "${key}"`, { hint: 'image filters: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE' });
    }
  }
  return (s) => tests.every((t) => t(s));
}

/** The summaries `filters` leave, in the store's order. */
export function listImages(summaries: readonly ImageSummary[], filters?: FilterArgs): ImageSummary[] {
  return summaries.filter(imageFilter(filters, summaries));
}

/** An image's size as listings and inspect report it: unpacked when known, else compressed. */
export function imageSize(s: Pick<ImageSummary, 'size' | 'unpackedSize'>): number {
  return s.unpackedSize ?? s.size;
}
