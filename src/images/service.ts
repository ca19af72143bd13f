/**
 * The image use cases the `berth` commands map onto (pull, push, images, tag, rmi, inspect,
 * history, image prune, login/logout, system df, save, load, import, image copy), over one
 * state root:
 *   <root>/content/   blobs and ingests (ContentStore)
 *   <root>/images/    image records (ImageStore)
 *   <root>/tmp/       scratch space of archive operations (spooled input, decompressed layers)
 * Library code: it returns data and emits events; rendering is the caller's.
 */
import { BerthError } from '../core/errors';
import { ContentStore } from '../content/store';
import type { GcReport } from '../content/gc';
import { collectImageGarbage, diskUsage, type DiskUsage } from './gc';
import { imageHistory, readImageConfig, type HistoryLine } from './history';
import type { ImageConfig } from './config';
import { login, logout } from './login';
import { MAX_MANIFEST_BYTES, parseManifestDocument, type ImageManifest } from './manifest';
import { pull, pullAllTags, type PullOptions, type PullResult } from './pull';
import { push, type PushOptions, type PushResult } from './push';
import { RegistryClient, type RegistryClientOptions } from './registry/client';
import { DockerConfigCredentials, type Credentials } from './registry/credentials';
import { ImageStore, recordDisplayName, recordReference, type ImageRecord, type ImageSummary } from './store';
import { createImage, type CreateImageOptions, type CreatedImage } from './create';
import { imageCopy, type CopyOptions, type CopyResult } from './archive/copy';
import { importRootfs, type ImportInput, type ImportOptions } from './archive/import';
import type { ArchiveInput } from './archive/input';
import { loadImages, type LoadOptions } from './archive/load';
import type { LoadedImage } from './archive/local-dest';
import { saveImages, type SaveOptions, type SavedImage } from './archive/save';
import type { ArchiveTarget } from './archive/tar-output';
import type { ImageLocation } from './archive/transport';
import { join } from 'node:path';

export const DEFAULT_ROOT = '/var/lib/berth';

export interface ImageServiceOptions {
  /** State root (default /var/lib/berth). */
  root?: string;
  /** docker-compatible credentials file (default $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  authFile?: string;
  /** Registries reachable without TLS verification / over plain HTTP (loopback always is). */
  insecureRegistries?: string[];
  registry?: Omit<RegistryClientOptions, 'credentials' | 'insecureRegistries'>;
}

export type ServicePullOptions = Omit<PullOptions, 'content' | 'images' | 'client'> & { allTags?: boolean };
export type ServicePushOptions = Omit<PushOptions, 'content' | 'images' | 'client'>;

export interface InspectResult {
  record: ImageRecord;
  config: ImageConfig;
  manifest: ImageManifest;
  /** Every name of the image (none for an image known only by its id). */
  names: string[];
}

export interface RemoveResult {
  /** Names removed, familiar form. */
  untagged: string[];
  /** Image ids whose last name went. */
  deleted: string[];
  gc: GcReport;
}

export class ImageService {
  readonly root: string;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly client: RegistryClient;

  constructor(readonly options: ImageServiceOptions = {}) {
    this.root = options.root ?? DEFAULT_ROOT;
    this.content = new ContentStore(this.root);
    this.images = new ImageStore(this.root);
    this.client = new RegistryClient({
      ...(options.registry ?? {}),
      credentials: new DockerConfigCredentials(options.authFile),
      insecureRegistries: options.insecureRegistries ?? [],
    });
  }

  /** Releases the HTTP connections kept alive. */
  close(): void {
    this.client.close();
  }

  /** `pull [-a] [--platform P] REF`: one result per tag pulled. */
  async pull(reference: string, opts: ServicePullOptions = {}): Promise<PullResult[]> {
    const { allTags, ...rest } = opts;
    const full: PullOptions = { ...rest, content: this.content, images: this.images, client: this.client };
    return allTags ? pullAllTags(reference, full) : [await pull(reference, full)];
  }

  async push(name: string, opts: ServicePushOptions = {}): Promise<PushResult> {
    return push(name, { ...opts, content: this.content, images: this.images, client: this.client });
  }

  /** `images`: grouped by image id, newest first. */
  async list(opts: { all?: boolean; danglingOnly?: boolean } = {}): Promise<ImageSummary[]> {
    const all = await this.images.summaries();
    if (opts.danglingOnly) return all.filter((s) => s.dangling);
    return all;
  }

  resolve(query: string): Promise<ImageRecord> {
    return this.images.resolve(query);
  }

  async inspect(query: string): Promise<InspectResult> {
    const record = await this.images.resolve(query);
    const config = await readImageConfig(this.content, record);
    const doc = parseManifestDocument(await this.content.readBlob(record.manifest.digest, MAX_MANIFEST_BYTES), record.manifest.mediaType, record.name);
    if (doc.kind !== 'manifest') throw new BerthError('EINTERNAL', `image record ${record.name} points at an index as its manifest`);
    const names = (await this.images.list()).filter((r) => r.id === record.id && recordReference(r.name) !== undefined).map((r) => r.name);
    return { record, config, manifest: doc.manifest, names };
  }

  history(query: string): Promise<HistoryLine[]> {
    return imageHistory(this.content, this.images, query);
  }

  tag(source: string, target: string): Promise<ImageRecord> {
    return this.images.tag(source, target);
  }

