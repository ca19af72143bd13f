// Bundles the TypeScript entry points into single CommonJS files so that each CLI
// start parses one file instead of resolving hundreds of modules (start-up time matters:
// `berth-runtime create` is on every container's critical path).
import { build } from 'esbuild';

const entries = {
  'berth-runtime': 'src/cli/runtime/main.ts',
  berth: 'src/cli/main.ts',
  index: 'src/index.ts',
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
});
