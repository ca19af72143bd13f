/**
 * `--change` for import and commit: the subset of Dockerfile instructions that only change
 * the image configuration (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
 * VOLUME, WORKDIR), with Dockerfile syntax: JSON ("exec") or shell form for CMD/ENTRYPOINT,
 * `key=value` pairs (or the legacy `key value`) for ENV/LABEL, quotes and backslash escapes,
 * `$VAR`/`${VAR}`/`${VAR:-default}`/`${VAR:+alt}` expansion against the image's environment
 * where Docker expands, and `\` line continuations.
 *
 * `parseChanges` checks the syntax up front (so the CLI can refuse a bad flag before doing
 * any work); `applyChanges` interprets the instructions in order against a config, because
 * expansion and relative WORKDIRs depend on what earlier instructions set.
 */
import { posix } from 'node:path';
import { BerthError } from '../core/errors';
import type { ImageConfig } from './config';

/** The run defaults part of an image config (`config` in the JSON). */
export type RunConfig = NonNullable<ImageConfig['config']>;

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;
export type ChangeInstruction = (typeof CHANGE_INSTRUCTIONS)[number];

/** Dockerfile instructions that --change refuses (they need a build, not a config edit). */
const BUILD_ONLY = new Set(['FROM', 'RUN', 'ADD', 'COPY', 'ARG', 'SHELL', 'HEALTHCHECK', 'MAINTAINER']);
/** ONBUILD may not wrap these (as in Docker). */
const NOT_TRIGGERS = new Set(['ONBUILD', 'FROM', 'MAINTAINER']);

export interface ConfigChange {
  instruction: ChangeInstruction;
  /** Everything after the keyword, continuation lines joined, as written. */
  args: string;
  /** The instruction as given (for error messages and ONBUILD). */
  text: string;
}

