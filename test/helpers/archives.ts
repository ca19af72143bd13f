/**
 * Fixtures for archive tests: small images held in memory as an ImageSource (layers as
 * plain or gzip tars), crafted docker-archives (manifest.json + files, optionally hostile),
 * and a reader of tar files into name → content maps.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { digestOf } from '../../src/content/digest';
import { MediaType } from '../../src/images/media-types';
import { imageFromManifest, type ImageSource, type SourceImage } from '../../src/images/archive/source';
import type { Descriptor } from '../../src/images/manifest';
import { makeTar, type TarEntry } from './images';

export interface MemoryImage {
  source: ImageSource;
  image: SourceImage;
  blobs: Map<string, Buffer>;
  /** The layer tars, uncompressed. */
  tars: Buffer[];
}

/** An image of `layers` (each a list of tar entries), layers gzip'd or not, with an OCI manifest. */
export async function memoryImage(layers: TarEntry[][], opts: { gzip?: boolean; names?: string[]; created?: string } = {}): Promise<MemoryImage> {
  const blobs = new Map<string, Buffer>();
  const tars: Buffer[] = [];
  const descs: Descriptor[] = [];
  for (const entries of layers) {
    const t = await makeTar(entries);
    tars.push(t);
    const blob = opts.gzip ? gzipSync(t) : t;
    blobs.set(digestOf(blob), blob);
    descs.push({ mediaType: opts.gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: digestOf(blob), size: blob.length });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: opts.created ?? '2024-05-01T12:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: tars.map((t) => digestOf(t)) },
      history: tars.map((_, i) => ({ created: '2024-05-01T12:00:00Z', created_by: `layer ${i}` })),
    }),
  );
  blobs.set(digestOf(config), config);
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.length }, layers: descs }));
  blobs.set(digestOf(manifest), manifest);
  const base = {
    what: 'memory',
    openBlob: async (d: Descriptor) => {
      const b = blobs.get(d.digest);
      if (!b) throw new Error(`no blob ${d.digest}`);
      return Readable.from([b]);
    },
  };
  const image = await imageFromManifest(base, { descriptor: { mediaType: MediaType.ociManifest, digest: digestOf(manifest), size: manifest.length }, bytes: manifest }, opts.names ?? []);
  return { source: { ...base, images: [image], close: async () => undefined }, image, blobs, tars };
}

/** Entries of a tar file or buffer: name → content (directories and links: empty), with types and link names. */
export async function readTarFile(data: Buffer | string): Promise<Map<string, { type: string; content: Buffer; linkname?: string; mode?: number; uid?: number }>> {
  const buf = typeof data === 'string' ? readFileSync(data) : data;
  const out = new Map<string, { type: string; content: Buffer; linkname?: string; mode?: number; uid?: number }>();
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const chunks: Buffer[] = [];
      body.on('data', (c: Buffer) => chunks.push(c));
      body.on('end', () => {
        out.set(header.name.replace(/\/$/, ''), {
          type: header.type ?? 'file',
          content: Buffer.concat(chunks),
          ...(header.linkname ? { linkname: header.linkname } : {}),
          ...(header.mode !== undefined ? { mode: header.mode } : {}),
          ...(header.uid !== undefined ? { uid: header.uid } : {}),
        });
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(buf);
  });
  return out;
}

/** A docker-archive with the given manifest.json entries and files (crafted as the test needs). */
export async function craftDockerArchive(manifest: unknown, files: TarEntry[]): Promise<Buffer> {
  return makeTar([...files, { name: 'manifest.json', content: typeof manifest === 'string' ? manifest : JSON.stringify(manifest) }]);
}

/** A well-formed docker-archive of one image (uncompressed layers at `<i>/layer.tar`). */
export async function simpleDockerArchive(layers: TarEntry[][], repoTags: string[] | null = ['test/simple:1']): Promise<{ archive: Buffer; configDigest: string; diffIds: string[] }> {
  const tars = await Promise.all(layers.map((l) => makeTar(l)));
  const diffIds = tars.map((t) => digestOf(t));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const configName = `${digestOf(config).slice(7)}.json`;
  const archive = await craftDockerArchive([{ Config: configName, RepoTags: repoTags, Layers: tars.map((_, i) => `${i}/layer.tar`) }], [
    { name: configName, content: config },
    ...tars.map((t, i) => ({ name: `${i}/layer.tar`, content: t })),
  ]);
  return { archive, configDigest: digestOf(config), diffIds };
}
