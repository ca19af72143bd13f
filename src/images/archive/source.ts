/**
 * What every image source (a registry, the local store, an OCI layout or archive, a
 * docker-archive) offers the writers: its images — manifest, config and layer descriptors,
 * already parsed and checked against their digests — and a way to stream any blob. Blob
 * streams come unverified from the source; `openVerified` puts a digest and size check in
 * front, which fails the stream (before its end is seen) when the bytes are not the ones the
 * descriptor names, so no destination ever publishes them.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { BerthError } from '../../core/errors';
import { DigestCounter, digestOf, parseDigest } from '../../content/digest';
import { MAX_CONFIG_BYTES, parseImageConfig, type ImageConfig } from '../config';
import { chainIds } from '../chain-id';
import { MAX_MANIFEST_BYTES, parseManifestDocument, type Descriptor, type ImageManifest } from '../manifest';
import { layerCompression } from '../media-types';

export interface SourceLayer {
  /** The blob as the source stores it (compressed or not). */
  descriptor: Descriptor;
  diffId: string;
  chainId: string;
  /** Size of the uncompressed tar, when the source knows it. */
  uncompressedSize?: number;
}

export interface SourceImage {
  /** Normalized references the source gives this image (may be empty). */
  names: string[];
  /** The index the image was reached through (a multi-platform image), if any. */
  index?: { descriptor: Descriptor; bytes: Buffer };
  manifest: { descriptor: Descriptor; bytes: Buffer; parsed: ImageManifest };
  config: { descriptor: Descriptor; bytes: Buffer; parsed: ImageConfig };
  layers: SourceLayer[];
  /** The manifest was made up by Berth (a docker-archive has none): its digest is not the source's. */
  synthesized: boolean;
}

export interface ImageSource {
  readonly what: string;
  readonly images: readonly SourceImage[];
  /** The raw bytes of a blob the images name (unverified). */
  openBlob(descriptor: Descriptor): Promise<Readable>;
  close(): Promise<void>;
}

/** Largest manifest.json / index.json / repositories file read from an archive. */
export const MAX_ARCHIVE_JSON_BYTES = 8 * 1024 * 1024;

/**
 * A transform that passes bytes through and fails unless they hash to `expected.digest`
 * (and, when given, have `expected.size` bytes: more is refused as soon as it arrives).
 */
export function digestVerifier(expected: { digest: string; size?: number }, what: string): Transform {
  const counter = new DigestCounter(parseDigest(expected.digest).algorithm);
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      counter.update(chunk);
      if (expected.size !== undefined && counter.bytes > expected.size) {
        done(new BerthError('EDIGEST', `${what} is larger than its descriptor says (${expected.size} bytes)`, { hint: 'the source is corrupt or was tampered with; nothing was written' }));
        return;
      }
      done(null, chunk);
    },
    flush(done: TransformCallback) {
      if (expected.size !== undefined && counter.bytes !== expected.size) {
        done(new BerthError('EDIGEST', `${what} is ${counter.bytes} bytes, but its descriptor says ${expected.size}`, { hint: 'the source is truncated or corrupt; nothing was written' }));
        return;
      }
      const actual = counter.digest();
      if (actual !== expected.digest) {
        done(new BerthError('EDIGEST', `${what} does not match its digest: expected ${expected.digest}, got ${actual}`, { hint: 'the source is corrupt or was tampered with; nothing was written' }));
        return;
      }
      done();
    },
  });
}

/** Opens a blob of `source` with the digest check in front. */
export async function openVerified(source: ImageSource, d: Descriptor): Promise<Readable> {
  const raw = await source.openBlob(d);
  const verifier = digestVerifier(d, `blob ${d.digest} from ${source.what}`);
  raw.on('error', (e) => verifier.destroy(e));
  // Consumers listen for errors while they read; one that arrives after a consumer gave up
  // (its pipeline failed on another stage first) must not become an uncaught exception.
  verifier.on('error', () => undefined);
  return raw.pipe(verifier);
}

/** Reads a small blob whole and checks its digest. */
export async function readVerified(source: Pick<ImageSource, 'openBlob' | 'what'>, d: Descriptor, maxBytes: number): Promise<Buffer> {
  if (d.size > maxBytes) throw new BerthError('ELIMIT', `blob ${d.digest} in ${source.what} is ${d.size} bytes, over the ${maxBytes}-byte limit for it`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of (await source.openBlob(d)) as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > maxBytes) throw new BerthError('ELIMIT', `blob ${d.digest} in ${source.what} is over the ${maxBytes}-byte limit for it`);
    chunks.push(c);
  }
  const bytes = Buffer.concat(chunks);
  checkBytes(bytes, d, `blob ${d.digest} in ${source.what}`);
  return bytes;
}

export function checkBytes(bytes: Buffer, d: Pick<Descriptor, 'digest' | 'size'>, what: string): void {
  const actual = digestOf(bytes, parseDigest(d.digest).algorithm);
  if (actual !== d.digest || bytes.length !== d.size) {
    throw new BerthError('EDIGEST', `${what} does not match its descriptor: expected ${d.digest} (${d.size} bytes), got ${actual} (${bytes.length} bytes)`, {
      hint: 'the source is corrupt or was tampered with; nothing was written',
    });
  }
}

/**
 * Builds a SourceImage from a manifest (bytes verified by the caller) whose config is read
 * through `readBlob`: parses both, checks that the config lists one diff_id per layer and
 * that every layer has a media type Berth can unpack.
 */
export async function imageFromManifest(
  src: Pick<ImageSource, 'openBlob' | 'what'>,
  manifest: { descriptor: Descriptor; bytes: Buffer },
  names: string[],
  index?: { descriptor: Descriptor; bytes: Buffer },
): Promise<SourceImage> {
  const what = `${src.what} (manifest ${manifest.descriptor.digest})`;
  const doc = parseManifestDocument(manifest.bytes, manifest.descriptor.mediaType, what);
  if (doc.kind !== 'manifest') throw new BerthError('EUNSUPPORTED', `${what} is an index nested in an index; Berth reads one level`);
  const cfgDesc = doc.manifest.config;
  const configBytes = await readVerified(src, cfgDesc, MAX_CONFIG_BYTES);
  const config = parseImageConfig(configBytes, what);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== doc.manifest.layers.length) {
    throw new BerthError('EBAD_ARCHIVE', `${what}: the manifest lists ${doc.manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`);
  }
  const chains = chainIds(diffIds);
  const layers = doc.manifest.layers.map((d, i): SourceLayer => {
    if (layerCompression(d.mediaType) === undefined) throw new BerthError('EUNSUPPORTED', `${what}: layer ${d.digest} has media type "${d.mediaType}", which is not a layer type Berth can unpack`);
    return { descriptor: d, diffId: diffIds[i]!, chainId: chains[i]! };
  });
  return {
    names,
    ...(index ? { index } : {}),
    manifest: { descriptor: { ...manifest.descriptor, mediaType: doc.mediaType }, bytes: manifest.bytes, parsed: doc.manifest },
    config: { descriptor: cfgDesc, bytes: configBytes, parsed: config },
    layers,
    synthesized: false,
  };
}

export { MAX_MANIFEST_BYTES };
