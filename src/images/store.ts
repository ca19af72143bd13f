/**
 * Image records: which names point at which image. One JSON document,
 * `<root>/images/images.json`, maps each normalized name (`docker.io/library/busybox:latest`,
 * or `host/repo@sha256:...` for an image pulled by digest) to the descriptor that was pulled
 * (manifest or index), the manifest chosen for the platform, its config (the IMAGE ID) and
 * layers. It also remembers uncompressed layer sizes (by diff_id) as pulls learn them.
 *
 * Readers take the file as it is (it is replaced atomically); writers hold an flock on
 * `images/lock` around read-modify-write, so concurrent `pull`, `tag` and `rmi` in different
 * processes do not lose each other's updates.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError, errnoCode } from '../core/errors';
import { acquireLock } from '../core/lock';
import { writeFileAtomic } from '../core/fs-atomic';
import { isDigest } from '../content/digest';
import type { Descriptor } from './manifest';
import type { Platform } from './platform';
import { familiarName, formatReference, parseReference, repositoryName, type ImageReference } from './reference';
import { compareStrings } from '../core/compare';

export interface LayerRecord {
  digest: string;
  mediaType: string;
  /** Compressed size (the blob). */
  size: number;
  diffId: string;
  chainId: string;
}

export interface ImageRecord {
  /**
   * Normalized reference: with a tag, or with only a digest (pulled by digest / left
   * untagged); or the image id itself (`sha256:<hex>`) for an image that never had a
   * repository name (imported, loaded or committed without one; docker's `<none>:<none>`).
   */
  name: string;
  /** What the name resolved to in the registry: an index or a manifest. */
  target: Descriptor;
  /** The manifest for this platform (equal to target for single-platform images). */
  manifest: Descriptor;
  config: Descriptor;
  /** IMAGE ID: the config digest, as docker. */
  id: string;
  platform: Platform;
  /** The config's `created`, if set. */
  created?: string;
  layers: LayerRecord[];
  /** When this name was (re)recorded. */
  recordedAt: string;
}

export interface ImageSummary {
  id: string;
  /** Tagged names, familiar form (`busybox:latest`). */
  repoTags: string[];
  /** `repo@digest` of the pulled manifest/index per repository, familiar form. */
  repoDigests: string[];
  created?: string;
  /** Compressed: config plus layer blobs. */
  size: number;
  /** Sum of the layers' uncompressed sizes, when all are known. */
  unpackedSize?: number;
  /** No tag points at it any more. */
  dangling: boolean;
  records: ImageRecord[];
}

interface StoreFile {
  version: 1;
  images: Record<string, ImageRecord>;
  diffSizes: Record<string, number>;
}

const EMPTY: StoreFile = { version: 1, images: {}, diffSizes: {} };

export class ImageStore {
  readonly dir: string;
  private readonly file: string;

  constructor(stateRoot: string) {
    this.dir = join(stateRoot, 'images');
    this.file = join(this.dir, 'images.json');
  }

  async list(): Promise<ImageRecord[]> {
    return Object.values((await this.read()).images).sort((a, b) => compareStrings(a.name, b.name));
  }

  async get(name: string): Promise<ImageRecord | undefined> {
    return (await this.read()).images[name];
  }

  /** Uncompressed sizes learned so far, by diff_id. */
  async diffSizes(): Promise<Record<string, number>> {
    return (await this.read()).diffSizes;
  }

