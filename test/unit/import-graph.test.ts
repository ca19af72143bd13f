/**
 * The shape of src/: no import cycles (type imports included: a type cycle is still two modules
 * that cannot be understood apart), and data flowing down the layers of DESIGN.md — a package
 * imports only from packages below it. A new top-level directory must be given its place in
 * LAYERS below, which is the point: where it sits is a decision, not an accident.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The checkout: above the compiled test (wherever the test runner compiled it to), else the cwd. */
function repoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'index.ts'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`no checkout (package.json and src/index.ts) above ${__dirname} or ${process.cwd()}`);
}

const SRC = join(repoRoot(), 'src');

/**
 * Rank of each package: an import must go to a strictly lower rank or stay inside its own
 * package. The longest matching prefix wins, so a pure sub-package (a syntax module that the
 * layers below may use) can rank lower than its parent.
 */
const LAYERS: Record<string, number> = {
  sys: 0,
  core: 1,
  tar: 2,
  fs: 2,
  spec: 2,
  // The Dockerfile lexer is pure syntax: images' `--change` uses it below the builder.
  'build/instruction-lexer.ts': 2,
  seccomp: 3,
  cgroups: 3,
  content: 3,
  runtime: 4,
  snapshots: 4,
  images: 5,
  network: 6,
  build: 8,
  engine: 7,
  cli: 9,
  api: 9,
  compose: 9,
  'index.ts': 10,
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  return [`${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c));
}

/** Every relative import and re-export, value or type, of each file. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const importRe = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gms;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(importRe)) {
      const target = resolveImport(file, m[1]!);
      if (target) deps.add(target);
    }
    graph.set(file, [...deps]);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.map((f) => relative(SRC, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

function packageOf(file: string): { name: string; rank: number } | undefined {
  const rel = relative(SRC, file).split(sep).join('/');
  let best: string | undefined;
  for (const name of Object.keys(LAYERS)) {
    if ((rel === name || rel.startsWith(`${name}/`)) && (!best || name.length > best.length)) best = name;
  }
  return best === undefined ? undefined : { name: best, rank: LAYERS[best]! };
}

test('src/ has no import cycles, type imports included', () => {
  const found = cycles(importGraph());
  assert.deepEqual(found.map((c) => `{${c.join(', ')}}`), [], 'each entry: files that import each other in a ring');
});

test('every package of src/ has a place in the layers', () => {
  const unplaced = new Set<string>();
  for (const file of sourceFiles(SRC)) if (!packageOf(file)) unplaced.add(relative(SRC, file).split(sep)[0]!);
  assert.deepEqual([...unplaced], [], 'give each new top-level directory a rank in LAYERS');
});

test('imports flow down the layers (DESIGN.md)', () => {
  const upward: string[] = [];
  for (const [file, deps] of importGraph()) {
    const from = packageOf(file);
    if (!from) continue;
    for (const dep of deps) {
      const to = packageOf(dep);
      if (!to || to.name === from.name) continue;
      if (to.rank >= from.rank) upward.push(`${relative(SRC, file)} -> ${relative(SRC, dep)} (${from.name} ${from.rank} -> ${to.name} ${to.rank})`);
    }
  }
  assert.deepEqual(upward, []);
});
