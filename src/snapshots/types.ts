/**
 * The snapshotter interface (after containerd's): read-only layers addressed by chain id,
 * and writable container snapshots ("active", addressed by a caller-chosen key) on top of
 * a layer chain. Two implementations: overlay (src/snapshots/overlay) and copy
 * (src/snapshots/copy); src/snapshots/index.ts chooses between them.
 */
import type { Readable } from 'node:stream';

export type SnapshotterName = 'overlay' | 'copy';

/** A committed, read-only layer. */
export interface LayerRecord {
  chainId: string;
  parentChainId: string | undefined;
  diffId: string;
  /** Size of the uncompressed layer tar as applied (bytes). */
  size: number;
  /** Entries in the layer tar. */
  entries: number;
  /** ISO 8601. */
  created: string;
}

/** A writable container snapshot. */
export interface ActiveRecord {
  key: string;
  parentChainId: string | undefined;
  created: string;
  /** Free-form labels of the owner (e.g. the container id). */
  labels: Record<string, string>;
}

/** How to mount a container snapshot (for callers that mount it elsewhere, e.g. inside a runtime). */
export type MountSpec =
  | {
      type: 'overlay';
      /** Read-only layer directories, top first (absolute). */
      lowerdirs: string[];
      upperdir: string;
      workdir: string;
      /** Extra overlay options (e.g. redirect_dir=off). */
      options: string[];
    }
  | { type: 'bind'; source: string; options: string[] };

export interface Usage {
  /** Bytes allocated on disk (hard links counted once). */
  size: number;
  inodes: number;
}

export type ChangeKind = 'A' | 'C' | 'D';

/** One line of `docker diff`: path is absolute inside the container ("/etc/passwd"). */
export interface Change {
  kind: ChangeKind;
  path: string;
}

/** A tar of a container snapshot's changes; diffId/size resolve once the stream was read to its end. */
export interface ChangesArchive {
  tar: Readable;
  result: Promise<{ diffId: string; size: number }>;
}

/** A layer being unpacked; nothing is visible under its chain id before commit(). */
export interface LayerStaging {
  apply(uncompressedTar: Readable): Promise<void>;
  commit(): Promise<LayerRecord>;
  abort(): Promise<void>;
}

export interface NewLayer {
  chainId: string;
  parentChainId: string | undefined;
  /** Recorded as given: the caller verifies it (pull: against the image config). */
  diffId: string;
}

export interface Snapshotter {
  readonly name: SnapshotterName;
  /** Directory that holds everything of this snapshotter (under <root>/layers). */
  readonly dir: string;
  /** True when a child layer can be unpacked before its parent is committed. */
  readonly independentLayers: boolean;

  hasLayer(chainId: string): boolean;
  layer(chainId: string): LayerRecord | undefined;
  listLayers(): LayerRecord[];
  /** Starts unpacking a layer; for the copy snapshotter the parent must be committed. */
  beginLayer(layer: NewLayer): Promise<LayerStaging>;
  /** Removes an unused layer; EIN_USE while a container snapshot or (overlay) a child layer needs it. */
  removeLayer(chainId: string): Promise<void>;

  /** Creates a writable snapshot `key` over `parentChainId` (undefined: empty root). */
  prepare(key: string, parentChainId: string | undefined, labels?: Record<string, string>): Promise<MountSpec>;
  active(key: string): ActiveRecord | undefined;
  listActive(): ActiveRecord[];
  mountSpec(key: string): MountSpec;
  /** Mounts the snapshot at its own mount point (or `target`) and returns the path. */
  mount(key: string, target?: string): Promise<string>;
  unmount(key: string, target?: string): Promise<void>;
  /** Path of the snapshot's own mount point. */
  mountPoint(key: string): string;
  /** Unmounts if needed and deletes the snapshot. */
  removeActive(key: string): Promise<void>;

  /** Disk usage of one layer's own directory or of a container snapshot's writable part. */
  usage(ref: { chainId: string } | { key: string }): Promise<Usage>;
  /** What the container changed relative to its parent chain (like `docker diff`), sorted by path. */
  diff(key: string): Promise<Change[]>;
  /** A layer tar (OCI whiteouts, deterministic) of the container's changes. */
  exportChanges(key: string): ChangesArchive;
  /** Removes layers reachable neither from `roots` (chain ids) nor from any container snapshot. Returns what was removed. */
  gc(roots: Iterable<string>): Promise<string[]>;
}
