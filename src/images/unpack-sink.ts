/**
 * Where pull puts layers *while* it downloads them: the snapshotter implements this (see
 * src/snapshots). Pull skips a layer whose chain id the sink `has` (its blob need not even be
 * downloaded, as docker does), otherwise it calls `begin`, feeds the decompressed tar to
 * `apply` and calls `commit()` only after both the blob digest and the diff_id verified;
 * on any failure it calls `abort()` instead.
 *
 * Pull calls `begin` for a layer only once its parent chain is committed (or was already
 * present), so a sink may build each layer on top of its parent.
 */
export interface LayerInfo {
  index: number;
  digest: string;
  diffId: string;
  chainId: string;
  parentChainId: string | undefined;
  mediaType: string;
  size: number;
}

export interface LayerWriter {
  apply(uncompressedTar: import('node:stream').Readable): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface UnpackSink {
  has(chainId: string): boolean;
  begin(layer: LayerInfo): Promise<LayerWriter>;
  /**
   * Removes a layer the caller committed through this sink moments ago, when the operation
   * it belonged to failed later (a load whose next layer is corrupt): nothing of a failed
   * load stays behind. A layer something else uses meanwhile is kept. Optional.
   */
  discard?(chainId: string): Promise<void>;
}
