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
      return 'none';
    default:
      return undefined;
  }
}
