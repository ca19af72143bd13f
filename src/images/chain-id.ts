/**
 * Chain ids (OCI image spec, "Layer ChainID"): the identity of a layer *stack*, so that an
 * unpacked layer can be shared by every image whose stack up to it is the same.
 *   ChainID(L0) = DiffID(L0)
 *   ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " + DiffID(Ln))
 */
import { digestOf, parseDigest } from '../content/digest';

export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    parseDigest(diffId);
    const parent = out[out.length - 1];
    out.push(parent === undefined ? diffId : digestOf(`${parent} ${diffId}`));
  }
  return out;
}

export function chainId(diffIds: readonly string[]): string | undefined {
  return chainIds(diffIds).pop();
}
