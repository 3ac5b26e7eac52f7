#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.top_pad=16777216 node --v8-pool-size=0
// The `forklab` command: runs the bundle that `npm install` (prepare) or `npm run build` made.
// How node starts matters while a run warms up, when V8 compiles the emulator's code
// (tools/node-flags.ts reads this first line):
//  - --v8-pool-size=0 sizes V8's worker pool (TurboFan compiles, GC) to the machine: one fewer
//    than its cores, where Node's default is 4 whatever the cores. On a 2-core machine four
//    workers took CPU time from the emulator's thread.
//  - glibc's malloc keeps 16 MB spare at the top of each heap (it keeps 128 KB by default):
//    TurboFan's compiles allocate and free their working memory, which glibc gave back to the
//    kernel after each and the next faulted in again, a page at a time (a fork demo's run
//    took 15,000 page faults, now 8,600). Other C libraries ignore the variable.
// This file is CommonJS (bin/package.json), as is the bundle it requires: Node's ES module
// loader would cost every command ~25 ms to start (tools/bundle.mjs).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const bundle = join(__dirname, '..', 'dist', 'forklab.cjs');
if (!existsSync(bundle)) {
  console.error('forklab: dist/forklab.cjs is missing; run `npm install` or `npm run build` first');
  process.exit(2);
}
require(bundle);
