/**
 * `history` and `inspect` data: the config's history entries matched to the layers they
 * created (entries with `empty_layer` made none), newest first as docker prints them.
 */
import type { ContentStore } from '../content/store';
import { MAX_CONFIG_BYTES, parseImageConfig, type HistoryEntry, type ImageConfig } from './config';
import type { ImageRecord, ImageStore } from './store';

export interface HistoryLine {
  /** Image id for the top line (docker shows <missing> for the others). */
  id: string | undefined;
  created?: string;
  createdBy: string;
  comment?: string;
  /** Uncompressed size of the layer the step created (compressed if unknown), 0 for none. */
  size: number;
  layerDigest?: string;
}

export async function readImageConfig(content: ContentStore, record: ImageRecord): Promise<ImageConfig> {
  return parseImageConfig(await content.readBlob(record.config.digest, MAX_CONFIG_BYTES), `image ${record.id}`);
}

export async function imageHistory(content: ContentStore, images: ImageStore, query: string): Promise<HistoryLine[]> {
  const record = await images.resolve(query);
  const config = await readImageConfig(content, record);
  const sizes = await images.diffSizes();
  const lines: HistoryLine[] = [];
  let layer = 0;
  const entries: HistoryEntry[] = config.history && config.history.length > 0 ? config.history : record.layers.map(() => ({ created_by: '', empty_layer: false }));
  for (const h of entries) {
    const l = h.empty_layer ? undefined : record.layers[layer++];
    const line: HistoryLine = { id: undefined, createdBy: h.created_by ?? '', size: l ? (sizes[l.diffId] ?? l.size) : 0 };
    if (h.created) line.created = h.created;
    if (h.comment) line.comment = h.comment;
    if (l) line.layerDigest = l.digest;
    lines.push(line);
  }
  lines.reverse();
  if (lines[0]) lines[0].id = record.id;
  return lines;
}
