/**
 * Reads a docker-archive (`docker save`, skopeo `docker-archive:`): `manifest.json` lists
 * the images — `Config` (the config file; its digest is the image id), `RepoTags`, and
 * `Layers` (one tar per layer, bottom first, usually uncompressed, possibly gzip or zstd).
 * The format has no image manifest, so one is made up (OCI, layers as they are stored).
 *
 * Layer digests: an uncompressed layer's blob digest is its diff_id, so it is taken from the
 * config and checked while the layer is copied; a compressed one is hashed here once.
 * Paths in manifest.json are checked (paths.ts) before anything is opened.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { BerthError } from '../../core/errors';
import { digestOf } from '../../content/digest';
import { MAX_CONFIG_BYTES, parseImageConfig } from '../config';
import { chainIds } from '../chain-id';
import type { Descriptor } from '../manifest';
import { MediaType, layerMediaType, sniffCompression } from '../media-types';
import { formatReference, parseReference } from '../reference';
import type { LayoutFiles } from './files';
import { archivePath } from './paths';
import { MAX_ARCHIVE_JSON_BYTES, type ImageSource, type SourceImage, type SourceLayer } from './source';

const manifestJsonSchema = z.array(
  z.object({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullish(),
    Layers: z.array(z.string().min(1)),
    Parent: z.string().optional(),
    LayerSources: z.record(z.object({}).passthrough()).nullish(),
  }),
);

export type DockerManifestEntry = z.infer<typeof manifestJsonSchema>[number];

/** Parses manifest.json (size-limited, structure checked). */
export async function readManifestJson(files: LayoutFiles): Promise<DockerManifestEntry[]> {
  const bytes = await files.read('manifest.json', MAX_ARCHIVE_JSON_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new BerthError('EBAD_ARCHIVE', `${files.what}: manifest.json is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const r = manifestJsonSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
    throw new BerthError('EBAD_ARCHIVE', `${files.what}: manifest.json is malformed: ${problems.join('; ')}`);
  }
  for (const e of r.data) {
    archivePath(e.Config, `${files.what} manifest.json`);
    for (const l of e.Layers) archivePath(l, `${files.what} manifest.json`);
  }
  return r.data;
}

/** RepoTags → normalized references; a bad one fails the load, naming it. */
export function repoTagNames(entry: DockerManifestEntry, what: string): string[] {
  return (entry.RepoTags ?? []).map((t) => {
    try {
      const r = parseReference(t);
      if (r.digest) throw new Error('a digest is not a tag');
      return formatReference(r);
    } catch (e) {
      throw new BerthError('EBAD_ARCHIVE', `${what}: manifest.json names an image "${t}", which is not a valid image name: ${(e as Error).message}`, { cause: e });
    }
  });
}

export interface ReadDockerArchiveOptions {
  /** `name:tag` (one of RepoTags) or `@N` (the N-th image), from `docker-archive:FILE:REF`. */
  ref?: string;
}

/** Reads the archive's images; the source owns `files` (closed by its close(), or here on failure). */
export async function readDockerArchive(files: LayoutFiles, opts: ReadDockerArchiveOptions = {}): Promise<ImageSource> {
  try {
    return await readImages(files, opts);
  } catch (e) {
    await files.close();
    throw e;
  }
}

async function readImages(files: LayoutFiles, opts: ReadDockerArchiveOptions): Promise<ImageSource> {
  let entries = await readManifestJson(files);
  if (entries.length === 0) throw new BerthError('EBAD_ARCHIVE', `${files.what}: manifest.json lists no images`);
  if (opts.ref !== undefined) entries = [selectEntry(entries, opts.ref, files.what)];
  const pathOf = new Map<string, string>();
  const images: SourceImage[] = [];
  for (const entry of entries) {
    const img = await readEntry(files, entry);
    for (const l of img.layers) pathOf.set(l.descriptor.digest, l.path);
    images.push(img.image);
  }
  return {
    what: files.what,
    images,
    openBlob: async (d) => {
      const path = pathOf.get(d.digest);
      if (path === undefined) throw new BerthError('ENOT_FOUND', `${files.what} has no blob ${d.digest}`);
      return files.open(path);
    },
    close: () => files.close(),
  };
}

function selectEntry(entries: DockerManifestEntry[], ref: string, what: string): DockerManifestEntry {
  if (ref.startsWith('@')) {
    const n = Number(ref.slice(1));
    const e = Number.isInteger(n) && n >= 0 ? entries[n] : undefined;
    if (!e) throw new BerthError('ENOT_FOUND', `${what} has no image @${ref.slice(1)} (it has ${entries.length}, numbered from @0)`);
    return e;
  }
  const want = formatReference(parseReference(ref));
  const hits = entries.filter((e) => repoTagNames(e, what).includes(want));
  if (hits.length === 0) {
    const known = entries.flatMap((e) => e.RepoTags ?? []);
    throw new BerthError('ENOT_FOUND', `${what} has no image tagged "${ref}"`, { hint: known.length ? `it has: ${known.join(', ')}` : 'its images have no tags; select one with @N' });
  }
  return hits[0]!;
}

async function readEntry(files: LayoutFiles, entry: DockerManifestEntry): Promise<{ image: SourceImage; layers: { descriptor: Descriptor; path: string }[] }> {
  const configBytes = await files.read(entry.Config, MAX_CONFIG_BYTES);
  const configDigest = digestOf(configBytes);
  const what = `${files.what} (image ${configDigest})`;
  const config = parseImageConfig(configBytes, what);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== entry.Layers.length) {
    throw new BerthError('EBAD_ARCHIVE', `${what}: manifest.json lists ${entry.Layers.length} layers but the config lists ${diffIds.length} diff_ids`);
  }
  const chains = chainIds(diffIds);
  const located: { descriptor: Descriptor; path: string }[] = [];
  const layers: SourceLayer[] = [];
  for (const [i, path] of entry.Layers.entries()) {
    if (!(await files.exists(path))) {
      const foreign = entry.LayerSources?.[diffIds[i]!] ? ' (a foreign layer, which Berth does not fetch)' : '';
      throw new BerthError('EBAD_ARCHIVE', `${what}: layer ${path} is not in the archive${foreign}`);
    }
    const size = await files.size(path);
    const compression = sniffCompression(await files.head(path, 8));
    // Uncompressed: the blob digest is the diff_id (checked while copying). Compressed: hash it now.
    const digest = compression === 'none' ? diffIds[i]! : await hashFile(files, path);
    const descriptor: Descriptor = { mediaType: layerMediaType(compression, 'oci'), digest, size };
    located.push({ descriptor, path });
    layers.push({ descriptor, diffId: diffIds[i]!, chainId: chains[i]!, ...(compression === 'none' ? { uncompressedSize: size } : {}) });
  }
  const configDesc: Descriptor = { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length };
  const parsed = { schemaVersion: 2 as const, mediaType: MediaType.ociManifest, config: configDesc, layers: layers.map((l) => l.descriptor) };
  const manifestBytes = Buffer.from(JSON.stringify(parsed));
  return {
    image: {
      names: repoTagNames(entry, files.what),
      manifest: { descriptor: { mediaType: MediaType.ociManifest, digest: digestOf(manifestBytes), size: manifestBytes.length }, bytes: manifestBytes, parsed },
      config: { descriptor: configDesc, bytes: configBytes, parsed: config },
      layers,
      synthesized: true,
    },
    layers: located,
  };
}

async function hashFile(files: LayoutFiles, path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of (await files.open(path)) as AsyncIterable<Buffer>) h.update(c);
  return `sha256:${h.digest('hex')}`;
}
