/**
 * `--change` for import and commit: the subset of Dockerfile instructions that only change
 * the image configuration (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER,
 * VOLUME, WORKDIR), with Dockerfile syntax: JSON ("exec") or shell form for CMD/ENTRYPOINT,
 * `key=value` pairs (or the legacy `key value`) for ENV/LABEL, quotes and backslash escapes,
 * `$VAR`/`${VAR}`/`${VAR:-default}`/`${VAR:+alt}` expansion against the image's environment
 * where Docker expands, and `\` line continuations.
 *
 * The Dockerfile syntax itself (lines, words, quoting, expansion) is the builder's lexer,
 * src/build/instruction-lexer.ts; this module gives the instructions their meaning.
 *
 * `parseChanges` checks the syntax up front (so the CLI can refuse a bad flag before doing
 * any work); `applyChanges` interprets the instructions in order against a config, because
 * expansion and relative WORKDIRs depend on what earlier instructions set.
 */
import { posix } from 'node:path';
import { BerthError } from '../core/errors';
import type { ImageConfig } from './config';
import { lexWord, lexWords, logicalLines } from '../build/instruction-lexer';

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

/** The lexer's errors, named after the instruction they are in. */
function inInstruction<T>(text: string, lex: () => T): T {
  try {
    return lex();
  } catch (e) {
    if (e instanceof BerthError && e.code === 'EINVALID_ARGUMENT') throw changeError(text, e.message, e.hint);
    throw e;
  }
}

function words(input: string, env: Map<string, string> | undefined, text: string): string[] {
  return inInstruction(text, () => lexWords(input, env));
}

function word(input: string, env: Map<string, string> | undefined, text: string): string {
  return inInstruction(text, () => lexWord(input, env));
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
      for (const w of words(args, undefined, text)) if (!w.includes('$')) exposedPorts(w, text);
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
      word(args, undefined, text);
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
        for (const w of words(c.args, env, c.text)) for (const p of exposedPorts(w, c.text)) ports[p] = {};
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
        cfg.User = word(c.args, env, c.text);
        if (cfg.User === '') throw changeError(c.text, 'USER expands to an empty name');
        break;
      case 'WORKDIR': {
        const dir = word(c.args, env, c.text);
        if (dir === '') throw changeError(c.text, 'WORKDIR expands to an empty path');
        cfg.WorkingDir = posix.resolve('/', cfg.WorkingDir || '/', dir);
        break;
      }
      case 'STOPSIGNAL': {
        const sig = word(c.args, env, c.text);
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
    out.push([word(first, env, c.text), word(rest, env, c.text)]);
  } else {
    for (const w of words(c.args, env, c.text)) {
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
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) list = (v as string[]).map((p) => (env ? word(p, env, text) : p));
    } catch {
      list = undefined;
    }
  }
  list ??= words(args, env, text);
  if (list.length === 0 || list.some((p) => p.trim() === '')) throw changeError(text, 'VOLUME paths may not be empty');
  return list;
}

function isSignal(s: string): boolean {
  if (/^\d+$/.test(s)) return Number(s) >= 1 && Number(s) <= 64;
  return /^(SIG)?(RTMIN|RTMAX)([+-]\d+)?$/i.test(s) || /^(SIG)?[A-Z][A-Z0-9]*$/i.test(s);
}
