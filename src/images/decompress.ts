/**
 * Layer decompression as stream stages (gzip via zlib, zstd via the pure-JS fzstd, since
 * Node 20's zlib has no zstd), guarded against decompression bombs: a layer that expands
 * past `maxBytes`, or past `maxRatio` times its compressed size once it is bigger than
 * `ratioFloorBytes`, fails with ELIMIT before it fills the disk. Real layers stay far below
 * the default ratio (text and binaries compress 2-10x); gzip cannot exceed ~1030x at all.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { BerthError } from '../core/errors';
import type { Compression } from './media-types';

export interface ExpansionLimits {
  maxRatio: number;
  ratioFloorBytes: number;
  maxBytes: number;
}

export const DEFAULT_EXPANSION_LIMITS: ExpansionLimits = {
  maxRatio: 200,
  ratioFloorBytes: 64 * 1024 * 1024,
  maxBytes: 64 * 1024 * 1024 * 1024,
};

/** Largest zstd window we let the decoder allocate (zstd's own default limit is 128 MiB). */
export const MAX_ZSTD_WINDOW = 256 * 1024 * 1024;

class ExpansionCheck {
  out = 0;
  constructor(
    private readonly limits: ExpansionLimits,
    private readonly compressedBytes: () => number,
    private readonly what: string,
  ) {}

  add(n: number): void {
    this.out += n;
    const inBytes = Math.max(this.compressedBytes(), 1);
    if (this.out > this.limits.maxBytes) {
      throw new BerthError('ELIMIT', `${this.what} decompresses to more than ${this.limits.maxBytes} bytes; refusing it`, {
        hint: 'the layer is a decompression bomb or unreasonably large',
      });
    }
    if (this.out > this.limits.ratioFloorBytes && this.out > inBytes * this.limits.maxRatio) {
      throw new BerthError('ELIMIT', `${this.what} expands more than ${this.limits.maxRatio} times (${inBytes} compressed bytes gave ${this.out} so far); refusing a likely decompression bomb`, {
        hint: 'nothing of it was kept; if the image is legitimate, raise the pull expansion limits',
      });
    }
  }
}

/** Counts output and fails past the limits. */
class GuardStage extends Transform {
  constructor(private readonly check: ExpansionCheck) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.check.add(chunk.length);
    } catch (e) {
      done(e as Error);
      return;
    }
    done(null, chunk);
  }
}

/**
 * zstd through fzstd. fzstd emits synchronously while it decodes a pushed chunk, so the
 * expansion check runs inside its callback: a bomb is stopped before its output piles up
 * in this stream's buffer.
 */
class ZstdStage extends Transform {
  private readonly decoder: Decompress;
  private headerChecked = false;

  constructor(
    private readonly check: ExpansionCheck,
    private readonly what: string,
  ) {
    super();
    this.decoder = new Decompress((data) => {
      this.check.add(data.length);
      if (data.length) this.push(Buffer.from(data));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (!this.headerChecked && chunk.length >= 6) {
        this.headerChecked = true;
        const window = zstdWindowSize(chunk);
        if (window !== undefined && window > MAX_ZSTD_WINDOW) {
          throw new BerthError('ELIMIT', `${this.what} is a zstd frame with a ${window}-byte window, over the ${MAX_ZSTD_WINDOW}-byte limit`);
        }
      }
      this.decoder.push(chunk);
      done();
    } catch (e) {
      done(asBerthError(e, this.what));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      done();
    } catch (e) {
      done(asBerthError(e, this.what));
    }
  }
}

function asBerthError(e: unknown, what: string): Error {
  if (e instanceof BerthError) return e;
  return new BerthError('EDIGEST', `${what} is not valid zstd data: ${(e as Error).message}`, { cause: e });
}

/** Window size declared by a zstd frame header at the start of `b`, if it is one. */
export function zstdWindowSize(b: Buffer): number | undefined {
  if (b.length < 6 || b.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const fhd = b[4]!;
  const singleSegment = (fhd >> 5) & 1;
  if (!singleSegment) {
    const wd = b[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  const didSize = [0, 1, 2, 4][fhd & 3]!;
  const fcsFlag = fhd >> 6;
  const fcsSize = fcsFlag === 0 ? 1 : 2 ** fcsFlag;
  const at = 5 + didSize;
  if (b.length < at + fcsSize) return undefined;
  if (fcsSize === 1) return b[at]!;
  if (fcsSize === 2) return b.readUInt16LE(at) + 256;
  if (fcsSize === 4) return b.readUInt32LE(at);
  return Number(b.readBigUInt64LE(at));
}

/** The stages that turn a compressed layer into its tar, with the expansion guard. */
export function decompressStages(compression: Compression, limits: ExpansionLimits, compressedBytes: () => number, what: string): Transform[] {
  const check = new ExpansionCheck(limits, compressedBytes, what);
  switch (compression) {
    case 'gzip':
      // zlib's own errors ("incorrect header check") are named by the caller (see layer-fetch).
      return [createGunzip({ chunkSize: 64 * 1024 }), new GuardStage(check)];
    case 'zstd':
      return [new ZstdStage(check, what)];
    case 'none':
      return [new GuardStage(check)];
  }
}
