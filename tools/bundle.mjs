// Bundles the command line, the benchmark and the library into dist/ with esbuild, so that
// `forklab` starts as plain JavaScript (no TypeScript loader at run time) and
// `import { Machine } from 'forklab'` works from plain Node.
import { build } from 'esbuild';

await build({
  entryPoints: { forklab: 'tools/cli.ts', bench: 'tools/bench.ts', index: 'index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