  /**
   * Finds an image as the CLI's IMAGE argument means it: a name (`busybox`, `busybox:1.36`,
   * `repo@sha256:...`), an image id (`sha256:<hex>`, or a unique prefix of the hex of at
   * least 4 characters), or a manifest/index digest.
   */
  async resolve(query: string): Promise<ImageRecord> {
    const images = Object.values((await this.read()).images);
    const byId = (id: string): ImageRecord | undefined => images.find((r) => r.id === id);
    if (isDigest(query)) {
      const hit = byId(query) ?? images.find((r) => r.target.digest === query || r.manifest.digest === query);
      if (hit) return hit;
      throw notFound(query);
    }
    if (/^[0-9a-f]{4,64}$/.test(query)) {
      const ids = [...new Set(images.filter((r) => r.id.slice(r.id.indexOf(':') + 1).startsWith(query)).map((r) => r.id))];
      if (ids.length === 1) return byId(ids[0]!)!;
      if (ids.length > 1) {
        throw new BerthError('EINVALID_ARGUMENT', `image id prefix "${query}" is ambiguous: it matches ${ids.length} images`, { hint: 'give more characters of the id' });
      }
    }
    let ref: ImageReference;
    try {
      ref = parseReference(query);
    } catch (e) {
      if (/^[0-9a-f]{4,64}$/.test(query)) throw notFound(query);
      throw e;
    }
    const direct = images.find((r) => r.name === formatReference(ref));
    if (direct) return direct;
    if (ref.digest) {
      // `name:tag@digest` or a repo@digest we know under a tag.
      const repo = repositoryName(ref);
      const hit = images.find((r) => nameRepository(r.name) === repo && (r.target.digest === ref.digest || r.manifest.digest === ref.digest));
      if (hit) return hit;
    }
    throw notFound(query);
  }

  /**
   * Records `record` under its name. When the name moves away from another image that no
   * other name keeps, that image stays listed as dangling under `repo@digest` (as docker
   * shows `<none>`), so it can be inspected and pruned. Returns the record it displaced.
   */
  async put(record: ImageRecord, diffSizes: Record<string, number> = {}): Promise<ImageRecord | undefined> {
    return this.mutate((f) => {
      const old = f.images[record.name];
      f.images[record.name] = record;
      // A name now names this image: its id-only record is subsumed.
      if (!isIdOnlyName(record.name) && f.images[record.id]?.name === record.id) delete f.images[record.id];
      // A tag now names this image: a dangling `repo@digest` record of it in the repository is subsumed.
      if (isTagged(record.name)) {
        const repo = nameRepository(record.name);
        for (const r of Object.values(f.images)) {
          if (r.id === record.id && !isTagged(r.name) && nameRepository(r.name) === repo && r.target.digest === record.target.digest) delete f.images[r.name];
        }
      }
      Object.assign(f.diffSizes, diffSizes);
      if (old && old.id !== record.id) keepDangling(f, old);
      return old;
    });
  }

  /** Adds `newName` for the image `query` resolves to (docker tag). */
  async tag(query: string, newName: string): Promise<ImageRecord> {
    const source = await this.resolve(query);
    const ref = parseReference(newName);
    if (ref.digest) throw new BerthError('EINVALID_REFERENCE', `cannot tag with a digest reference "${newName}"`, { hint: 'give a name with a tag, such as myrepo:1.0' });
    const record: ImageRecord = { ...source, name: formatReference(ref), recordedAt: new Date().toISOString() };
    await this.put(record);
    return record;
  }

  /**
   * Removes one name. Returns the removed record and whether its image has no names left
   * (then its content becomes garbage for the next GC).
   */
  async removeName(name: string): Promise<{ removed: ImageRecord; imageGone: boolean }> {
    return this.mutate((f) => {
      const key = f.images[name] ? name : safeNormalize(name);
      const removed = key ? f.images[key] : undefined;
      if (!removed || !key) throw notFound(name);
      delete f.images[key];
      // As docker: when the last tag goes, the image goes, with the digest names it has.
      const rest = Object.values(f.images).filter((r) => r.id === removed.id);
      const imageGone = rest.length === 0 || (isTagged(removed.name) && !rest.some((r) => isTagged(r.name)));
      if (imageGone) for (const r of rest) delete f.images[r.name];
      return { removed, imageGone };
    });
  }

  /** Removes every name of image `id`. */
  async removeImage(id: string): Promise<ImageRecord[]> {
    return this.mutate((f) => {
      const removed = Object.values(f.images).filter((r) => r.id === id);
      if (removed.length === 0) throw notFound(id);
      for (const r of removed) delete f.images[r.name];
      return removed;
    });
  }