  /**
   * `rmi`: a name removes that name; an id removes the image, which needs `force` when it has
   * several names. An image whose last name goes is deleted and its content collected.
   * `inUse` lets the engine refuse images that containers use (unless forced).
   */
  async remove(queries: string[], opts: { force?: boolean; inUse?: (id: string) => boolean | Promise<boolean> } = {}): Promise<RemoveResult> {
    const untagged: string[] = [];
    const deleted: string[] = [];
    for (const q of queries) {
      const record = await this.images.resolve(q);
      const byName = isNameQuery(q, record);
      const names = (await this.images.list()).filter((r) => r.id === record.id);
      // One name of several only untags: the image stays for its containers (as docker).
      const untagOnly = byName && names.length > 1;
      if (!untagOnly && (await opts.inUse?.(record.id)) && !opts.force) {
        throw new BerthError('ESTATE', `image ${q} (${record.id.slice(7, 19)}) is used by a container`, { hint: 'remove the container first, or use --force' });
      }
      if (byName) {
        const { removed, imageGone } = await this.images.removeName(record.name);
        untagged.push(recordDisplayName(removed.name));
        if (imageGone) deleted.push(removed.id);
        continue;
      }
      const tagged = names.filter((r) => recordReference(r.name)?.tag !== undefined);
      if (tagged.length > 1 && !opts.force) {
        throw new BerthError('ESTATE', `image ${q} is referenced by ${tagged.length} names (${tagged.map((r) => recordDisplayName(r.name)).join(', ')})`, {
          hint: 'remove it by name, or use --force to remove all names',
        });
      }
      for (const r of await this.images.removeImage(record.id)) if (recordReference(r.name)) untagged.push(recordDisplayName(r.name));
      deleted.push(record.id);
    }
    const gc = await collectImageGarbage(this.content, this.images);
    return { untagged, deleted, gc };
  }

  /**
   * `image prune`: removes dangling images (with `all`, every image not `inUse`), then
   * collects unreferenced content and abandoned partial downloads. `dryRun` only reports.
   */
  async prune(opts: { all?: boolean; inUse?: (id: string) => boolean | Promise<boolean>; dryRun?: boolean } = {}): Promise<{ deleted: string[]; gc: GcReport }> {
    const victims: Awaited<ReturnType<typeof this.images.summaries>> = [];
    for (const s of await this.images.summaries()) if ((opts.all || s.dangling) && !(await opts.inUse?.(s.id))) victims.push(s);
    if (opts.dryRun) {
      const report = await collectImageGarbage(this.content, this.images, { dryRun: true, removeIngests: true, excludeIds: new Set(victims.map((v) => v.id)) });
      return { deleted: victims.map((v) => v.id), gc: report };
    }
    for (const v of victims) await this.images.removeImage(v.id).catch(() => undefined);
    const gc = await collectImageGarbage(this.content, this.images, { removeIngests: true });
    return { deleted: victims.map((v) => v.id), gc };
  }

  /** Content GC alone (`--dry-run` reports what would go). */
  gc(opts: { dryRun?: boolean; removeIngests?: boolean } = {}): Promise<GcReport> {
    return collectImageGarbage(this.content, this.images, opts);
  }

  df(): Promise<DiskUsage> {
    return diskUsage(this.content, this.images);
  }

  login(registry: string, credentials: Credentials, signal?: AbortSignal): Promise<{ registry: string; authFile: string }> {
    return login(registry, credentials, {
      ...(this.options.registry ?? {}),
      insecureRegistries: this.options.insecureRegistries ?? [],
      ...(this.options.authFile ? { authFile: this.options.authFile } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Scratch space of archive operations. */
  get tmpRoot(): string {
    return join(this.root, 'tmp');
  }

  /**
   * A new image from a base and layers (import, commit, build); see create.ts. Pass the
   * snapshotter's unpack sink as `sink` so the image can run at once.
   */
  createImage(opts: CreateImageOptions): Promise<CreatedImage> {
    return createImage(this, opts);
  }

  /** `save IMAGE... [-o FILE]`: a docker-archive (or oci-archive) of local images. */
  save(queries: string[], target: ArchiveTarget, opts: SaveOptions = {}): Promise<SavedImage[]> {
    return saveImages({ ...this.stores(), tmpRoot: this.tmpRoot }, queries, target, opts);
  }

  /** `load [-i FILE]`: every image of a docker-archive / OCI archive (plain, gzip, zstd). */
  load(input: ArchiveInput, opts: LoadOptions = {}): Promise<LoadedImage[]> {
    return loadImages({ ...this.stores(), tmpRoot: this.tmpRoot }, input, opts);
  }

  /** `import SOURCE [NAME]`: a rootfs tarball (file, stream, http(s) URL) as a one-layer image. */
  import(input: ImportInput, opts: ImportOptions = {}): Promise<CreatedImage> {
    return importRootfs(this, input, opts);
  }

  /** `image copy SRC DST` between docker://, oci:, oci-archive:, docker-archive:, berth: */
  copy(src: string | ImageLocation, dst: string | ImageLocation, opts: CopyOptions = {}): Promise<CopyResult> {
    return imageCopy({ ...this.stores(), client: this.client, tmpRoot: this.tmpRoot }, src, dst, opts);
  }

  private stores(): { content: ContentStore; images: ImageStore } {
    return { content: this.content, images: this.images };
  }

  logout(registry: string): Promise<boolean> {
    return logout(registry, this.options.authFile ? { authFile: this.options.authFile } : {});
  }
}

/** Whether the user named the image (rmi then removes just that name) rather than its id. */
function isNameQuery(query: string, record: ImageRecord): boolean {
  if (query.startsWith('sha256:') || query.startsWith('sha512:')) return false;
  if (/^[0-9a-f]{4,64}$/.test(query) && record.id.slice(record.id.indexOf(':') + 1).startsWith(query)) return false;
  return true;
}
