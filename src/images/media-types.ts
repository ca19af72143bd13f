/** Media types of the OCI image spec and of Docker's v2 schema 2 format. */
export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** Uncompressed layer in a Docker manifest (what docker load / containerd write for uncompressed layers). */
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export type Compression = 'gzip' | 'zstd' | 'none';

/** Every manifest and index type we can read, for the Accept header. */
export const ACCEPT_MANIFESTS = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest];

export function isIndexType(mt: string): boolean {
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList;
}

export function isManifestType(mt: string): boolean {
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest;
}

export function isSchema1Type(mt: string): boolean {
  return mt === MediaType.dockerSchema1 || mt === MediaType.dockerSchema1Signed;
}

/** How a layer blob is compressed, from its media type; undefined for types that are not layers. */
export function layerCompression(mt: string): Compression | undefined {
  switch (mt) {
    case MediaType.ociLayerGzip:
    case MediaType.ociLayerNondistributableGzip:
    case MediaType.dockerLayerGzip:
    case MediaType.dockerLayerForeignGzip:
      return 'gzip';
    case MediaType.ociLayerZstd:
    case MediaType.ociLayerNondistributableZstd:
      return 'zstd';
    case MediaType.ociLayer:
    case MediaType.ociLayerNondistributable:
    case MediaType.dockerLayer:
      return 'none';
    default:
      return undefined;
  }
}

/** The layer media type for a compression in an OCI or a Docker manifest. */
export function layerMediaType(compression: Compression, format: 'oci' | 'docker'): string {
  switch (compression) {
    case 'gzip':
      return format === 'oci' ? MediaType.ociLayerGzip : MediaType.dockerLayerGzip;
    case 'zstd':
      return MediaType.ociLayerZstd; // Docker's format has no zstd type; containerd and docker accept the OCI one
    case 'none':
      return format === 'oci' ? MediaType.ociLayer : MediaType.dockerLayer;
  }
}

/** How a blob is compressed, from its first bytes (archives do not say). */
export function sniffCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}
