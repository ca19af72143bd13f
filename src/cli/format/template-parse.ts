/**
 * Parser for the subset of Go's text/template that docker users put in `--format`:
 * `{{.Field.Sub}}`, `{{json .}}`, `{{join .Names ","}}`, pipelines with `|`, string/number
 * literals, `$` for the root, variables (`$x := ...`, `$x = ...`, `range $k, $v := ...`),
 * `(...)` sub-pipelines and their fields, `if`/`else if`/`else`, `range`, `with`,
 * `end`, and the `{{-`/`-}}` whitespace trims. Anything else is a clear parse error naming the
 * offset, so a typo never silently prints nothing.
 */
import { BerthError } from '../../core/errors';

export type Operand =
  | { kind: 'field'; root: 'dot' | 'dollar'; path: string[] }
  /** `$x.Field`: a variable (`$` is the root) and fields of it. */
  | { kind: 'var'; name: string; path: string[] }
  /** `(pipeline).Field`. */
  | { kind: 'chain'; base: Operand; path: string[] }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'ident'; name: string }
  | { kind: 'pipeline'; pipeline: Pipeline };

/** One command of a pipeline: a function call (first operand an ident) or a single value. */
export type Command = Operand[];
export type Pipeline = Command[];

/** `$x := ...` declares (in the enclosing block), `$x = ...` assigns; `range $k, $v := ...`. */
export interface Decl {
  names: string[];
  assign: boolean;
}

export type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline; decl?: Decl }
  | { kind: 'if'; branches: { cond: Pipeline; decl?: Decl; body: Node[] }[]; otherwise: Node[] }
  | { kind: 'range'; pipeline: Pipeline; decl?: Decl; body: Node[]; otherwise: Node[] }
  | { kind: 'with'; pipeline: Pipeline; decl?: Decl; body: Node[]; otherwise: Node[] };

function templateError(message: string, src: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `invalid --format template: ${message}`, {
    hint: `the template was ${JSON.stringify(src)}; use Go template syntax such as '{{.ID}}' or '{{json .}}'`,
  });
}

interface RawAction {
  text: string;
  /** Offset of the action in the source, for errors. */
  at: number;
}

/** Splits the source into text and `{{ }}` actions, applying trim markers. */
function lex(src: string): Array<string | RawAction> {
  const out: Array<string | RawAction> = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push(src.slice(i));
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1] ?? '')) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text) out.push(text);
    const close = findClose(src, start);
    if (close < 0) throw templateError(`unclosed action at offset ${open}`, src);
    let end = close;
    let trimAfter = false;
    if (src[close - 1] === '-' && /\s/.test(src[close - 2] ?? '')) {
      end = close - 1;
      trimAfter = true;
    }
    out.push({ text: src.slice(start, end).trim(), at: open });
    i = close + 2;
    if (trimAfter) while (i < src.length && /\s/.test(src[i]!)) i++;
  }
  return out;
}

/** Index of the `}}` closing an action, skipping string literals that may contain braces. */
function findClose(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === '`') {
      const q = c;
      for (i++; i < src.length && src[i] !== q; i++) if (q === '"' && src[i] === '\\') i++;
    } else if (c === '}' && src[i + 1] === '}') return i;
  }
  return -1;
}

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'word'; v: string }
  /** `chained`: right after a ")" (`(index .A 0).B`). */
  | { t: 'field'; v: string; chained?: boolean }
  | { t: 'sym'; v: string };

