/**
 * Parsers for the docker value syntaxes that `run`, `create`, compose and the API share:
 * durations ("1m30s"), restart policies ("on-failure:3"), ulimits ("nofile=1024:2048"),
 * extra hosts ("db:10.0.0.2"), env files, and `--cpus`. Each error names the flag, the
 * value and the accepted forms.
 */
import { readFileSync } from 'node:fs';
import { BerthError, errnoCode } from '../../core/errors';
import type { RestartPolicy, Ulimit } from '../docker-types';

export function invalidFlag(flag: string, value: string, accepted: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid value "${value}" for ${flag}`, { hint: `accepted: ${accepted}` });
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("300ms", "1m30s", "2h"); returns milliseconds. A bare "0" is allowed. */
export function parseDuration(flag: string, text: string): number {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  if (!s || matched !== s.length) throw invalidFlag(flag, text, 'a duration such as 30s, 1m30s, 500ms or 2h');
  return total;
}

export function parseRestartPolicy(text: string): RestartPolicy {
  const [name, count, extra] = text.split(':');
  const accepted = 'no, always, unless-stopped, on-failure[:MAX-RETRIES]';
  if (extra !== undefined) throw invalidFlag('--restart', text, accepted);
  switch (name) {
    case 'no':
    case 'always':
    case 'unless-stopped':
      if (count !== undefined) throw invalidFlag('--restart', text, `${accepted} (only on-failure takes a count)`);
      return { Name: name, MaximumRetryCount: 0 };
    case 'on-failure': {
      if (count !== undefined && !/^\d+$/.test(count)) throw invalidFlag('--restart', text, accepted);
      return { Name: 'on-failure', MaximumRetryCount: count === undefined ? 0 : Number(count) };
    }
    default:
      throw invalidFlag('--restart', text, accepted);
  }
}

const ULIMITS = ['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack', 'as'];

/** "nofile=1024" or "nofile=1024:2048" (soft:hard); -1 means unlimited. */
export function parseUlimit(text: string): Ulimit {
  const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(text.trim());
  const accepted = `NAME=SOFT[:HARD] with NAME one of ${ULIMITS.join(', ')}`;
  if (!m || !ULIMITS.includes(m[1]!)) throw invalidFlag('--ulimit', text, accepted);
  const soft = Number(m[2]);
  const hard = m[3] === undefined ? soft : Number(m[3]);
  if (hard !== -1 && soft !== -1 && soft > hard) {
    throw new BerthError('EINVALID_ARGUMENT', `invalid --ulimit "${text}": soft limit ${soft} is above the hard limit ${hard}`, {
      hint: 'give SOFT:HARD with SOFT ≤ HARD',
    });
  }
  return { Name: m[1]!, Soft: soft, Hard: hard };
}

/** "--add-host db:10.0.0.2" (also "db=10.0.0.2"); kept in docker's "host:ip" form. */
export function parseExtraHost(text: string): string {
  const i = text.search(/[:=]/);
  const host = i > 0 ? text.slice(0, i) : '';
  const ip = i > 0 ? text.slice(i + 1) : '';
  const ipOk = ip === 'host-gateway' || /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || (ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip.replace(/^\[|\]$/g, '')));
  if (!host || !/^[A-Za-z0-9_.-]+$/.test(host) || !ipOk) throw invalidFlag('--add-host', text, 'HOST:IP, e.g. db:10.0.0.2');
  return `${host}:${ip.replace(/^\[|\]$/g, '')}`;
}

/** `--cpus 1.5` → NanoCpus. */
export function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text.trim()) || !(n > 0)) throw invalidFlag('--cpus', text, 'a positive number of CPUs, e.g. 0.5 or 2');
  return Math.round(n * 1e9);
}

/** `-e KEY=VALUE`; `-e KEY` takes KEY from our environment (and is dropped when unset), as docker does. */
export function parseEnvEntry(text: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!text || text.startsWith('=')) throw invalidFlag('--env', text, 'KEY=VALUE or KEY');
  if (text.includes('=')) return text;
  const v = env[text];
  return v === undefined ? undefined : `${text}=${v}`;
}

/**
 * `--env-file`: KEY=VALUE lines, # comments and blank lines ignored, bare KEY taken from our environment.
 * Synchronous: only the CLI reads env files, while it parses its flags (an API request carries
 * the variables themselves); it reads one small file the user named.
 */
export function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BerthError('EINVALID_ARGUMENT', `--env-file ${path}: ${errnoCode(e) === 'ENOENT' ? 'no such file' : String(e)}`, {
      hint: 'give the path of a file with KEY=VALUE lines',
      cause: e,
    });
  }
  const out: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    if (/\s/.test(line.split('=')[0]!)) {
      throw new BerthError('EINVALID_ARGUMENT', `--env-file ${path}:${i + 1}: variable name "${line.split('=')[0]}" contains whitespace`, {
        hint: 'each line is KEY=VALUE with no spaces in KEY',
      });
    }
    const e = parseEnvEntry(line, env);
    if (e !== undefined) out.push(e);
  });
  return out;
}

/** `--label-file` / `-l KEY=VALUE` (a bare KEY gets an empty value). */
export function parseLabel(text: string): [string, string] {
  if (!text || text.startsWith('=')) throw invalidFlag('--label', text, 'KEY=VALUE or KEY');
  const i = text.indexOf('=');
  return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + 1)];
}

/** `--sysctl KEY=VALUE`. */
export function parseKeyValue(flag: string, text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw invalidFlag(flag, text, 'KEY=VALUE');
  return [text.slice(0, i), text.slice(i + 1)];
}
