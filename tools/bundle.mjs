// Bundles the command line and the benchmark into dist/ with esbuild, so that
// `forklab` starts as plain JavaScript (no TypeScript loader at run time).
import { build } from 'esbuild';

await build({
  entryPoints: { forklab: 'tools/cli.ts', bench: 'tools/bench.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
