// The node options the forklab command runs with: its one home is the first line of
// bin/forklab.js (`#!/usr/bin/env -S node ...`), which `npx forklab` executes. The bench runs
// forklab's engines with them, so that it times forklab as users run it; package.json's start
// and bench scripts spell them out (a test checks that all of them agree).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/forklab.js', import.meta.url));

/** The options after `node` on bin/forklab.js's shebang line. */
export function forklabNodeFlags(): string[] {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?: --?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) throw new Error(`bin/forklab.js: unexpected first line ${JSON.stringify(first)}`);
  return m[1].trim().split(/\s+/).filter((f) => f !== '');
}
