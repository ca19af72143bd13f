// What scripts/test.mjs (tsc into out/) and scripts/test-fast.mjs (esbuild into out-fast/)
// share: which compiled test files a run takes, and the clean-up after it.
import { createRequire } from 'node:module';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Test groups: the directories under test/. */
export const GROUPS = ['unit', 'integration'];

function collect(dir) {
  let files = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files = files.concat(collect(p));
    else if (name.endsWith('.test.js')) files.push(p);
  }
  return files;
}

/**
 * The compiled test files under `outDir` for `which` ('all' or a group), narrowed to the
 * paths containing `filter` when one is given, in a stable order.
 */
export function testFiles(outDir, which, filter) {
  const suites = which === 'all' ? GROUPS : [which];
  let files = [];
  for (const s of suites) files = files.concat(collect(join(outDir, 'test', s)));
  if (filter) files = files.filter((f) => f.includes(filter));
  return files.sort();
}

/** Arguments of `node` that run `files` with the built-in test runner, two at a time. */
export function testRunnerArgs(files, extra = []) {
  return [...extra, '--test', '--test-concurrency=2', '--test-reporter=spec', ...files];
}

/**
 * The runtime tests' shared parent cgroup outlives each file while another may still use it;
 * once all have ended it goes if empty (a leaked container cgroup keeps it, and stays visible).
 */
export function pruneTestCgroup(outDir) {
  try {
    const { pruneEmptyLevel } = createRequire(import.meta.url)(join('..', outDir, 'src', 'cgroups', 'tree.js'));
    pruneEmptyLevel('berth-conformance', '/sys/fs/cgroup');
  } catch {
    /* not built (type errors) or no cgroups here */
  }
}
