// Compiles the sources and tests with tsc (type-checking them too) and runs them with
// Node's built-in test runner. `node scripts/test.mjs unit` runs only the unit tests;
// `node scripts/test.mjs integration` only the integration tests; no argument runs all.
// A second argument keeps the test files whose path contains it. (scripts/test-fast.mjs is
// the quicker loop for development: esbuild, with tsc --noEmit beside the tests.)
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { pruneTestCgroup, testFiles, testRunnerArgs } from './test-files.mjs';

const which = process.argv[2] ?? 'all';
const filter = process.argv[3];
rmSync('out', { recursive: true, force: true });
// A type error fails the run, but tests still run (tsc emits anyway) so that one broken
// module does not hide the results of all the others.
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
const typeErrors = tsc.status !== 0;
if (typeErrors) console.error('\n*** TypeScript reported errors (see above); running the tests anyway, the run will fail ***\n');

const files = testFiles('out', which, filter);
const r = spawnSync(process.execPath, testRunnerArgs(files), {
  stdio: 'inherit',
});
pruneTestCgroup('out');
if (typeErrors) console.error('*** failing: TypeScript errors ***');
process.exit(typeErrors ? 1 : (r.status ?? 1));
