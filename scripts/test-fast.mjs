// The inner loop: `npm run test:fast [-- GROUP [FILTER]]`. esbuild transpiles src/ and test/
// file by file into out-fast/ (about a second; no type-checking, no bundling, the same layout
// as tsc's out/ so that paths relative to a compiled file hold), the tests run from there,
// and `tsc --noEmit` type-checks beside them. Either failing fails the command; the type
// errors are printed after the test results. GROUP is unit (the default), integration or all;
// FILTER keeps the test files whose path contains it. `node scripts/test.mjs` stays the full
// run (tsc's own output), as CI does it.
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { GROUPS, pruneTestCgroup, testFiles, testRunnerArgs } from './test-files.mjs';

const OUT = 'out-fast';
const which = process.argv[2] ?? 'unit';
const filter = process.argv[3];
if (which !== 'all' && !GROUPS.includes(which)) {
  console.error(`usage: node scripts/test-fast.mjs [${GROUPS.join('|')}|all] [FILTER]`);
  process.exit(2);
}

/** Runs a child to completion, collecting its output when `quiet` (tsc's goes after the tests'). */
function run(args, quiet) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    if (quiet) {
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
    }
    child.on('error', (e) => resolve({ status: 1, output: `${output}${e.message}\n` }));
    child.on('close', (status) => resolve({ status: status ?? 1, output }));
  });
}

function sources(dir) {
  let files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files = files.concat(sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(p);
  }
  return files;
}

// A fresh directory each time: a renamed or deleted test must not keep running from a stale
// .js (esbuild rewrites everything in about a second anyway).
rmSync(OUT, { recursive: true, force: true });
const started = Date.now();
await build({
  entryPoints: [...sources('src'), ...sources('test')],
  outdir: OUT,
  outbase: '.',
  bundle: false,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'inline',
  // import() as require(), as tsc emits it for CommonJS: Node's ESM loader would not resolve
  // the extensionless paths the sources use.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
});
console.log(`esbuild: ${OUT}/ in ${Date.now() - started} ms; tsc --noEmit runs beside the tests`);
// Started once esbuild (which uses every core for its second) is done.
const typecheck = run(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], true);

const files = testFiles(OUT, which, filter);
let testStatus = 1;
if (files.length === 0) console.error(`no ${which === 'all' ? '' : `${which} `}test file matches ${JSON.stringify(filter)}`);
else testStatus = (await run(testRunnerArgs(files, ['--enable-source-maps']), false)).status;
pruneTestCgroup(OUT);

const tsc = await typecheck;
if (tsc.status !== 0) {
  process.stderr.write(tsc.output);
  console.error('*** failing: TypeScript errors (above) ***');
} else console.log('tsc --noEmit: no type errors');
process.exit(tsc.status !== 0 ? 1 : testStatus);
