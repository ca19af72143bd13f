/**
 * Image locations named as skopeo names them (containers/image transports):
 *   docker://REF                    an image in a registry
 *   oci:DIR[:REF]                   an OCI image layout directory (REF: its ref name)
 *   oci-archive:FILE[:REF]          a tar of an OCI image layout
 *   docker-archive:FILE[:REF|@N]    a docker save archive (REF: a RepoTag; @N: the N-th image)
 *   berth:NAME                      the local image store (any image query as a source)
 * As in skopeo, the path ends at the first ":" after the transport.
 */
import { BerthError } from '../../core/errors';

export type ImageLocation =
  | { transport: 'docker'; reference: string }
  | { transport: 'oci' | 'oci-archive' | 'docker-archive'; path: string; ref?: string }
  | { transport: 'berth'; name: string };

export const TRANSPORTS = ['docker', 'oci', 'oci-archive', 'docker-archive', 'berth'] as const;

export function parseImageLocation(text: string): ImageLocation {
  const colon = text.indexOf(':');
  const transport = colon < 0 ? '' : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  const bad = (why: string): BerthError =>
    new BerthError('EINVALID_ARGUMENT', `invalid image location "${text}": ${why}`, {
      hint: 'use docker://REF, oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:REF] or berth:NAME',
    });
  switch (transport) {
    case 'docker':
      if (!rest.startsWith('//') || rest.length === 2) throw bad('a registry reference is written docker://HOST/REPO[:TAG]');
      return { transport: 'docker', reference: rest.slice(2) };
    case 'oci':
    case 'oci-archive':
    case 'docker-archive': {
      const sep = rest.indexOf(':');
      const path = sep < 0 ? rest : rest.slice(0, sep);
      const ref = sep < 0 ? undefined : rest.slice(sep + 1);
      if (path === '') throw bad('the path is empty');
      if (ref === '') throw bad('the reference after the path is empty');
      return { transport, path, ...(ref !== undefined ? { ref } : {}) };
    }
    case 'berth':
      if (rest === '') throw bad('the image name is empty');
      return { transport: 'berth', name: rest };
    default:
      throw bad(colon < 0 ? 'it names no transport' : `unknown transport "${transport}"`);
  }
}

export function formatImageLocation(l: ImageLocation): string {
  switch (l.transport) {
    case 'docker':
      return `docker://${l.reference}`;
    case 'berth':
      return `berth:${l.name}`;
    default:
      return `${l.transport}:${l.path}${l.ref !== undefined ? `:${l.ref}` : ''}`;
  }
}
