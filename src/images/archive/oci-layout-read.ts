/**
 * Reads an OCI image layout (image-spec "image-layout.md"): `oci-layout`, `index.json` and
 * content-addressed `blobs/<alg>/<hex>`, in a directory or a tar (oci-archive, and the
 * layout newer `docker save` writes). Every document read is checked against its digest.
 *
 * Names: an index entry's `io.containerd.image.name` annotation is a full reference (what
 * docker and containerd write); `org.opencontainers.image.ref.name` is, by the spec, any
 * string — docker writes a bare tag ("latest"), skopeo whatever follows `oci:DIR:` — so it
 * names the image only when it looks like a reference (has a "/" or ":"); otherwise it is
 * only a way to pick the entry (`oci:DIR:REF`).
 *
 * An entry that is an index (a multi-platform image) yields the manifest for the wanted
 * platform among those whose blobs the layout holds (docker saves only the host's).
 */
import { BerthError } from '../../core/errors';
import { parseDigest } from '../../content/digest';
import { MAX_MANIFEST_BYTES, imageEntries, parseManifestDocument, selectManifest, type Descriptor, type ImageIndex } from '../manifest';
import { MediaType, isIndexType, isManifestType } from '../media-types';
import { hostPlatform, type Platform } from '../platform';
import { formatReference, parseReference } from '../reference';
import type { LayoutFiles } from './files';
import { MAX_ARCHIVE_JSON_BYTES, checkBytes, imageFromManifest, type ImageSource, type SourceImage } from './source';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export function blobPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** The reference an index entry names, if it names one (see the file comment). */
export function entryName(d: Descriptor): string | undefined {
  const full = d.annotations?.[CONTAINERD_NAME_ANNOTATION];
  const ref = d.annotations?.[REF_NAME_ANNOTATION];
  for (const candidate of [full, ref && /[/:]/.test(ref) ? ref : undefined]) {
    if (!candidate) continue;
    try {
      const r = parseReference(candidate);
      if (!r.digest) return formatReference(r);
    } catch {
      // not a reference: it only selects the entry
    }
  }
  return undefined;
}

/** Whether `ref` (from `oci:DIR:REF`) selects this entry. */
function entryMatches(d: Descriptor, ref: string): boolean {
  if (d.annotations?.[REF_NAME_ANNOTATION] === ref) return true;
  try {
    const want = formatReference(parseReference(ref));
    return entryName(d) === want;
  } catch {
    return false;
  }
}

export interface ReadLayoutOptions {
  /** Only the entry this reference selects (`oci:DIR:REF`). */
  ref?: string;
  /** For multi-platform entries (default: the host's). */
  platform?: Platform;
}

/** Checks `oci-layout` and reads `index.json`. */
export async function readLayoutIndex(files: LayoutFiles): Promise<ImageIndex> {
  if (!(await files.exists('oci-layout'))) {
    throw new BerthError('EBAD_ARCHIVE', `${files.what} is not an OCI image layout (it has no oci-layout file)`);
  }
  let version: unknown;
  try {
    version = (JSON.parse((await files.read('oci-layout', 64 * 1024)).toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (e) {
    if (e instanceof BerthError) throw e;
    throw new BerthError('EBAD_ARCHIVE', `${files.what}: oci-layout is not valid JSON`, { cause: e });
  }
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw new BerthError('EUNSUPPORTED', `${files.what}: image layout version ${JSON.stringify(version)} is not supported (Berth reads 1.x)`);
  }
  const bytes = await files.read('index.json', Math.min(MAX_ARCHIVE_JSON_BYTES, MAX_MANIFEST_BYTES));
  const doc = parseManifestDocument(bytes, MediaType.ociIndex, `${files.what} index.json`);
  if (doc.kind !== 'index') throw new BerthError('EBAD_ARCHIVE', `${files.what}: index.json is not an image index`);
  return doc.index;
}

/** Reads the layout's images; the source owns `files` (closed by its close(), or here on failure). */
export async function readOciLayout(files: LayoutFiles, opts: ReadLayoutOptions = {}): Promise<ImageSource> {
  try {
    return await readImages(files, opts);
  } catch (e) {
    await files.close();
    throw e;
  }
}

async function readImages(files: LayoutFiles, opts: ReadLayoutOptions): Promise<ImageSource> {
  const index = await readLayoutIndex(files);
  let entries = index.manifests.filter((d) => isManifestType(d.mediaType) || isIndexType(d.mediaType));
  if (opts.ref !== undefined) {
    const ref = opts.ref;
    entries = entries.filter((d) => entryMatches(d, ref));
    if (entries.length === 0) {
      const known = index.manifests.map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((r): r is string => r !== undefined);
      throw new BerthError('ENOT_FOUND', `${files.what} has no image named "${ref}"`, { hint: known.length ? `it has: ${known.join(', ')}` : 'its images have no names' });
    }
    if (entries.length > 1) throw new BerthError('EBAD_ARCHIVE', `${files.what} has ${entries.length} images named "${ref}"`);
  }
  const source: Pick<ImageSource, 'openBlob' | 'what'> = {
    what: files.what,
    openBlob: (d) => files.open(blobPath(d.digest)),
  };
  const images: SourceImage[] = [];
  for (const d of entries) {
    const names = [entryName(d)].filter((n): n is string => n !== undefined);
    const bytes = await readBlob(files, d);
    if (isManifestType(d.mediaType)) {
      images.push(await imageFromManifest(source, { descriptor: stripAnnotations(d), bytes }, names));
      continue;
    }
    const child = parseManifestDocument(bytes, d.mediaType, `${files.what} (index ${d.digest})`);
    if (child.kind !== 'index') throw new BerthError('EBAD_ARCHIVE', `${files.what}: ${d.digest} is listed as an index but is a manifest`);
    const present: Descriptor[] = [];
    for (const m of imageEntries(child.index)) if (await files.exists(blobPath(m.digest))) present.push(m);
    const chosen = selectManifest({ ...child.index, manifests: present }, opts.platform ?? hostPlatform(), `${files.what} (index ${d.digest})`);
    const manifestBytes = await readBlob(files, chosen);
    images.push(await imageFromManifest(source, { descriptor: chosen, bytes: manifestBytes }, names, { descriptor: stripAnnotations(d), bytes }));
  }
  return { what: files.what, images, openBlob: source.openBlob, close: () => files.close() };
}

async function readBlob(files: LayoutFiles, d: Descriptor): Promise<Buffer> {
  const path = blobPath(d.digest);
  if (!(await files.exists(path))) throw new BerthError('EBAD_ARCHIVE', `${files.what} lacks blob ${d.digest}`, { hint: 'the layout is incomplete' });
  const bytes = await files.read(path, MAX_MANIFEST_BYTES);
  checkBytes(bytes, d, `${files.what} blob ${d.digest}`);
  return bytes;
}

/** The descriptor without the layout's own annotations (names), as a record keeps it. */
function stripAnnotations(d: Descriptor): Descriptor {
  const { annotations: _a, ...rest } = d;
  return rest;
}
