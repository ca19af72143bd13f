/** Chain ids (image-spec config.md, "Layer ChainID"): identify a layer together with all below it. */
import { createHash } from 'node:crypto';

/** ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIdOf(parentChainId: string | undefined, diffId: string): string {
  if (parentChainId === undefined) return diffId;
  return `sha256:${createHash('sha256').update(`${parentChainId} ${diffId}`).digest('hex')}`;
}

/** Chain ids of every layer of an image, bottom first. */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(chainIdOf(out[out.length - 1], d));
  return out;
}
