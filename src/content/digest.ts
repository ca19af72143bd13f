/**
 * Content digests (`algorithm:hex`). Berth writes sha256 and accepts sha512 from registries
 * and archives, as the OCI image spec allows. Anything else is rejected up front so that a
 * digest can safely become a file name.
 */
import { createHash, type Hash } from 'node:crypto';
import { BerthError } from '../core/errors';

export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Parses and validates a digest; the error names the bad part. */
export function parseDigest(digest: string): ParsedDigest {
  const colon = digest.indexOf(':');
  if (colon < 0) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid digest "${digest}": expected ALGORITHM:HEX such as sha256:<64 hex digits>`);
  }
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new BerthError('EUNSUPPORTED', `unsupported digest algorithm "${algorithm}" in "${digest}"`, { hint: 'Berth accepts sha256 and sha512 digests' });
  }
  const want = HEX_LENGTH[algorithm];
  if (hex.length !== want || !/^[0-9a-f]+$/.test(hex)) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid ${algorithm} digest "${digest}": the encoded part must be ${want} lowercase hex digits`);
  }
  return { algorithm, hex };
}

export function isDigest(value: string): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** Digest of an in-memory value (manifests, configs). */
export function digestOf(data: Buffer | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Incremental digest with a byte count, for content that streams by. */
export class DigestCounter {
  readonly algorithm: DigestAlgorithm;
  private readonly hash: Hash;
  private finished: string | undefined;
  bytes = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    if (this.finished) throw new Error('DigestCounter.update after digest()');
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  digest(): string {
    if (!this.finished) this.finished = `${this.algorithm}:${this.hash.digest('hex')}`;
    return this.finished;
  }
}
