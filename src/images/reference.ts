/**
 * Docker-style image references: `[domain[:port]/]path[:tag][@digest]`.
 *
 * Normalization follows docker: a first component is a registry domain only if it contains
 * a `.` or `:` or is `localhost` (or has upper-case letters, which a path may not); otherwise
 * the domain is docker.io, and a one-component docker.io path gets `library/`. A reference
 * without tag and digest means `:latest`. Errors name the part that is wrong.
 */
import { BerthError } from '../core/errors';
import { parseDigest } from '../content/digest';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';

export interface ImageReference {
  /** Registry host, with port if any: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`, `a/b`. */
  path: string;
  tag?: string;
  digest?: string;
}

const MAX_NAME_LENGTH = 255;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]+$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;

function invalid(input: string, why: string, hint?: string): BerthError {
  return new BerthError('EINVALID_REFERENCE', `invalid reference "${input}": ${why}`, hint ? { hint } : {});
}

/**
 * Parses and normalizes a reference. With `defaultTag` (the default) a reference naming
 * neither tag nor digest gets `latest`.
 */
export function parseReference(input: string, opts: { defaultTag?: boolean } = {}): ImageReference {
  if (input === '') throw invalid(input, 'it is empty', 'name an image such as "busybox" or "localhost:5000/app:1.0"');
  if (input.trim() !== input) throw invalid(input, 'it has leading or trailing white space');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (e) {
      throw invalid(input, `the digest part "${digest}" is not valid (${(e as Error).message})`);
    }
  }
  // A tag follows the last ':' after the last '/'; an earlier ':' is a port.
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(input, `the tag "${tag}" is not valid`, 'a tag is up to 128 letters, digits, "_", "." and "-", not starting with "." or "-"');
    }
  }
  if (rest === '') throw invalid(input, 'the repository name is empty');

  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
      validateDomain(input, domain);
    }
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (path === '') throw invalid(input, 'the repository path is empty');
  for (const component of path.split('/')) {
    if (component === '') throw invalid(input, `the repository path "${path}" has an empty component`);
    if (component.toLowerCase() !== component && PATH_COMPONENT.test(component.toLowerCase())) {
      throw invalid(input, `the repository name "${path}" must be lowercase`);
    }
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        `the path component "${component}" is not valid`,
        'path components are lowercase letters and digits, separated by ".", "_", "__" or dashes',
      );
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = OFFICIAL_REPO_PREFIX + path;
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) {
    throw invalid(input, `the repository name is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (tag === undefined && digest === undefined && opts.defaultTag !== false) tag = DEFAULT_TAG;
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function validateDomain(input: string, domain: string): void {
  let host = domain;
  const portSep = domain.startsWith('[') ? domain.indexOf(']:') + 1 : domain.lastIndexOf(':');
  if (portSep > 0) {
    const port = domain.slice(portSep + 1);
    host = domain.slice(0, portSep);
    if (!PORT.test(port) || Number(port) > 65535) throw invalid(input, `the registry port "${port}" is not a port number`);
  }
  if (IPV6_HOST.test(host)) return;
  for (const c of host.split('.')) {
    if (!DOMAIN_COMPONENT.test(c)) throw invalid(input, `the registry host "${host}" is not a valid host name`);
  }
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Canonical full form: `docker.io/library/busybox:latest`, `host:5000/a/b@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Short repository name for display: `busybox`, `user/app`, `localhost:5000/x`. */
export function familiarName(ref: ImageReference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  return ref.path.startsWith(OFFICIAL_REPO_PREFIX) && ref.path.indexOf('/', OFFICIAL_REPO_PREFIX.length) < 0
    ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
    : ref.path;
}

/** Short form for display, with tag and digest: `busybox:latest`. */
export function familiarString(ref: ImageReference): string {
  return familiarName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Normalizes a reference string in one step. */
export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

export function withTag(ref: ImageReference, tag: string): ImageReference {
  if (!TAG.test(tag)) throw invalid(tag, `the tag "${tag}" is not valid`);
  return { domain: ref.domain, path: ref.path, tag };
}

export function withDigest(ref: ImageReference, digest: string): ImageReference {
  parseDigest(digest);
  return { domain: ref.domain, path: ref.path, digest };
}

/** The registry host to contact for a domain: docker.io's API lives at registry-1.docker.io. */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
}
