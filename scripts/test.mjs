// Compiles the sources and tests with tsc (type-checking them too) and runs them with
// Node's built-in test runner. `node scripts/test.mjs unit` runs only the unit tests;
// `node scripts/test.mjs integration` only the integration tests; no argument runs all.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const which = process.argv[2] ?? 'all';
const filter = process.argv[3];
rmSync('out', { recursive: true, force: true });
// A type error fails the run, but tests still run (tsc emits anyway) so that one broken
// module does not hide the results of all the others.
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
const typeErrors = tsc.status !== 0;
if (typeErrors) console.error('\n*** TypeScript reported errors (see above); running the tests anyway, the run will fail ***\n');

function collect(dir) {
  let files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files = files.concat(collect(p));
    else if (name.endsWith('.test.js')) files.push(p);
  }
  return files;
}
const suites = which === 'all' ? ['unit', 'integration'] : [which];
let files = [];
for (const s of suites) files = files.concat(collect(join('out', 'test', s)));
if (filter) files = files.filter((f) => f.includes(filter));
files.sort();
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
// The runtime tests' shared parent cgroup outlives each file while another may still use it;
// once all have ended it goes if empty (a leaked container cgroup keeps it, and stays visible).
try {
  const { pruneEmptyLevel } = createRequire(import.meta.url)('../out/src/cgroups/tree.js');
  pruneEmptyLevel('berth-conformance', '/sys/fs/cgroup');
} catch {
  /* not built (type errors) or no cgroups here */
}
if (typeErrors) console.error('*** failing: TypeScript errors ***');
process.exit(typeErrors ? 1 : (r.status ?? 1));
