#!/usr/bin/env -S node --v8-pool-size=0
// The `forklab` command: runs the bundle that `npm install` (prepare) or `npm run build` made.
// --v8-pool-size=0 sizes V8's worker pool (TurboFan compiles, GC) to the machine: one fewer
// than its cores, where Node's default is 4 whatever the cores. On a 2-core machine four
// workers took CPU time from the emulator's thread while a run warms up (tools/node-flags.ts).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/forklab.js', import.meta.url));
if (!existsSync(bundle)) {
  console.error('forklab: dist/forklab.js is missing; run `npm install` or `npm run build` first');
  process.exit(2);
}
await import(pathToFileURL(bundle).href);
