/**
 * Test images built in the tests: layers made with tar-stream from Debian's busybox-static,
 * compressed with gzip (zlib), zstd (the zstd program) or not at all; a config and an OCI or
 * Docker manifest over them; helpers to put them into a Berth store as a local image, to
 * write an OCI layout for skopeo, and an unpack sink that records entry names.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { digestOf } from '../../src/content/digest';
import { chainIds } from '../../src/images/chain-id';
import { MediaType } from '../../src/images/media-types';
import type { ImageService } from '../../src/images/service';
import type { ImageRecord } from '../../src/images/store';
import type { LayerInfo, LayerWriter, UnpackSink } from '../../src/images/unpack-sink';
import { formatReference, parseReference } from '../../src/images/reference';

export type Compression = 'gzip' | 'zstd' | 'none';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
}

export interface TestLayer {
  compression: Compression;
  entries: TarEntry[];
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: Buffer) => chunks.push(c));
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(0), uid: 0, gid: 0 };
    if (type === 'symlink') pack.entry({ ...header, linkname: e.linkname ?? '' });
    else if (type === 'directory') pack.entry(header);
    else pack.entry(header, Buffer.from(e.content ?? ''));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export function compress(data: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(data);
  if (c === 'none') return data;
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}

const LAYER_TYPES: Record<Compression, { oci: string; docker: string }> = {
  gzip: { oci: MediaType.ociLayerGzip, docker: MediaType.dockerLayerGzip },
  zstd: { oci: MediaType.ociLayerZstd, docker: MediaType.ociLayerZstd },
  none: { oci: MediaType.ociLayer, docker: MediaType.ociLayer },
};

export interface BuiltLayer {
  mediaType: string;
  blob: Buffer;
  digest: string;
  size: number;
  diffId: string;
  names: string[];
}

export interface BuiltImage {
  layers: BuiltLayer[];
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  manifestType: string;
  chainIds: string[];
}

export interface BuildOptions {
  os?: string;
  architecture?: string;
  variant?: string;
  /** Docker v2 schema 2 media types instead of OCI. */
  docker?: boolean;
  /** Replace the diff_id of this layer in the config with a wrong one. */
  wrongDiffIdAt?: number;
  created?: string;
}

export async function buildImage(layers: TestLayer[], opts: BuildOptions = {}): Promise<BuiltImage> {
  const built: BuiltLayer[] = [];
  for (const l of layers) {
    const t = await makeTar(l.entries);
    const blob = compress(t, l.compression);
    built.push({
      mediaType: opts.docker ? LAYER_TYPES[l.compression].docker : LAYER_TYPES[l.compression].oci,
      blob,
      digest: digestOf(blob),
      size: blob.length,
      diffId: digestOf(t),
      names: l.entries.map((e) => e.name),
    });
  }
  const diffIds = built.map((l, i) => (i === opts.wrongDiffIdAt ? digestOf(`not layer ${i}`) : l.diffId));
  const config = Buffer.from(
    JSON.stringify({
      created: opts.created ?? '2024-05-01T12:00:00Z',
      architecture: opts.architecture ?? 'amd64',
      os: opts.os ?? 'linux',
      ...(opts.variant ? { variant: opts.variant } : {}),
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: built.map((l, i) => ({ created: '2024-05-01T12:00:00Z', created_by: `layer ${i} (${l.mediaType})` })),
    }),
  );
  const manifestType = opts.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: opts.docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: digestOf(config), size: config.length },
      layers: built.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { layers: built, config, configDigest: digestOf(config), manifest, manifestDigest: digestOf(manifest), manifestType, chainIds: chainIds(diffIds) };
}