  /** Images grouped by id, newest first, as `images` lists them. */
  async summaries(): Promise<ImageSummary[]> {
    const f = await this.read();
    const byId = new Map<string, ImageRecord[]>();
    for (const r of Object.values(f.images)) byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    const out: ImageSummary[] = [];
    for (const [id, records] of byId) {
      const first = records[0]!;
      const named = records.filter((r) => !isIdOnlyName(r.name));
      const repoTags = named.filter((r) => isTagged(r.name)).map((r) => familiarString(r.name)).sort();
      const repoDigests = [...new Set(named.map((r) => `${familiarName(parseReference(r.name))}@${r.target.digest}`))].sort();
      const sizes = first.layers.map((l) => f.diffSizes[l.diffId]);
      const summary: ImageSummary = {
        id,
        repoTags,
        repoDigests,
        size: first.config.size + first.layers.reduce((n, l) => n + l.size, 0),
        dangling: repoTags.length === 0,
        records,
      };
      if (first.created) summary.created = first.created;
      if (sizes.every((s) => s !== undefined)) summary.unpackedSize = (sizes as number[]).reduce((a, b) => a + b, 0);
      out.push(summary);
    }
    return out.sort((a, b) => compareStrings(b.created ?? '', a.created ?? '') || compareStrings(a.id, b.id));
  }

  /** Content-store GC roots: every descriptor a record points at (minus images `excludeIds`). */
  async gcRoots(excludeIds: ReadonlySet<string> = new Set()): Promise<string[]> {
    const roots = new Set<string>();
    for (const r of Object.values((await this.read()).images)) {
      if (excludeIds.has(r.id)) continue;
      roots.add(r.target.digest);
      roots.add(r.manifest.digest);
      roots.add(r.config.digest);
      for (const l of r.layers) roots.add(l.digest);
    }
    return [...roots];
  }

  private async read(): Promise<StoreFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return structuredClone(EMPTY);
      throw e;
    }
    try {
      const v = JSON.parse(text) as StoreFile;
      if (v.version !== 1 || typeof v.images !== 'object') throw new Error('unknown format');
      v.diffSizes ??= {};
      return v;
    } catch (e) {
      throw new BerthError('EINVALID_CONFIG', `image records ${this.file} are unreadable: ${(e as Error).message}`, { cause: e });
    }
  }

  private async mutate<T>(fn: (f: StoreFile) => T): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(join(this.dir, 'lock'));
    try {
      const f = await this.read();
      const result = fn(f);
      await writeFileAtomic(this.file, JSON.stringify(f, null, 1));
      return result;
    } finally {
      lock.release();
    }
  }
}

function keepDangling(f: StoreFile, old: ImageRecord): void {
  if (Object.values(f.images).some((r) => r.id === old.id)) return;
  if (isIdOnlyName(old.name)) {
    f.images[old.name] = old;
    return;
  }
  const name = `${nameRepository(old.name)}@${old.target.digest}`;
  f.images[name] = { ...old, name };
}

/** `docker.io/library/busybox` of `docker.io/library/busybox:latest` or `...@sha256:...`. */
function nameRepository(name: string): string {
  if (isIdOnlyName(name)) return '';
  const r = parseReference(name, { defaultTag: false });
  return repositoryName(r);
}

function isTagged(name: string): boolean {
  return !isIdOnlyName(name) && parseReference(name, { defaultTag: false }).tag !== undefined;
}

/**
 * Whether a record name is an image id: the record of an image without any repository name.
 * (A reference never looks like `sha256:<hex>`: that would be repository "sha256" with a
 * 64-character tag, and `formatReference` always adds the domain.)
 */
export function isIdOnlyName(name: string): boolean {
  return isDigest(name);
}

/** The reference a record name stands for, or undefined for an id-only record. */
export function recordReference(name: string): ImageReference | undefined {
  return isIdOnlyName(name) ? undefined : parseReference(name, { defaultTag: false });
}

/** What to show for a record name: `busybox:latest`, `host/repo@sha256:...`, or the image id. */
export function recordDisplayName(name: string): string {
  const r = recordReference(name);
  return r ? familiarName(r) + (r.tag ? `:${r.tag}` : r.digest ? `@${r.digest}` : '') : name;
}

function familiarString(name: string): string {
  const r = parseReference(name, { defaultTag: false });
  return familiarName(r) + (r.tag ? `:${r.tag}` : '');
}

function safeNormalize(name: string): string | undefined {
  try {
    return formatReference(parseReference(name));
  } catch {
    return undefined;
  }
}

function notFound(query: string): BerthError {
  return new BerthError('ENOT_FOUND', `no such image: ${query}`, { hint: 'list local images with "berth images", or pull it first' });
}
