#!/usr/bin/env node
// The `forklab` command: runs the bundle that `npm install` (prepare) or `npm run build` made.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const bundle = fileURLToPath(new URL('../dist/forklab.js', import.meta.url));
if (!existsSync(bundle)) {
  console.error('forklab: dist/forklab.js is missing; run `npm install` or `npm run build` first');
  process.exit(2);
}
await import(pathToFileURL(bundle).href);