/** Three busybox-based layers: gzip (the binary), zstd (links, /etc), uncompressed (a file). */
export function busyboxLayers(tag = 'v1'): TestLayer[] {
  const busybox = readFileSync('/bin/busybox');
  return [
    { compression: 'gzip', entries: [{ name: 'bin/', type: 'directory' }, { name: 'bin/busybox', content: busybox, mode: 0o755 }] },
    {
      compression: 'zstd',
      entries: [
        { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
        { name: 'bin/ls', type: 'symlink', linkname: 'busybox' },
        { name: 'etc/', type: 'directory' },
        { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
      ],
    },
    { compression: 'none', entries: [{ name: 'etc/hello', content: `hello from berth ${tag}\n` }] },
  ];
}

/** Puts a built image into a Berth store as the local image `name` (as if pulled or built). */
export async function storeImage(svc: ImageService, name: string, img: BuiltImage, index?: { bytes: Buffer; digest: string }): Promise<ImageRecord> {
  for (const l of img.layers) await svc.content.writeBlob(l.blob, { digest: l.digest, size: l.size });
  await svc.content.writeBlob(img.config);
  await svc.content.writeBlob(img.manifest);
  if (index) await svc.content.writeBlob(index.bytes);
  const manifestDesc = { mediaType: img.manifestType, digest: img.manifestDigest, size: img.manifest.length };
  const config = JSON.parse(img.config.toString()) as { os: string; architecture: string; created: string };
  const record: ImageRecord = {
    name: formatReference(parseReference(name)),
    target: index ? { mediaType: MediaType.ociIndex, digest: index.digest, size: index.bytes.length } : manifestDesc,
    manifest: manifestDesc,
    config: { mediaType: MediaType.ociConfig, digest: img.configDigest, size: img.config.length },
    id: img.configDigest,
    platform: { os: config.os, architecture: config.architecture },
    created: config.created,
    layers: img.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: l.diffId, chainId: img.chainIds[i]! })),
    recordedAt: new Date().toISOString(),
  };
  await svc.images.put(record);
  return record;
}

/** An OCI index over several built images (with their platforms). */
export function buildIndex(images: { img: BuiltImage; os: string; architecture: string; variant?: string }[]): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: images.map(({ img, os, architecture, variant }) => ({
        mediaType: img.manifestType,
        digest: img.manifestDigest,
        size: img.manifest.length,
        platform: { os, architecture, ...(variant ? { variant } : {}) },
      })),
    }),
  );
  return { bytes, digest: digestOf(bytes) };
}

/** Writes an OCI image layout (for skopeo copy oci:DIR:TAG). */
export function writeOciLayout(dir: string, img: BuiltImage, tag: string): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (d: string, b: Buffer): void => writeFileSync(join(blobs, d.slice(7)), b);
  for (const l of img.layers) put(l.digest, l.blob);
  put(img.configDigest, img.config);
  put(img.manifestDigest, img.manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: img.manifestType, digest: img.manifestDigest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}

/** An unpack sink that reads each layer tar with tar-stream and records its entry names. */
export class RecordingSink implements UnpackSink {
  readonly committed = new Map<string, string[]>();
  readonly aborted: string[] = [];
  readonly begun: LayerInfo[] = [];
  /** Makes `apply` fail for this layer index (sink errors must abort cleanly). */
  failAt: number | undefined;

  has(chainId: string): boolean {
    return this.committed.has(chainId);
  }

  async begin(layer: LayerInfo): Promise<LayerWriter> {
    this.begun.push(layer);
    if (layer.parentChainId !== undefined && !this.committed.has(layer.parentChainId)) {
      throw new Error(`layer ${layer.index} begun before its parent ${layer.parentChainId} was committed`);
    }
    const names: string[] = [];
    return {
      apply: async (stream: Readable) => {
        if (this.failAt === layer.index) throw new Error(`sink refuses layer ${layer.index}`);
        const extract = tar.extract();
        await new Promise<void>((resolve, reject) => {
          extract.on('entry', (header, body, next) => {
            names.push(header.name);
            body.on('end', next);
            body.resume();
          });
          extract.on('finish', resolve);
          extract.on('error', reject);
          stream.on('error', reject);
          stream.pipe(extract);
        });
      },
      commit: async () => {
        this.committed.set(layer.chainId, names);
      },
      abort: async () => {
        this.aborted.push(layer.chainId);
      },
    };
  }
}
