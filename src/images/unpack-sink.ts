/**
 * Where pull puts layers *while* it downloads them: the snapshotter implements this
 * (SnapshotUnpackSink). Pull skips a layer whose chain id the sink `has` (its blob need not
 * even be downloaded, as docker does), otherwise it calls `begin`, feeds the decompressed tar
 * to `apply` and calls `commit()` only after both the blob digest and the diff_id verified;
 * on any failure it calls `abort()` instead.
 *
 * Pull calls `begin` for a layer only once its parent chain is committed (or was already
 * present), so a sink may build each layer on top of its parent.
 *
 * The interfaces are declared in src/snapshots/unpack-sink.ts, by the layer below that
 * fulfils them (a lower layer never imports a higher one).
 */
export type { LayerInfo, LayerWriter, UnpackSink } from '../snapshots/unpack-sink';
