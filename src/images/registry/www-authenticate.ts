/**
 * Parses `WWW-Authenticate` headers (RFC 7235): one or more challenges, each a scheme and
 * comma-separated `name=value` parameters whose values may be quoted strings with `\`
 * escapes. Registries answer with `Bearer realm=...,service=...,scope=...` or `Basic realm=...`.
 */
export interface AuthChallenge {
  /** Lower-cased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lower-cased. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*/y;

export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const match = (re: RegExp): string | undefined => {
    re.lastIndex = i;
    const m = re.exec(header);
    if (!m) return undefined;
    i = re.lastIndex;
    return m[0];
  };
  let current: AuthChallenge | undefined;
  while (i < header.length) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const word = match(TOKEN);
    if (word === undefined) {
      i++; // junk character: skip it rather than give up on the whole header
      continue;
    }
    skipSpace();
    if (header[i] === '=' && current) {
      // `name=value` of the current challenge (unless it is a token68 such as `abc==`).
      i++;
      skipSpace();
      let value: string;
      if (header[i] === '"') {
        value = '';
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = match(TOKEN) ?? '';
      }
      current.params[word.toLowerCase()] = value;
      continue;
    }
    // A new challenge: `scheme` followed by parameters or a token68.
    current = { scheme: word.toLowerCase(), params: {} };
    out.push(current);
    const before = i;
    const t68 = match(TOKEN68);
    if (t68 !== undefined) {
      skipSpace();
      if (header[i] === '=' || (i < header.length && header[i] !== ',')) {
        i = before; // it was the first parameter's name, not a token68
      } else {
        current.params['token68'] = t68;
      }
    }
    if (i === start) i++;
  }
  return out;
}
