/** Image archives and transports: load, save, import, export, image copy (see README). */
export { imageCopy } from './copy';
export type { ArchiveDeps, CopyOptions, CopyResult } from './copy';
export { loadImages } from './load';
export type { LoadOptions } from './load';
export type { LoadedImage } from './local-dest';
export { saveImages, resolveSaveQueries } from './save';
export type { ArchiveFormat, SaveOptions, SavedImage } from './save';
export { importRootfs, importInputFromArgument } from './import';
export type { ImportInput, ImportOptions } from './import';
export { exportRootfs } from './export';
export type { ExportOptions } from './export';
export { parseImageLocation, formatImageLocation, TRANSPORTS } from './transport';
export type { ImageLocation } from './transport';
export type { ArchiveInput } from './input';
export type { ArchiveTarget } from './tar-output';
export { REF_NAME_ANNOTATION, CONTAINERD_NAME_ANNOTATION } from './oci-layout-read';
