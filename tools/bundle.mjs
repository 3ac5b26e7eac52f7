// Bundles the command line, the benchmark and the library into dist/ with esbuild, so that
// `forklab` starts as plain JavaScript (no TypeScript loader at run time) and
// `import { Machine } from 'forklab'` works from plain Node. Also the browser page
// (web/) into dist/web: the page and the machine's Web Worker, for the browser platform,
// so a Node module pulled in by mistake fails the build instead of the page.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // without the comments and indentation (the source map has them): a third less text for V8
  // to read at every start; importing the command's bundle 59 -> 50 ms
  minifyWhitespace: true,
  logLevel: 'warning',
  write: false,
};
// The library, the benchmark and the fuzzer: ES modules, as the package is.
const esm = await build({
  ...common,
  entryPoints: { bench: 'tools/bench.ts', fuzz: 'tools/fuzz.ts', index: 'index.ts' },
  outdir: 'dist',
  format: 'esm',
});
// The command: CommonJS, which bin/forklab.js (CommonJS too, bin/package.json) requires.
// Node's ES module loader costs every command ~25 ms to start (`forklab --help` 139 -> 115 ms,
// side by side); the bundle's import.meta.url is its own file's URL, as under ESM.
const cli = await build({
  ...common,
  entryPoints: { forklab: 'tools/cli.ts' },
  outdir: 'dist',
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': '__bundleUrl' },
  // ("use strict" first: esbuild puts its own after the banner, where it is no directive)
  banner: { js: `"use strict";var __bundleUrl=require('node:url').pathToFileURL(__filename).href;` },
});
// esbuild escapes non-ASCII characters in code but leaves the comments it keeps as they are;
// one arrow in a comment makes V8 hold and scan the whole bundle as a two-byte string, and
// Node decode it the slow way (13 M of ~150 M instructions of `import('forklab')`). Each
// UTF-16 unit becomes one '?', so the source map's columns stay right.
mkdirSync('dist', { recursive: true });
for (const f of [...esm.outputFiles, ...cli.outputFiles]) {
  writeFileSync(f.path, /\.c?js$/.test(f.path) ? f.text.replace(/[^\x00-\x7f]/g, '?') : f.contents);
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