function changeError(text: string, why: string, hint?: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid --change "${text}": ${why}`, {
    hint: hint ?? `supported instructions: ${CHANGE_INSTRUCTIONS.join(', ')}`,
  });
}

/** Joins `\` continuations and drops blank and comment lines: one string per instruction. */
function logicalLines(input: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const raw of input.split(/\r?\n/)) {
    const line = current === '' ? raw.trimStart() : raw;
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, '');
      continue;
    }
    current += line;
    out.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

/** Parses `--change` values (each may hold several lines); throws naming the bad one. */
export function parseChanges(values: readonly string[]): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const value of values) {
    const lines = logicalLines(value);
    if (lines.length === 0) throw changeError(value, 'it is empty');
    for (const text of lines) {
      const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(text)!;
      const keyword = m[1]!.toUpperCase();
      const args = (m[2] ?? '').trim();
      if (BUILD_ONLY.has(keyword)) throw changeError(text, `${keyword} is not allowed in --change (it needs a build, not a configuration change)`);
      if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(keyword)) throw changeError(text, `unknown instruction "${m[1]}"`);
      const change: ConfigChange = { instruction: keyword as ChangeInstruction, args, text };
      checkSyntax(change);
      out.push(change);
    }
  }
  return out;
}

/** Syntax checks that do not depend on the config (expansion is left for applyChanges). */
function checkSyntax(c: ConfigChange): void {
  const { instruction: ins, args, text } = c;
  if (args === '' && ins !== 'CMD' && ins !== 'ENTRYPOINT') throw changeError(text, `${ins} needs an argument`);
  switch (ins) {
    case 'CMD':
    case 'ENTRYPOINT':
      if (args === '') throw changeError(text, `${ins} needs a command (a JSON array such as ["/bin/sh"] or a shell command line)`);
      return;
    case 'ENV':
    case 'LABEL':
      keyValues(c, undefined);
      return;
    case 'EXPOSE':
      for (const w of lexWords(args, undefined, text)) if (!w.includes('$')) exposedPorts(w, text);
      return;
    case 'VOLUME':
      volumes(args, undefined, text);
      return;
    case 'ONBUILD': {
      const trigger = (/^\S+/.exec(args)?.[0] ?? '').toUpperCase();
      if (NOT_TRIGGERS.has(trigger)) throw changeError(text, `ONBUILD ${trigger} is not allowed`, 'an ONBUILD trigger may not be ONBUILD, FROM or MAINTAINER');
      return;
    }
    case 'STOPSIGNAL':
    case 'USER':
    case 'WORKDIR':
      lexWord(args, undefined, text);
      return;
  }
}

/**
 * Applies parsed changes in order to a copy of `config` and returns it. As in a Dockerfile,
 * ENTRYPOINT clears an inherited CMD unless a CMD change came before it in the same list.
 */
export function applyChanges(config: RunConfig | null | undefined, changes: readonly ConfigChange[]): RunConfig {
  const cfg: RunConfig = structuredClone(config ?? {});
  let cmdSet = false;
  for (const c of changes) {
    const env = envMap(cfg.Env ?? []);
    switch (c.instruction) {
      case 'CMD':
        cfg.Cmd = command(c.args);
        cmdSet = true;
        break;
      case 'ENTRYPOINT':
        cfg.Entrypoint = command(c.args);
        if (!cmdSet) cfg.Cmd = null;
        break;
      case 'ENV': {
        const list = [...(cfg.Env ?? [])];
        for (const [k, v] of keyValues(c, env)) {
          const i = list.findIndex((e) => e.split('=', 1)[0] === k);
          if (i >= 0) list[i] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
        }
        cfg.Env = list;
        break;
      }
      case 'LABEL':
        cfg.Labels = { ...(cfg.Labels ?? {}), ...Object.fromEntries(keyValues(c, env)) };
        break;
      case 'EXPOSE': {
        const ports = { ...(cfg.ExposedPorts ?? {}) };
        for (const w of lexWords(c.args, env, c.text)) for (const p of exposedPorts(w, c.text)) ports[p] = {};
        cfg.ExposedPorts = ports;
        break;
      }
      case 'VOLUME': {
        const vols = { ...(cfg.Volumes ?? {}) };
        for (const v of volumes(c.args, env, c.text)) vols[v] = {};
        cfg.Volumes = vols;
        break;
      }
      case 'USER':
        cfg.User = lexWord(c.args, env, c.text);
        if (cfg.User === '') throw changeError(c.text, 'USER expands to an empty name');
        break;
      case 'WORKDIR': {
        const dir = lexWord(c.args, env, c.text);
        if (dir === '') throw changeError(c.text, 'WORKDIR expands to an empty path');
        cfg.WorkingDir = posix.resolve('/', cfg.WorkingDir || '/', dir);
        break;
      }
      case 'STOPSIGNAL': {
        const sig = lexWord(c.args, env, c.text);
        if (!isSignal(sig)) throw changeError(c.text, `"${sig}" is not a signal`, 'give a signal name (SIGTERM, TERM, SIGRTMIN+3) or number (1-64)');
        cfg.StopSignal = sig;
        break;
      }
      case 'ONBUILD': {
        const prev = Array.isArray(cfg['OnBuild']) ? (cfg['OnBuild'] as unknown[]).filter((t): t is string => typeof t === 'string') : [];
        cfg['OnBuild'] = [...prev, c.args];
        break;
      }
    }
  }
  return cfg;
}

/** Parses and applies in one step (the CLI's `--change` values). */
export function applyChangeStrings(config: RunConfig | null | undefined, values: readonly string[]): RunConfig {
  return applyChanges(config, parseChanges(values));
}

/** Exec form (a JSON array of strings) or shell form (`/bin/sh -c "<args>"`), as Docker decides. */
function command(args: string): string[] {
  if (args.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(args);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      // Not JSON: Docker takes it as a shell command line, and so do we.
    }
  }
  return ['/bin/sh', '-c', args];
}

function envMap(list: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of list) {
    const eq = e.indexOf('=');
    m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

/** ENV/LABEL pairs: `k=v k2="v 2"` or the legacy `k value with spaces`. */
function keyValues(c: ConfigChange, env: Map<string, string> | undefined): [string, string][] {
  const first = /^\S+/.exec(c.args)?.[0] ?? '';
  const out: [string, string][] = [];
  if (!first.includes('=')) {
    const rest = c.args.slice(first.length).trim();
    if (rest === '') throw changeError(c.text, `${c.instruction} needs a value: ${c.instruction} name=value (or the legacy ${c.instruction} name value)`);
    out.push([lexWord(first, env, c.text), lexWord(rest, env, c.text)]);
  } else {
    for (const w of lexWords(c.args, env, c.text)) {
      const eq = w.indexOf('=');
      if (eq < 0) throw changeError(c.text, `"${w}" is not name=value (mixing the name=value and legacy forms is not allowed)`);
      out.push([w.slice(0, eq), w.slice(eq + 1)]);
    }
  }
  for (const [k] of out) {
    if (k === '') throw changeError(c.text, `${c.instruction} names may not be empty`);
    if (c.instruction === 'ENV' && /[\s=]/.test(k)) throw changeError(c.text, `"${k}" is not a valid environment variable name`);
  }
  return out;
}

const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/** `80`, `80/udp`, `8000-8002/tcp` → `80/tcp` ... */
function exposedPorts(word: string, text: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(word);
  const proto = (m?.[3] ?? 'tcp').toLowerCase();
  if (!m || !PROTOCOLS.has(proto)) throw changeError(text, `"${word}" is not a port`, 'EXPOSE takes PORT[/PROTOCOL] or START-END[/PROTOCOL], protocols tcp, udp, sctp');
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (start < 1 || end > 65535 || end < start) throw changeError(text, `port range "${word}" is not within 1-65535 or ends before it starts`);
  if (end - start > 65535) throw changeError(text, `port range "${word}" is too large`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

function volumes(args: string, env: Map<string, string> | undefined, text: string): string[] {
  let list: string[] | undefined;
  if (args.startsWith('[')) {
    try {
      const v: unknown = JSON.parse(args);
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) list = (v as string[]).map((p) => (env ? lexWord(p, env, text) : p));
    } catch {
      list = undefined;
    }
  }
  list ??= lexWords(args, env, text);
  if (list.length === 0 || list.some((p) => p.trim() === '')) throw changeError(text, 'VOLUME paths may not be empty');
  return list;
}

function isSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
  return /^(SIG)?(RTMIN|RTMAX)([+-]\d+)?$/i.test(s) || /^(SIG)?[A-Z][A-Z0-9]*$/i.test(s);
}

// --- Dockerfile word lexing ----------------------------------------------------------------

/**
 * Splits `input` into words at unquoted white space, removing quotes and backslash escapes
 * and, when `env` is given, expanding variables (not inside single quotes). Without `env`
 * variables are kept verbatim (a syntax check).
 */
export function lexWords(input: string, env: Map<string, string> | undefined, text = input): string[] {
  return new Lexer(input, env, text).words(true);
}

/** The same for one word in which white space is kept (USER, WORKDIR, legacy ENV values). */
export function lexWord(input: string, env: Map<string, string> | undefined, text = input): string {
  return new Lexer(input, env, text).words(false).join('');
}

class Lexer {
  private pos = 0;
  constructor(
    private readonly s: string,
    private readonly env: Map<string, string> | undefined,
    private readonly text: string,
  ) {}

  words(split: boolean): string[] {
    const out: string[] = [];
    let word = '';
    let inWord = false;
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (split && /\s/.test(ch)) {
        if (inWord) out.push(word);
        word = '';
        inWord = false;
        this.pos++;
        continue;
      }
      inWord = true;
      if (ch === "'") word += this.singleQuoted();
      else if (ch === '"') word += this.doubleQuoted();
      else if (ch === '\\') {
        this.pos++;
        if (this.pos < this.s.length) word += this.s[this.pos++];
        else word += '\\';
      } else if (ch === '$') word += this.variable();
      else {
        word += ch;
        this.pos++;
      }
    }
    if (inWord) out.push(word);
    return out;
  }

  private singleQuoted(): string {
    const end = this.s.indexOf("'", this.pos + 1);
    if (end < 0) throw changeError(this.text, 'unterminated single quote');
    const v = this.s.slice(this.pos + 1, end);
    this.pos = end + 1;
    return v;
  }

  private doubleQuoted(): string {
    let v = '';
    this.pos++;
    while (this.pos < this.s.length) {
      const ch = this.s[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return v;
      }
      if (ch === '\\' && this.pos + 1 < this.s.length && '"\\$'.includes(this.s[this.pos + 1]!)) {
        v += this.s[this.pos + 1];
        this.pos += 2;
      } else if (ch === '$') v += this.variable();
      else {
        v += ch;
        this.pos++;
      }
    }
    throw changeError(this.text, 'unterminated double quote');
  }

  /** `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME:+word}`; a lone `$` stays. */
  private variable(): string {
    const start = this.pos;
    this.pos++;
    if (this.s[this.pos] === '{') {
      const end = this.matchingBrace(this.pos);
      const body = this.s.slice(this.pos + 1, end);
      this.pos = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([\s\S]*))?$/.exec(body);
      if (!m) throw changeError(this.text, `bad substitution "\${${body}}"`, 'use ${NAME}, ${NAME:-default} or ${NAME:+alternative}');
      if (!this.env) return this.s.slice(start, this.pos);
      const value = this.env.get(m[1]!);
      if (m[2] === '-') return value ? value : lexWord(m[3]!, this.env, this.text);
      if (m[2] === '+') return value ? lexWord(m[3]!, this.env, this.text) : '';
      return value ?? '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.pos));
    if (!m) return '$';
    this.pos += m[0].length;
    if (!this.env) return this.s.slice(start, this.pos);
    return this.env.get(m[0]) ?? '';
  }

  private matchingBrace(open: number): number {
    let depth = 0;
    for (let i = open; i < this.s.length; i++) {
      if (this.s[i] === '{') depth++;
      else if (this.s[i] === '}' && --depth === 0) return i;
    }
    throw changeError(this.text, 'unterminated "${"');
  }
}
