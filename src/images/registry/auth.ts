/**
 * Registry authentication: answers a 401's `WWW-Authenticate` challenge.
 *  - Basic: send the stored credentials (none stored: fail with "berth login").
 *  - Bearer: get a token from the challenge's realm for the service and scopes, with the
 *    stored credentials as Basic auth if any (else anonymously, which public repositories
 *    allow), and cache it per registry and scope until it expires.
 * Once a registry has shown its challenge, later requests for other scopes fetch a token
 * first instead of taking another 401 round trip.
 */
import { BerthError } from '../../core/errors';
import type { CredentialLookup, CredentialStore, Credentials } from './credentials';
import { readBody, sendWithRetry, type HttpTransport, type RetryPolicy } from './http';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate';

const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
/** The distribution spec's default when a token response has no expires_in. */
const DEFAULT_TOKEN_SECONDS = 60;

interface CachedToken {
  header: string;
  expiresAt: number;
}

export function loginHint(registry: string): string {
  return `run "berth login ${registry}" with an account that may access it`;
}

export class Authorizer {
  private readonly challenges = new Map<string, AuthChallenge>();
  /** In-flight or fetched tokens, so that parallel requests share one token request. */
  private readonly tokens = new Map<string, Promise<CachedToken>>();
  private readonly lookups = new Map<string, Promise<CredentialLookup>>();

  constructor(
    private readonly transport: HttpTransport,
    private readonly credentials: CredentialStore | undefined,
    private readonly retry: RetryPolicy,
    /** Credentials to use instead of the store's (login verification). */
    private readonly override?: { registry: string; credentials: Credentials },
  ) {}

  /** The Authorization header to send for `registry` and `scopes`, if we know one. */
  async authorization(registry: string, scopes: string[], verifyTls: boolean, signal?: AbortSignal): Promise<string | undefined> {
    const challenge = this.challenges.get(registry);
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      const creds = await this.creds(registry);
      return creds ? basicHeader(creds) : undefined;
    }
    const key = `${registry} ${scopes.join(' ')}`;
    let pending = this.tokens.get(key);
    if (pending) {
      const cached = await pending.catch(() => undefined);
      if (cached && cached.expiresAt > Date.now()) return cached.header;
    }
    pending = this.fetchToken(registry, challenge, scopes, verifyTls, signal);
    this.tokens.set(key, pending);
    pending.catch(() => this.tokens.delete(key));
    return (await pending).header;
  }

  /**
   * Records the challenge of a 401 response to a request that carried `hadAuth` (an
   * Authorization header) or not. Returns whether a retry can help: a request sent without
   * credentials can be retried with them; with basic auth, refused credentials stay refused;
   * a refused bearer token may have expired or lacked the scope, so it is fetched anew.
   */
  async challenged(registry: string, header: string | undefined, scopes: string[], hadAuth: boolean): Promise<boolean> {
    const parsed = parseWwwAuthenticate(header ?? '');
    const chosen = parsed.find((c) => c.scheme === 'bearer') ?? parsed.find((c) => c.scheme === 'basic');
    if (!chosen) {
      throw new BerthError('EAUTH', `registry ${registry} requires authentication with a scheme Berth does not support (${header ?? 'no WWW-Authenticate header'})`);
    }
    this.challenges.set(registry, chosen);
    if (chosen.scheme === 'basic') return !hadAuth && (await this.creds(registry)) !== undefined;
    if (hadAuth) this.tokens.delete(`${registry} ${scopes.join(' ')}`);
    return true;
  }

  /** Why a request stayed unauthorized: names the registry and how to fix it. */
  async unauthorizedError(registry: string, what: string, status: number): Promise<BerthError> {
    const lookup = await this.lookup(registry);
    const denied = status === 403 ? 'denied' : 'unauthorized';
    if (!lookup.credentials && lookup.unsupportedHelper) {
      return new BerthError('EAUTH', `${what}: ${denied} by registry ${registry}, and its credentials are kept by the credential helper ${lookup.unsupportedHelper}, which Berth does not support`, {
        hint: `run "berth login ${registry}" to store credentials in ${lookup.source}`,
      });
    }
    const who = lookup.credentials ? `as user "${lookup.credentials.username}"` : 'without credentials';
    return new BerthError('EAUTH', `${what}: ${denied} by registry ${registry} (${who})`, { hint: loginHint(registry) });
  }

  private async fetchToken(registry: string, challenge: AuthChallenge, scopes: string[], verifyTls: boolean, signal?: AbortSignal): Promise<CachedToken> {
    const realm = challenge.params['realm'];
    if (!realm) throw new BerthError('EAUTH', `registry ${registry} asked for a bearer token without saying where to get one (no realm)`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new BerthError('EAUTH', `registry ${registry} gave an invalid token realm "${realm}"`);
    }
    if (challenge.params['service']) url.searchParams.set('service', challenge.params['service']);
    for (const s of scopes) url.searchParams.append('scope', s);
    const creds = await this.creds(registry);
    const headers: Record<string, string> = {};
    if (creds) headers['authorization'] = basicHeader(creds);
    const res = await sendWithRetry(this.transport, { method: 'GET', url, headers, verifyTls, ...(signal ? { signal } : {}) }, this.retry);
    const body = await readBody(res, MAX_TOKEN_RESPONSE_BYTES, `token response from ${url.origin}`);
    if (res.status === 401 || res.status === 403) {
      throw new BerthError('EAUTH', `the token server of registry ${registry} (${url.origin}) refused ${creds ? `the credentials of "${creds.username}"` : 'an anonymous token'} for ${scopes.join(', ') || 'the registry'}`, {
        hint: loginHint(registry),
      });
    }
    if (res.status !== 200) {
      throw new BerthError('EREGISTRY', `the token server of registry ${registry} (${url.origin}) answered HTTP ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
    }
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      throw new BerthError('EREGISTRY', `the token server of registry ${registry} (${url.origin}) sent a response that is not JSON`);
    }
    const token = typeof json.token === 'string' ? json.token : typeof json.access_token === 'string' ? json.access_token : undefined;
    if (!token) throw new BerthError('EREGISTRY', `the token server of registry ${registry} (${url.origin}) sent no token`);
    const seconds = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew a little early so that a long request does not start with an almost-expired token.
    return { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(seconds - 5, 1) * 1000 };
  }

  private async creds(registry: string): Promise<Credentials | undefined> {
    return (await this.lookup(registry)).credentials;
  }

  private lookup(registry: string): Promise<CredentialLookup> {
    if (this.override && this.override.registry === registry) {
      return Promise.resolve({ credentials: this.override.credentials, source: 'login' });
    }
    let p = this.lookups.get(registry);
    if (!p) {
      p = this.credentials ? this.credentials.get(registry) : Promise.resolve({ source: 'none' });
      this.lookups.set(registry, p);
    }
    return p;
  }
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