function tokenize(text: string, src: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\') {
          const e = text[++j];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === '"' ? '"' : e === '\\' ? '\\' : `\\${e ?? ''}`;
        } else s += text[j];
      }
      if (j >= text.length) throw templateError(`unterminated string in {{${text}}}`, src);
      toks.push({ t: 'str', v: s });
      i = j + 1;
    } else if (c === '`') {
      const j = text.indexOf('`', i + 1);
      if (j < 0) throw templateError(`unterminated raw string in {{${text}}}`, src);
      toks.push({ t: 'str', v: text.slice(i + 1, j) });
      i = j + 1;
    } else if (c === '|' || c === '(' || c === ')') {
      toks.push({ t: 'sym', v: c });
      i++;
    } else if (c === ':' && text[i + 1] === '=') {
      toks.push({ t: 'sym', v: ':=' });
      i += 2;
    } else if (c === '=' || c === ',') {
      toks.push({ t: 'sym', v: c });
      i++;
    } else if (c === '$') {
      const m = /^\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i))!;
      toks.push({ t: 'field', v: m[0] });
      i += m[0].length;
    } else if (c === '.') {
      const m = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(text.slice(i))!;
      const prev = toks[toks.length - 1];
      toks.push({ t: 'field', v: m[0], ...(prev?.t === 'sym' && prev.v === ')' && text[i - 1] === ')' ? { chained: true } : {}) });
      i += m[0].length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?[0-9]+(\.[0-9]+)?/.exec(text.slice(i));
      if (!m) throw templateError(`unexpected "${c}" in {{${text}}}`, src);
      toks.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      toks.push({ t: 'word', v: m[0] });
      i += m[0].length;
    } else {
      throw templateError(`unexpected "${c}" in {{${text}}}`, src);
    }
  }
  return toks;
}

function fieldOperand(v: string): Operand {
  if (v.startsWith('$')) {
    const [name, ...path] = v.split('.');
    return { kind: 'var', name: name!, path };
  }
  return { kind: 'field', root: 'dot', path: v.split('.').filter(Boolean) };
}

function parsePipeline(toks: Token[], pos: { i: number }, src: string, text: string): Pipeline {
  const pipeline: Pipeline = [];
  let cmd: Command = [];
  while (pos.i < toks.length) {
    const tok = toks[pos.i]!;
    if (tok.t === 'sym' && tok.v === ')') break;
    pos.i++;
    if (tok.t === 'sym' && tok.v === '|') {
      if (!cmd.length) throw templateError(`empty command before "|" in {{${text}}}`, src);
      pipeline.push(cmd);
      cmd = [];
    } else if (tok.t === 'sym' && tok.v === '(') {
      const inner = parsePipeline(toks, pos, src, text);
      const closing = toks[pos.i];
      if (!closing || closing.t !== 'sym' || closing.v !== ')') throw templateError(`missing ")" in {{${text}}}`, src);
      pos.i++;
      cmd.push({ kind: 'pipeline', pipeline: inner });
    } else if (tok.t === 'str' || tok.t === 'num') {
      cmd.push({ kind: 'literal', value: tok.v });
    } else if (tok.t === 'field' && tok.chained && cmd.length) {
      cmd.push({ kind: 'chain', base: cmd.pop()!, path: tok.v.split('.').filter(Boolean) });
    } else if (tok.t === 'field') {
      cmd.push(fieldOperand(tok.v));
    } else if (tok.t === 'sym') {
      throw templateError(`unexpected "${tok.v}" in {{${text}}}`, src);
    } else if (tok.t === 'word') {
      if (tok.v === 'true' || tok.v === 'false') cmd.push({ kind: 'literal', value: tok.v === 'true' });
      else if (tok.v === 'nil') cmd.push({ kind: 'literal', value: null });
      else cmd.push({ kind: 'ident', name: tok.v });
    }
  }
  if (!cmd.length) throw templateError(`empty pipeline in {{${text}}}`, src);
  pipeline.push(cmd);
  return pipeline;
}

