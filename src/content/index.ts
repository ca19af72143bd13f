/** The content store: digest-addressed blobs, resumable verified ingests, garbage collection. */
export { ContentStore, ContentWriter } from './store';
export type { BlobInfo, Expected, IngestStatus, OpenWriterResult } from './store';
export { collectGarbage } from './gc';
export type { GcOptions, GcReport } from './gc';
export { digestOf, parseDigest, isDigest, DigestCounter } from './digest';
export type { DigestAlgorithm, ParsedDigest } from './digest';
export { acquireLock, tryLock } from '../core/lock';
export type { FileLock } from '../core/lock';
