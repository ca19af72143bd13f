/**
 * Dockerfile syntax at the word level, shared by everything that reads instructions: today
 * `--change` for commit and import (src/images/config-changes.ts), later the builder. It
 * knows nothing of what an instruction means: it joins a text into logical lines (`\`
 * continuations, comments, blank lines) and splits arguments into words with Dockerfile
 * quoting, backslash escapes and `$VAR`/`${VAR}`/`${VAR:-default}`/`${VAR:+alt}` expansion.
 *
 * Errors are BerthErrors (EINVALID_ARGUMENT) that describe the syntax only ("unterminated
 * single quote"); the caller says which instruction or flag they came from.
 */
import { BerthError } from '../core/errors';

function syntaxError(why: string, hint?: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', why, hint !== undefined ? { hint } : {});
}

/** Joins `\` continuations and drops blank and comment lines: one string per instruction. */
export function logicalLines(input: string): string[] {
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

/**
 * Splits `input` into words at unquoted white space, removing quotes and backslash escapes
 * and, when `env` is given, expanding variables (not inside single quotes). Without `env`
 * variables are kept verbatim (a syntax check).
 */
export function lexWords(input: string, env: Map<string, string> | undefined): string[] {
  return new Lexer(input, env).words(true);
}

/** The same for one word in which white space is kept (USER, WORKDIR, legacy ENV values). */
export function lexWord(input: string, env: Map<string, string> | undefined): string {
  return new Lexer(input, env).words(false).join('');
}

class Lexer {
  private pos = 0;
  constructor(
    private readonly s: string,
    private readonly env: Map<string, string> | undefined,
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
    if (end < 0) throw syntaxError('unterminated single quote');
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
    throw syntaxError('unterminated double quote');
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
      if (!m) throw syntaxError(`bad substitution "\${${body}}"`, 'use ${NAME}, ${NAME:-default} or ${NAME:+alternative}');
      if (!this.env) return this.s.slice(start, this.pos);
      const value = this.env.get(m[1]!);
      if (m[2] === '-') return value ? value : lexWord(m[3]!, this.env);
      if (m[2] === '+') return value ? lexWord(m[3]!, this.env) : '';
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
    throw syntaxError('unterminated "${"');
  }
}
