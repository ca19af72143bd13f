/**
 * Where a copy lands, by docker's rules (the same in both directions):
 *
 *   destination        source is a file              source is a directory
 *   -----------        ----------------              ---------------------
 *   missing            file created with that name   directory created with that name
 *   missing, ends "/"  error                         error
 *   a file             overwritten                   error
 *   a directory        copied into it                copied into it; "SRC/." : its contents
 *
 * The result says which directory to unpack into (the destination or its parent) and the
 * name the copied entry gets there ("" : the source's contents, not the source itself).
 */
import { BerthError } from '../../core/errors';

export interface CopySource {
  isDir: boolean;
  /** Name of the source ("" for a root directory). */
  base: string;
  contentsOnly: boolean;
}

export interface CopyDestination {
  /** What is at the destination (symlinks already followed). */
  exists: 'dir' | 'other' | undefined;
  trailingSlash: boolean;
  /** Last component of the destination path ("" for a root). */
  base: string;
  /** As the user gave it, for messages. */
  given: string;
}

export interface CopyPlan {
  into: 'destination' | 'parent';
  /** Entry name of the copy in that directory; "" : the source directory's contents. */
  name: string;
}

export function planCopy(src: CopySource, dst: CopyDestination): CopyPlan {
  if (dst.exists === 'dir') {
    if (src.isDir && (src.contentsOnly || src.base === '')) return { into: 'destination', name: '' };
    return { into: 'destination', name: src.base };
  }
  if (dst.exists === 'other') {
    if (src.isDir) throw new BerthError('EINVALID_ARGUMENT', `cannot copy a directory to a file: ${dst.given} is not a directory`, { hint: 'give a directory (or a new name) as the destination' });
    if (dst.trailingSlash) throw new BerthError('EINVALID_ARGUMENT', `destination ${dst.given} is not a directory`, { hint: 'drop the trailing "/" to overwrite the file' });
    return { into: 'parent', name: dst.base };
  }
  if (dst.trailingSlash) {
    throw new BerthError('ENOT_FOUND', `destination directory ${dst.given} does not exist`, { hint: 'create the directory first, or drop the trailing "/" to create a new file or directory of that name' });
  }
  if (dst.base === '') throw new BerthError('EINVALID_ARGUMENT', `invalid destination ${dst.given}`);
  return { into: 'parent', name: dst.base };
}