/** A pipeline with its declaration, if any: `$x := p`, `$x = p`, `$k, $v := p`. */
function declPipelineOf(text: string, src: string): { pipeline: Pipeline; decl?: Decl } {
  const toks = tokenize(text, src);
  const pos = { i: 0 };
  let decl: Decl | undefined;
  const isVar = (t: Token | undefined) => t?.t === 'field' && /^\$[A-Za-z0-9_]*$/.test(t.v);
  const isSym = (t: Token | undefined, v: string) => t?.t === 'sym' && t.v === v;
  if (isVar(toks[0]) && (isSym(toks[1], ':=') || isSym(toks[1], '='))) {
    decl = { names: [toks[0]!.v as string], assign: isSym(toks[1], '=') };
    pos.i = 2;
  } else if (isVar(toks[0]) && isSym(toks[1], ',') && isVar(toks[2]) && isSym(toks[3], ':=')) {
    decl = { names: [toks[0]!.v as string, toks[2]!.v as string], assign: false };
    pos.i = 4;
  }
  const p = parsePipeline(toks, pos, src, text);
  if (pos.i !== toks.length) throw templateError(`unexpected ")" in {{${text}}}`, src);
  return decl ? { pipeline: p, decl } : { pipeline: p };
}

/** Parses a template into a tree of nodes. */
export function parseTemplate(src: string): Node[] {
  const items = lex(src);
  let i = 0;
  // Parses nodes until one of `stops` ("end", "else") and returns the stop keyword met.
  const parseList = (stops: string[]): { nodes: Node[]; stop: RawAction | undefined } => {
    const nodes: Node[] = [];
    while (i < items.length) {
      const item = items[i++]!;
      if (typeof item === 'string') {
        nodes.push({ kind: 'text', text: item });
        continue;
      }
      const kw = /^([a-z]+)\b\s*(.*)$/s.exec(item.text);
      const word = kw?.[1];
      if (word && stops.includes(word)) return { nodes, stop: item };
      if (word === 'end' || word === 'else') throw templateError(`unexpected {{${item.text}}} at offset ${item.at}`, src);
      if (word === 'if') nodes.push(parseIf(kw![2]!, item));
      else if (word === 'range' || word === 'with') nodes.push(parseBlock(word, kw![2]!, item));
      else if (item.text.startsWith('/*')) continue; // comment
      else nodes.push({ kind: 'action', ...declPipelineOf(item.text, src) });
    }
    return { nodes, stop: undefined };
  };
  const expectEnd = (r: { stop: RawAction | undefined }, opener: RawAction): RawAction => {
    if (!r.stop) throw templateError(`{{${opener.text}}} at offset ${opener.at} has no {{end}}`, src);
    return r.stop;
  };
  const parseIf = (cond: string, opener: RawAction): Node => {
    const branches: { cond: Pipeline; decl?: Decl; body: Node[] }[] = [];
    let condText = cond;
    for (;;) {
      const r = parseList(['end', 'else']);
      const c = declPipelineOf(condText, src);
      branches.push({ cond: c.pipeline, ...(c.decl ? { decl: c.decl } : {}), body: r.nodes });
      const stop = expectEnd(r, opener);
      if (stop.text === 'end') return { kind: 'if', branches, otherwise: [] };
      const elseIf = /^else\s+if\s+(.*)$/s.exec(stop.text);
      if (elseIf) {
        condText = elseIf[1]!;
        continue;
      }
      const rest = parseList(['end']);
      expectEnd(rest, opener);
      return { kind: 'if', branches, otherwise: rest.nodes };
    }
  };
  const parseBlock = (kind: 'range' | 'with', arg: string, opener: RawAction): Node => {
    const r = parseList(['end', 'else']);
    const stop = expectEnd(r, opener);
    let otherwise: Node[] = [];
    if (stop.text !== 'end') {
      const rest = parseList(['end']);
      expectEnd(rest, opener);
      otherwise = rest.nodes;
    }
    const p = declPipelineOf(arg, src);
    if (p.decl && (p.decl.assign || (kind === 'with' && p.decl.names.length > 1))) throw templateError(`bad declaration in {{${opener.text}}}`, src);
    return { kind, pipeline: p.pipeline, ...(p.decl ? { decl: p.decl } : {}), body: r.nodes, otherwise };
  };
  const top = parseList([]);
  return top.nodes;
}
