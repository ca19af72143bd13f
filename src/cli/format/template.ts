/**
 * Executes `--format` templates (see template-parse.ts) the way docker prints them: values are
 * rendered as Go would (`[a b]` for lists, `map[k:v]` for objects, `<nil>` for null), `json`
 * gives compact JSON, and the `table` prefix adds a header row and aligned columns.
 */
import { BerthError } from '../../core/errors';
import { parseTemplate, type Command, type Decl, type Node, type Operand, type Pipeline } from './template-parse';
import { alignColumns } from './table';

type Fn = (...args: unknown[]) => unknown;

function execError(message: string): BerthError {
  return new BerthError('EINVALID_ARGUMENT', `--format template: ${message}`, {
    hint: 'check the field names with --format "{{json .}}"',
  });
}

/** Go's %v rendering, which `{{.X}}` uses: a missing map key is `<no value>`, a null `<nil>`. */
export function goString(v: unknown): string {
  if (v === undefined) return '<no value>';
  if (v === null) return '<nil>';
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
  // fmt.Sprint: a space between operands when neither is a string.
  print: (...a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + goString(x)).join(''),
  println: (...a) => `${a.map(goString).join(' ')}\n`,
  printf: (fmt, ...a) => goSprintf(String(fmt), a),
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

/** Go's fmt verbs with flags, width and precision: %s %v %d %f %e %g %q %x %X %o %b %t %T %c %%. */
export function goSprintf(fmt: string, args: unknown[]): string {
  let k = 0;
  return fmt.replace(/%([-+ #0]*)(\*|\d+)?(?:\.(\*|\d*))?([a-zA-Z%])/g, (_m, flags: string, w: string | undefined, p: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const width = w === '*' ? Number(args[k++]) : w !== undefined ? Number(w) : undefined;
    const prec = p === '*' ? Number(args[k++]) : p !== undefined ? Number(p || 0) : undefined;
    if (k >= args.length) return `%!${verb}(MISSING)`;
    const v = args[k++];
    const num = typeof v === 'number' ? v : typeof v === 'boolean' ? NaN : Number(v);
    let s: string;
    switch (verb) {
      case 'd':
        s = Number.isInteger(num) ? String(Math.abs(num)) : `%!d(${goTypeName(v)}=${goString(v)})`;
        if (Number.isInteger(num) && num < 0) s = `-${s}`;
        else if (Number.isInteger(num) && flags.includes('+')) s = `+${s}`;
        break;
      case 'f':
      case 'F':
        s = Number.isNaN(num) ? `%!f(${goTypeName(v)}=${goString(v)})` : num.toFixed(prec ?? 6);
        if (!Number.isNaN(num) && num >= 0 && flags.includes('+')) s = `+${s}`;
        break;
      case 'e':
        s = Number.isNaN(num) ? `%!e(${goTypeName(v)}=${goString(v)})` : num.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        break;
      case 'g':
        s = Number.isNaN(num) ? `%!g(${goTypeName(v)}=${goString(v)})` : prec !== undefined ? String(Number(num.toPrecision(prec || 1))) : String(num);
        break;
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        const base = verb === 'o' ? 8 : verb === 'b' ? 2 : 16;
        s = Number.isInteger(num) ? num.toString(base) : Buffer.from(goString(v)).toString('hex');
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 'q':
        s = JSON.stringify(goString(v));
        break;
      case 't':
        s = typeof v === 'boolean' ? String(v) : `%!t(${goTypeName(v)}=${goString(v)})`;
        break;
      case 'T':
        s = goTypeName(v);
        break;
      case 'c':
        s = Number.isInteger(num) ? String.fromCodePoint(num) : `%!c(${goTypeName(v)}=${goString(v)})`;
        break;
      case 's':
      case 'v':
        s = goString(v);
        if (prec !== undefined && verb === 's') s = [...s].slice(0, prec).join('');
        break;
      default:
        return `%!${verb}(${goTypeName(v)}=${goString(v)})`;
    }
    if (width !== undefined && [...s].length < width) {
      const pad = width - [...s].length;
      if (flags.includes('-')) s += ' '.repeat(pad);
      else if (flags.includes('0') && 'dfFeg'.includes(verb) && /^[-+]/.test(s)) s = s[0] + '0'.repeat(pad) + s.slice(1);
      else if (flags.includes('0') && 'dfFegxXob'.includes(verb)) s = '0'.repeat(pad) + s;
      else s = ' '.repeat(pad) + s;
    }
    return s;
  }) + (k < args.length ? `%!(EXTRA ${args.slice(k).map((x) => `${goTypeName(x)}=${goString(x)}`).join(', ')})` : '');
}

/** The Go type a decoded JSON value has (docker's inspect fallback decodes into interface{}). */
function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

interface Scope {
  dot: unknown;
  /** Variables, innermost block last; `$` is the root value. */
  vars: Array<Map<string, unknown>>;
}

function lookupVar(scope: Scope, name: string): unknown {
  for (let i = scope.vars.length - 1; i >= 0; i--) if (scope.vars[i]!.has(name)) return scope.vars[i]!.get(name);
  throw execError(`undefined variable: ${name}`);
}

function declare(scope: Scope, decl: Decl | undefined, values: unknown[]): void {
  if (!decl) return;
  decl.names.forEach((name, i) => {
    if (!decl.assign) {
      scope.vars[scope.vars.length - 1]!.set(name, values[i]);
      return;
    }
    lookupVar(scope, name); // assigning needs a declared variable, as in Go
    for (let j = scope.vars.length - 1; j >= 0; j--) {
      if (scope.vars[j]!.has(name)) {
        scope.vars[j]!.set(name, values[i]);
        return;
      }
    }
  });
}

/** A block's body runs with its own variables (Go: a declaration lasts to the block's end). */
const inner = (scope: Scope, dot: unknown): Scope => ({ dot, vars: [...scope.vars, new Map()] });

/**
 * Fields as docker's inspect fallback (JSON decoded into Go maps) evaluates them: a missing
 * key, or a field of a null or missing value, is `<no value>`, never an error; only a field of
 * a plain value (`.Name.X` with Name a string) is one.
 */
function lookupField(base: unknown, path: string[], shown: string): unknown {
  let cur = base;
  for (const name of path) {
    if (cur === null || cur === undefined) return undefined;
    if (typeof cur !== 'object') throw execError(`can't evaluate field ${name} in ${shown || '.'}: ${goTypeName(cur)} has no fields`);
    if (!(name in (cur as object))) {
      // A row of a typed listing (docker formats ps, images, stats, ... through Go structs):
      // an unknown field is a user's typo, and docker says so instead of printing <no value>.
      const typeName = typedRows.get(cur as object);
      if (typeName) throw execError(`can't evaluate field ${name} in type ${typeName}`);
      return undefined;
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
      return lookupField(op.root === 'dot' ? scope.dot : lookupVar(scope, '$'), op.path, `.${op.path.join('.')}`);
    case 'var':
      return lookupField(lookupVar(scope, op.name), op.path, [op.name, ...op.path].join('.'));
    case 'chain':
      return lookupField(evalOperand(op.base, scope), op.path, `(...).${op.path.join('.')}`);
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
      case 'action': {
        const v = evalPipeline(n.pipeline, scope);
        // A declaration prints nothing (Go).
        if (n.decl) declare(scope, n.decl, [v]);
        else out.push(goString(v));
        break;
      }
      case 'if': {
        // Go: variables of the condition are seen by every branch of the if.
        const s = inner(scope, scope.dot);
        let hit: Node[] | undefined;
        for (const b of n.branches) {
          const v = evalPipeline(b.cond, s);
          declare(s, b.decl, [v]);
          if (truthy(v)) {
            hit = b.body;
            break;
          }
        }
        execNodes(hit ?? n.otherwise, inner(s, scope.dot), out);
        break;
      }
      case 'with': {
        const v = evalPipeline(n.pipeline, scope);
        if (truthy(v)) {
          const s = inner(scope, v);
          declare(s, n.decl, [v]);
          execNodes(n.body, s, out);
        } else execNodes(n.otherwise, inner(scope, scope.dot), out);
        break;
      }
      case 'range': {
        const v = evalPipeline(n.pipeline, scope);
        // Go ranges over a map in key order; the key is the index variable.
        const entries: Array<[unknown, unknown]> = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]])
            : typeof v === 'number' && Number.isInteger(v)
              ? Array.from({ length: Math.max(v, 0) }, (_x, i) => [i, i])
              : [];
        if (!entries.length) execNodes(n.otherwise, inner(scope, scope.dot), out);
        for (const [key, item] of entries) {
          const s = inner(scope, item);
          if (n.decl) declare(s, n.decl, n.decl.names.length === 2 ? [key, item] : [item]);
          execNodes(n.body, s, out);
        }
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
    execNodes(this.nodes, { dot: value, vars: [new Map([['$', value]])] }, out);
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

/** Rows that stand for one of docker's typed formatting contexts, with its Go type name. */
const typedRows = new WeakMap<object, string>();

export interface FormatOptions<Row> {
  /**
   * The Go type docker formats these rows through (e.g. `*formatter.ContainerContext`): an
   * unknown field is an error naming it. Without it rows are maps, as inspect's documents.
   */
  typeName?: string;
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
  if (opts.typeName) for (const r of rows) if (typeof r === 'object' && r !== null) typedRows.set(r, opts.typeName);
  if (!table) return rows.map((r) => `${tpl.execute(r)}\n`).join('');
  // The header row is the same template run against the column titles.
  const header = tpl.execute(new Proxy({}, { has: () => true, get: (_t, k) => (typeof k === 'string' ? (opts.headers[k] ?? k.toUpperCase()) : undefined) }));
  const lines = [header, ...rows.map((r) => tpl.execute(r))];
  return alignColumns(lines.join('\n').split('\n'));
}
