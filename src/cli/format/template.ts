/**
 * Executes `--format` templates (see template-parse.ts) the way docker prints them: values are
 * rendered as Go would (`[a b]` for lists, `map[k:v]` for objects, `<nil>` for null), `json`
 * gives compact JSON, and the `table` prefix adds a header row and aligned columns.
 */
import { BerthError } from '../../core/errors';
import { parseTemplate, type Command, type Node, type Operand, type Pipeline } from './template-parse';
import { alignColumns } from './table';

type Fn = (...args: unknown[]) => unknown;

function execError(message: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `--format template: ${message}`, {
    hint: 'check the field names with --format "{{json .}}"',
  });
}

/** Go's %v rendering, which `{{.X}}` uses. */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `map[${keys.map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

const FUNCTIONS: Record<string, Fn> = {
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep ?? '')) : goString(list)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => goString(s).toLowerCase(),
  upper: (s) => goString(s).toUpperCase(),
  title: (s) => goString(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (s, n) => [...goString(s)].slice(0, Number(n)).join(''),
  pad: (s, l, r) => `${' '.repeat(Number(l))}${goString(s)}${' '.repeat(Number(r))}`,
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  index: (v, ...keys) => {
    let cur = v;
    for (const k of keys) cur = cur === null || cur === undefined ? undefined : (cur as Record<string, unknown>)[String(k)];
    return cur;
  },
  print: (...a) => a.map(goString).join(''),
  println: (...a) => `${a.map(goString).join(' ')}\n`,
  printf: (fmt, ...a) => {
    let k = 0;
    return String(fmt).replace(/%[-+ #0]*\d*(?:\.\d+)?[svdq%]/g, (m) => (m === '%%' ? '%' : m.endsWith('q') ? JSON.stringify(goString(a[k++])) : goString(a[k++])));
  },
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  and: (...a) => a.find((x) => !truthy(x)) ?? a[a.length - 1],
  or: (...a) => a.find((x) => truthy(x)) ?? a[a.length - 1],
  not: (a) => !truthy(a),
};

interface Scope {
  dot: unknown;
  root: unknown;
}

function lookupField(base: unknown, path: string[], shown: string): unknown {
  let cur = base;
  for (const name of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object' || !(name in (cur as object))) {
      throw execError(`can't evaluate field ${name} in ${shown || '.'}`);
    }
    cur = (cur as Record<string, unknown>)[name];
    // Rows may expose computed columns as methods (docker's formatting contexts do).
    if (typeof cur === 'function') cur = (cur as () => unknown).call(base);
  }
  return cur;
}

function evalOperand(op: Operand, scope: Scope): unknown {
  switch (op.kind) {
    case 'literal':
      return op.value;
    case 'field':
      return lookupField(op.root === 'dot' ? scope.dot : scope.root, op.path, `${op.root === 'dot' ? '' : '$'}.${op.path.join('.')}`);
    case 'pipeline':
      return evalPipeline(op.pipeline, scope);
    case 'ident': {
      const fn = FUNCTIONS[op.name];
      if (!fn) throw execError(`function "${op.name}" not defined`);
      return fn();
    }
  }
}

function evalCommand(cmd: Command, scope: Scope, piped: unknown[]): unknown {
  const [head, ...rest] = cmd;
  if (head!.kind === 'ident') {
    const fn = FUNCTIONS[head!.name];
    if (!fn) throw execError(`function "${head!.name}" not defined`);
    return fn(...rest.map((o) => evalOperand(o, scope)), ...piped);
  }
  if (rest.length || piped.length) throw execError(`can't give arguments to a non-function value`);
  return evalOperand(head!, scope);
}

function evalPipeline(p: Pipeline, scope: Scope): unknown {
  let value: unknown;
  p.forEach((cmd, i) => {
    value = evalCommand(cmd, scope, i === 0 ? [] : [value]);
  });
  return value;
}

function execNodes(nodes: Node[], scope: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action':
        out.push(goString(evalPipeline(n.pipeline, scope)));
        break;
      case 'if': {
        const hit = n.branches.find((b) => truthy(evalPipeline(b.cond, scope)));
        execNodes(hit ? hit.body : n.otherwise, scope, out);
        break;
      }
      case 'with': {
        const v = evalPipeline(n.pipeline, scope);
        if (truthy(v)) execNodes(n.body, { dot: v, root: scope.root }, out);
        else execNodes(n.otherwise, scope, out);
        break;
      }
      case 'range': {
        const v = evalPipeline(n.pipeline, scope);
        const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, unknown>)[k]) : [];
        if (!items.length) execNodes(n.otherwise, scope, out);
        for (const item of items) execNodes(n.body, { dot: item, root: scope.root }, out);
        break;
      }
    }
  }
}

/** A parsed template, executable against many values. */
export class Template {
  private readonly nodes: Node[];
  constructor(src: string) {
    this.nodes = parseTemplate(src);
  }
  execute(value: unknown): string {
    const out: string[] = [];
    execNodes(this.nodes, { dot: value, root: value }, out);
    return out.join('');
  }
}

/**
 * The escapes docker users type inside shell quotes (`"{{.ID}}\t{{.Names}}"` reaches us with a
 * literal backslash-t): docker turns them into real tabs and newlines, so we do too.
 */
function unescapeFormat(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export interface FormatOptions<Row> {
  /** Header text per field name, for the `table` directive (e.g. `{ ID: 'CONTAINER ID' }`). */
  headers: Record<string, string>;
  /** Value for `--format json` (default: the row itself). */
  json?: (row: Row) => unknown;
}

/**
 * Renders rows with a user's `--format`: `json` prints one JSON document per line,
 * `table TEMPLATE` a header and aligned columns, anything else the template per row.
 */
export function formatRows<Row>(format: string, rows: Row[], opts: FormatOptions<Row>): string {
  if (format === 'json') return rows.map((r) => `${JSON.stringify(opts.json ? opts.json(r) : r)}\n`).join('');
  const table = /^table(\s+|$)/.exec(format);
  const body = unescapeFormat(table ? format.slice(table[0].length) : format);
  const tpl = new Template(body);
  if (!table) return rows.map((r) => `${tpl.execute(r)}\n`).join('');
  // The header row is the same template run against the column titles.
  const header = tpl.execute(new Proxy({}, { has: () => true, get: (_t, k) => (typeof k === 'string' ? (opts.headers[k] ?? k.toUpperCase()) : undefined) }));
  const lines = [header, ...rows.map((r) => tpl.execute(r))];
  return alignColumns(lines.join('\n').split('\n'));
}
