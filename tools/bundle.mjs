// Bundles the command line, the benchmark and the library into dist/ with esbuild, so that
// `forklab` starts as plain JavaScript (no TypeScript loader at run time) and
// `import { Machine } from 'forklab'` works from plain Node. Also the browser page
// (web/) into dist/web: the page and the machine's Web Worker, for the browser platform,
// so a Node module pulled in by mistake fails the build instead of the page.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const node = await build({
  entryPoints: { forklab: 'tools/cli.ts', bench: 'tools/bench.ts', fuzz: 'tools/fuzz.ts', index: 'index.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  // without the comments and indentation (the source map has them): a third less text for V8
  // to read at every start; importing the command's bundle 59 -> 50 ms
  minifyWhitespace: true,
  logLevel: 'warning',
  write: false,
});
// esbuild escapes non-ASCII characters in code but leaves the comments it keeps as they are;
// one arrow in a comment makes V8 hold and scan the whole bundle as a two-byte string, and
// Node decode it the slow way (13 M of ~150 M instructions of `import('forklab')`). Each
// UTF-16 unit becomes one '?', so the source map's columns stay right.
mkdirSync('dist', { recursive: true });
for (const f of node.outputFiles) {
  writeFileSync(f.path, f.path.endsWith('.js') ? f.text.replace(/[^\x00-\x7f]/g, '?') : f.contents);
}

await build({
  entryPoints: { app: 'web/main.ts', worker: 'web/worker.ts' },
  outdir: 'dist/web',
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2022',
  sourcemap: true,
  logLevel: 'warning',
});
mkdirSync('dist/web', { recursive: true });
for (const f of ['index.html', 'style.css']) copyFileSync(`web/${f}`, `dist/web/${f}`);
