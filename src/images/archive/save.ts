/**
 * `save IMAGE...`: local images into one archive, docker-archive (default, what `docker
 * save` wrote up to Docker 24) or oci-archive. As in docker, a repository name without tag
 * saves every tagged image of the repository, a name saves that name, an image id saves the
 * image without names; images named several times are written once, with all their names.
 */
import { BerthError } from '../../core/errors';
import type { ArchiveEvent } from '../../core/events';
import type { ImageStores } from '../create';
import { formatReference, parseReference, repositoryName } from '../reference';
import { recordReference, type ImageRecord } from '../store';
import { writeDockerArchive } from './docker-archive-write';
import { localSource, type LocalImage } from './local-source';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION } from './oci-layout-read';
import { writeOciArchive } from './oci-layout-write';
import type { ArchiveTarget } from './tar-output';

export type ArchiveFormat = 'docker-archive' | 'oci-archive';

export interface SaveOptions {
  format?: ArchiveFormat;
  signal?: AbortSignal;
  onEvent?: (e: ArchiveEvent) => void;
}

export interface SavedImage {
  id: string;
  names: string[];
}

/** Which images (and under which names) `queries` mean. */
export async function resolveSaveQueries(stores: ImageStores, queries: readonly string[]): Promise<LocalImage[]> {
  if (queries.length === 0) throw new BerthError('EINVALID_ARGUMENT', 'save needs at least one image');
  const all = await stores.images.list();
  const byId = new Map<string, LocalImage>();
  const add = (record: ImageRecord, name: string | undefined): void => {
    const entry = byId.get(record.id) ?? { record, names: [] };
    if (name !== undefined && !entry.names.includes(name)) entry.names.push(name);
    byId.set(record.id, entry);
  };
  for (const q of queries) {
    const bare = bareRepository(q);
    const tagged = bare ? all.filter((r) => recordReference(r.name)?.tag !== undefined && repositoryName(recordReference(r.name)!) === bare) : [];
    if (tagged.length > 0) {
      for (const r of tagged) add(r, r.name);
      continue;
    }
    const record = await stores.images.resolve(q);
    add(record, recordReference(record.name)?.tag !== undefined && !isIdQuery(q, record) ? record.name : undefined);
  }
  return [...byId.values()];
}

/** `busybox` → `docker.io/library/busybox` (a repository without tag or digest), else undefined. */
function bareRepository(q: string): string | undefined {
  try {
    const r = parseReference(q, { defaultTag: false });
    return r.tag === undefined && r.digest === undefined ? repositoryName(r) : undefined;
  } catch {
    return undefined;
  }
}

function isIdQuery(q: string, record: ImageRecord): boolean {
  if (q === record.id) return true;
  return /^[0-9a-f]{4,64}$/.test(q) && record.id.slice(record.id.indexOf(':') + 1).startsWith(q);
}

export async function saveImages(deps: ImageStores & { tmpRoot: string }, queries: readonly string[], target: ArchiveTarget, opts: SaveOptions = {}): Promise<SavedImage[]> {
  return deps.content.withLease(async () => {
    const wanted = await resolveSaveQueries(deps, queries);
    const source = await localSource(deps, wanted);
    const ev = opts.onEvent ? { onEvent: opts.onEvent } : {};
    if ((opts.format ?? 'docker-archive') === 'docker-archive') {
      await writeDockerArchive(target, source, source.images.map((image) => ({ image, names: image.names })), { tmpRoot: deps.tmpRoot, ...ev });
    } else {
      const entries = source.images.flatMap((image) => {
        if (image.names.length === 0) return [{ image, annotations: {} }];
        return image.names.map((n) => {
          const r = parseReference(n);
          return { image, annotations: { [CONTAINERD_NAME_ANNOTATION]: formatReference(r), ...(r.tag ? { [REF_NAME_ANNOTATION]: r.tag } : {}) } };
        });
      });
      await writeOciArchive(target, source, entries, ev);
    }
    return source.images.map((i) => ({ id: i.config.descriptor.digest, names: i.names }));
  }, opts.signal ? { signal: opts.signal } : {});
}
