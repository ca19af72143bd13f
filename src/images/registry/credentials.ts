/**
 * Registry credentials in docker's `config.json` format, so that `docker login` and
 * `berth login` share them: `{"auths": {"REGISTRY": {"auth": base64("user:password")}}}`.
 *
 * Credential helpers (`credsStore`, `credHelpers`) are not run: Berth reports them as
 * unsupported when a registry actually asks for credentials, instead of failing every pull.
 * The file is rewritten temp + fsync + rename with mode 0600, keeping keys we do not know.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { BerthError, errnoCode } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs-atomic';
import { DEFAULT_DOMAIN } from '../reference';

export interface Credentials {
  username: string;
  password: string;
}

export interface CredentialLookup {
  credentials?: Credentials;
  /** Set when a helper would have been asked: its program name (`docker-credential-NAME`). */
  unsupportedHelper?: string;
  /** The file consulted, for messages. */
  source: string;
}

/** Where credentials come from; tests and embedders may supply their own. */
export interface CredentialStore {
  get(registry: string): Promise<CredentialLookup>;
}

/** docker's key for Docker Hub in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (as docker). */
export function defaultAuthFile(): string {
  const dir = process.env.DOCKER_CONFIG || join(homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The key a registry is stored under: docker.io's legacy URL, else the bare host[:port]. */
export function authKey(registry: string): string {
  const host = hostOf(registry);
  return host === DEFAULT_DOMAIN || host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB_AUTH_KEY : host;
}

/** `https://host:5000/v1/` → `host:5000`. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

export class DockerConfigCredentials implements CredentialStore {
  constructor(readonly file: string = defaultAuthFile()) {}

  async get(registry: string): Promise<CredentialLookup> {
    const cfg = await this.read();
    const want = authKey(registry);
    const entry = Object.entries(cfg.auths ?? {}).find(([k]) => authKey(k) === want)?.[1];
    const creds = entry ? decodeEntry(entry, registry, this.file) : undefined;
    if (creds) return { credentials: creds, source: this.file };
    const helper = Object.entries(cfg.credHelpers ?? {}).find(([k]) => authKey(k) === want)?.[1] ?? cfg.credsStore;
    return helper ? { unsupportedHelper: `docker-credential-${helper}`, source: this.file } : { source: this.file };
  }

  /** Stores credentials for `registry` (after `login` verified them). */
  async store(registry: string, creds: Credentials): Promise<void> {
    const cfg = await this.read();
    const key = authKey(registry);
    const auths = { ...(cfg.auths ?? {}) };
    for (const k of Object.keys(auths)) if (authKey(k) === key) delete auths[k];
    auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') };
    await this.write({ ...cfg, auths });
  }

  /** Removes stored credentials; returns whether there were any. */
  async remove(registry: string): Promise<boolean> {
    const cfg = await this.read();
    const key = authKey(registry);
    const auths = { ...(cfg.auths ?? {}) };
    let found = false;
    for (const k of Object.keys(auths)) {
      if (authKey(k) === key) {
        delete auths[k];
        found = true;
      }
    }
    if (found) await this.write({ ...cfg, auths });
    return found;
  }

  private async read(): Promise<DockerConfigFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return {};
      throw new BerthError('EINVALID_CONFIG', `cannot read credentials file ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    if (text.trim() === '') return {};
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new BerthError('EINVALID_CONFIG', `credentials file ${this.file} is not valid JSON: ${(e as Error).message}`, { cause: e });
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new BerthError('EINVALID_CONFIG', `credentials file ${this.file} is not a JSON object`);
    }
    return v as DockerConfigFile;
  }

  private async write(cfg: DockerConfigFile): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file, JSON.stringify(cfg, null, '\t') + '\n', 0o600);
  }
}

function decodeEntry(entry: AuthEntry, registry: string, file: string): Credentials | undefined {
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) {
      throw new BerthError('EINVALID_CONFIG', `the "auth" value for ${registry} in ${file} is not base64 of "user:password"`, {
        hint: `log in again: berth login ${registry}`,
      });
    }
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (entry.identitytoken) {
    throw new BerthError('EUNSUPPORTED', `${file} holds an identity token (OAuth refresh token) for ${registry}, which Berth does not support`, {
      hint: `log in with a user name and password or access token: berth login ${registry}`,
    });
  }
  return undefined;
}

/** Credentials from memory (tests, embedders); no helpers. */
export class StaticCredentials implements CredentialStore {
  constructor(private readonly byRegistry: Record<string, Credentials> = {}) {}
  async get(registry: string): Promise<CredentialLookup> {
    const want = authKey(registry);
    const hit = Object.entries(this.byRegistry).find(([k]) => authKey(k) === want)?.[1];
    return hit ? { credentials: hit, source: 'memory' } : { source: 'memory' };
  }
}
