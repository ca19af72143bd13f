/**
 * Typed progress events. Library code never prints: long operations (pull, push) take an
 * `onEvent` callback and report what they are doing through it; a reporter
 * (src/cli/engine/progress.ts) renders the events for a terminal or as plain lines, and the
 * API server can forward them as JSON messages.
 *
 * Layer events name the blob by its digest; reporters shorten it for display.
 */

/** Events of `pull`. */
export type PullEvent =
  | { type: 'resolving'; ref: string }
  | { type: 'resolved'; ref: string; digest: string; mediaType: string; platform?: string }
  /** Queued behind the download concurrency limit. */
  | { type: 'layer-waiting'; digest: string; size: number }
  /** Bytes received so far (including a prefix resumed from an earlier run) out of `total`. */
  | { type: 'layer-downloading'; digest: string; current: number; total: number }
  /** A download continues from `offset`: data of an earlier, interrupted run was kept. */
  | { type: 'layer-resumed'; digest: string; offset: number; total: number }
  | { type: 'layer-retrying'; digest: string; attempt: number; offset: number; reason: string }
  | { type: 'layer-verifying'; digest: string }
  /** Downloaded and verified into the content store; unpacking follows once its parent is unpacked. */
  | { type: 'layer-downloaded'; digest: string }
  /** Unpacking from the local content store (the blob was already downloaded). */
  | { type: 'layer-extracting'; digest: string }
  | { type: 'layer-complete'; digest: string }
  /** Nothing to do: the layer is unpacked (or, without an unpack sink, its blob is stored). */
  | { type: 'layer-already-exists'; digest: string }
  | { type: 'done'; ref: string; digest: string; imageId: string; upToDate: boolean }
  /** Something the user should know that does not stop the pull (e.g. a platform mismatch). */
  | { type: 'warning'; message: string };

/**
 * Events of `push`. Blob events carry `config: true` for an image config blob: it is
 * uploaded like a layer, but docker's progress lists only layers, so reporters skip it.
 */
export type PushEvent =
  | { type: 'push-preparing'; ref: string }
  | { type: 'blob-waiting'; digest: string; size: number; config?: true }
  | { type: 'blob-pushing'; digest: string; current: number; total: number; config?: true }
  | { type: 'blob-mounted'; digest: string; from: string; config?: true }
  | { type: 'blob-pushed'; digest: string; config?: true }
  | { type: 'blob-already-exists'; digest: string; config?: true }
  | { type: 'blob-retrying'; digest: string; attempt: number; reason: string; config?: true }
  | { type: 'manifest-pushed'; ref: string; digest: string; size: number };

/**
 * Events of creating an image from layers (import, commit, build), of load, save and image
 * copy between transports. Layer unpacking reuses pull's names so reporters render both.
 */
export type ArchiveEvent =
  /** A source is being opened and its images listed (an archive, a layout, a registry). */
  | { type: 'reading'; source: string }
  /** createImage: layer `index` of the new ones is being compressed and stored. */
  | { type: 'layer-storing'; index: number }
  | { type: 'layer-stored'; index: number; digest: string; diffId: string; size: number }
  /** A blob moves from the source to the destination (load, save, copy). */
  | { type: 'blob-copying'; digest: string; size: number }
  | { type: 'blob-copied'; digest: string }
  /** The destination has the blob already. */
  | { type: 'blob-skipped'; digest: string }
  | { type: 'layer-extracting'; digest: string }
  | { type: 'layer-complete'; digest: string }
  | { type: 'layer-already-exists'; digest: string }
  /** An image (manifest `digest`, config `id`) was written to a destination under `ref`. */
  | { type: 'image-written'; ref: string; id: string; digest: string }
  /** An image was recorded in the local store (docker's "Loaded image: NAME" / "Loaded image ID: ID"). */
  | { type: 'image-loaded'; name?: string; id: string }
  | { type: 'warning'; message: string };

export type ProgressEvent = PullEvent | PushEvent | ArchiveEvent;

export type EventSink<E> = (event: E) => void;

/** Short display form of a digest, as docker prints layer ids (12 hex characters). */
export function shortDigest(digest: string): string {
  const hex = digest.includes(':') ? digest.slice(digest.indexOf(':') + 1) : digest;
  return hex.slice(0, 12);
}
