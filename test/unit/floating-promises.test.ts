/**
 * No floating promises in src/: a statement whose value is a promise must await it, hand it on,
 * or say with `void` (or a `.catch`) that nobody waits. With the engine asynchronous end to end,
 * a forgotten `await` is the bug that type-checking lets through: a record written after the
 * caller moved on, an event lost when the process exits, an error nobody sees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

function repoRoot(): string {
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = start; ; dir = dirname(dir)) {
      if (existsSync(join(dir, 'tsconfig.json')) && existsSync(join(dir, 'src', 'index.ts'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`no checkout (tsconfig.json and src/index.ts) above ${__dirname} or ${process.cwd()}`);
}

function isPromise(t: ts.Type): boolean {
  if (t.isUnion()) return t.types.some(isPromise);
  return t.getSymbol()?.name === 'Promise';
}

/** A statement that deliberately leaves its promise: assigned, voided, awaited, or given a rejection handler. */
function handled(e: ts.Expression): boolean {
  if (ts.isVoidExpression(e) || ts.isAwaitExpression(e)) return true;
  if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.EqualsToken) return true;
  if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression)) {
    const method = e.expression.name.text;
    return method === 'catch' || (method === 'then' && e.arguments.length === 2);
  }
  return false;
}

test('src/ has no floating promises', () => {
  const root = repoRoot();
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const src = join(root, 'src');
  const program = ts.createProgram(
    parsed.fileNames.filter((f) => f.startsWith(src)),
    { ...parsed.options, noEmit: true },
  );
  const checker = program.getTypeChecker();
  const floating: string[] = [];
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || !file.fileName.startsWith(src)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isExpressionStatement(node) && !handled(node.expression) && isPromise(checker.getTypeAtLocation(node.expression))) {
        const { line } = file.getLineAndCharacterOfPosition(node.getStart());
        floating.push(`${relative(root, file.fileName)}:${line + 1}: ${node.getText().replace(/\s+/g, ' ').slice(0, 100)}`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  assert.deepEqual(floating, [], 'await these, or write `void` before them where nobody needs to wait');
});
