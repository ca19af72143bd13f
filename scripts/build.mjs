// Bundles the TypeScript entry points into single CommonJS files so that each CLI
// start parses one file instead of resolving hundreds of modules (start-up time matters:
// `berth-runtime create` is on every container's critical path).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';

// `berth-runtime --version` prints it as runc prints its commit; a tarball without .git says so.
let commit = '';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  /* not a git checkout */
}

const entries = {
  'berth-runtime': 'src/cli/runtime/main.ts',
  berth: 'src/cli/main.ts',
  index: 'src/index.ts',
  // The per-network DNS resolver process (started by src/network/dns/lifecycle.ts).
  'berth-dns': 'src/network/dns/main.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minifySyntax: true,
  logLevel: 'warning',
  external: ['*.node'],
  define: { BERTH_BUILD_COMMIT: JSON.stringify(commit) },
});
