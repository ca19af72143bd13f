/**
 * Manifests and indexes (OCI image spec and Docker v2 schema 2), parsed from bytes with
 * their structure checked, and the choice of one manifest for a platform from an index.
 * Docker schema 1 is refused with a message saying so: it is deprecated, unsigned content
 * addressing does not hold for it, and registries convert on request anyway.
 */
import { z } from 'zod';
import { BerthError } from '../core/errors';
import { isDigest } from '../content/digest';
import { MediaType, isIndexType, isManifestType, isSchema1Type } from './media-types';
import { formatPlatform, platformScore, type Platform } from './platform';

/** Largest manifest or index we read: real ones are a few KiB; this bounds memory. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const digestSchema = z.string().refine(isDigest, { message: 'not a valid sha256/sha512 digest' });
const platformSchema = z.object({
  os: z.string(),
  architecture: z.string(),
  variant: z.string().optional(),
  'os.version': z.string().optional(),
  'os.features': z.array(z.string()).optional(),
});
const descriptorSchema = z.object({
  mediaType: z.string().min(1),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string()).optional(),
  platform: platformSchema.optional(),
  artifactType: z.string().optional(),
  data: z.string().optional(),
});
const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string()).optional(),
});
const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(descriptorSchema),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string()).optional(),
});

export type Descriptor = z.infer<typeof descriptorSchema>;
export type ImageManifest = z.infer<typeof manifestSchema>;
export type ImageIndex = z.infer<typeof indexSchema>;

export type ManifestDocument =
  | { kind: 'index'; mediaType: string; index: ImageIndex }
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest };

/**
 * Parses a manifest or index. `contentType` is the registry's Content-Type (or a descriptor's
 * mediaType); the document's own `mediaType` field wins when present. `what` names the
 * document in errors (reference or digest and registry).
 */
export function parseManifestDocument(bytes: Buffer, contentType: string | undefined, what: string): ManifestDocument {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new BerthError('ELIMIT', `manifest of ${what} is ${bytes.length} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new BerthError('EREGISTRY', `manifest of ${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BerthError('EREGISTRY', `manifest of ${what} is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const header = contentType?.split(';')[0]?.trim();
  const declared = typeof obj['mediaType'] === 'string' ? (obj['mediaType'] as string) : undefined;
  if (obj['schemaVersion'] === 1 || isSchema1Type(declared ?? '') || isSchema1Type(header ?? '')) {
    throw new BerthError('EUNSUPPORTED', `${what} is a Docker schema 1 manifest, which Berth does not support`, {
      hint: 'schema 1 is deprecated; push the image again with a current tool (docker, podman or "skopeo copy" convert it to schema 2/OCI)',
    });
  }
  let mediaType = declared ?? (header && (isIndexType(header) || isManifestType(header)) ? header : undefined);
  if (!mediaType) {
    // Neither the document nor the server says: an OCI document without mediaType is allowed.
    mediaType = 'manifests' in obj ? MediaType.ociIndex : MediaType.ociManifest;
  }
  if (isIndexType(mediaType)) {
    const r = indexSchema.safeParse(obj);
    if (!r.success) throw structureError(what, 'index', r.error);
    return { kind: 'index', mediaType, index: r.data };
  }
  if (isManifestType(mediaType)) {
    const r = manifestSchema.safeParse(obj);
    if (!r.success) throw structureError(what, 'manifest', r.error);
    return { kind: 'manifest', mediaType, manifest: r.data };
  }
  throw new BerthError('EUNSUPPORTED', `${what} has media type "${mediaType}", which is not an image manifest or index`, {
    hint: 'it may be an artifact (a Helm chart, a signature, ...) rather than a container image',
  });
}

function structureError(what: string, kind: string, err: z.ZodError): BerthError {
  const problems = err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(document)'}: ${i.message}`);
  return new BerthError('EREGISTRY', `${kind} of ${what} is malformed: ${problems.join('; ')}`);
}

/** Index entries that are not runnable images (attestations, signatures) carry unknown/unknown. */
function isImageEntry(d: Descriptor): boolean {
  return isManifestType(d.mediaType) && !(d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}

/** The index entries that are images, with their platforms, for listings and `pull -a`. */
export function imageEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter(isImageEntry);
}

/**
 * Picks the manifest for `want` from an index: the best-scoring platform, the first one on
 * ties (index order is the publisher's preference). The error lists what the index offers.
 */
export function selectManifest(index: ImageIndex, want: Platform, what: string): Descriptor {
  let best: { d: Descriptor; score: number } | undefined;
  for (const d of imageEntries(index)) {
    if (!d.platform) continue;
    const score = platformScore(want, d.platform);
    if (score !== undefined && (!best || score < best.score)) best = { d, score };
  }
  if (best) return best.d;
  const offered = imageEntries(index)
    .map((d) => (d.platform ? formatPlatform(d.platform) : '(no platform)'))
    .join(', ');
  throw new BerthError('ENOT_FOUND', `${what} has no image for platform ${formatPlatform(want)}`, {
    hint: offered ? `it offers: ${offered}; choose one with --platform` : 'the index lists no images',
  });
}
