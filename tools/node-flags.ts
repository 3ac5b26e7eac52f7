// How the forklab command starts node: its one home is the first line of bin/forklab.js
// (`#!/usr/bin/env -S [NAME=VALUE ...] node [OPTION ...]`), which `npx forklab` executes. The
// bench runs forklab's engines, and itself, the same way, so that it times forklab as users
// run it; package.json's start script executes bin/forklab.js (a test checks both).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/forklab.js', import.meta.url));

/** The environment variables set and the node options given on bin/forklab.js's shebang. */
export interface NodeLaunch {
  env: Record<string, string>;
  flags: string[];
}

/** How bin/forklab.js's shebang starts node. */
export function forklabLaunch(): NodeLaunch {
  const first = readFileSync(BIN, 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S((?: [A-Z_]+=\S+)*) node((?: --?[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  if (!m) throw new Error(`bin/forklab.js: unexpected first line ${JSON.stringify(first)}`);
  const words = (s: string) => s.trim().split(/\s+/).filter((w) => w !== '');
  const env: Record<string, string> = {};
  for (const a of words(m[1])) env[a.slice(0, a.indexOf('='))] = a.slice(a.indexOf('=') + 1);
  return { env, flags: words(m[2]) };
}

/** The `node` process running now was started as bin/forklab.js's shebang starts it. */
export function launchedAsForklab(l: NodeLaunch = forklabLaunch()): boolean {
  return Object.entries(l.env).every(([k, v]) => process.env[k] === v) && l.flags.every((f) => process.execArgv.includes(f));
}

/** Runs this script again as bin/forklab.js's shebang starts node, unless it already runs so,
 *  and exits with its status; for long runs (the bench), where a second node start is noise. */
export function relaunchAsForklab(): void {
  const l = forklabLaunch();
  // (once: a process that was relaunched runs as it is, whatever it finds)
  if (launchedAsForklab(l) || process.env.FORKLAB_RELAUNCHED === '1') return;
  const env = { ...process.env, ...l.env, FORKLAB_RELAUNCHED: '1' };
  const r = spawnSync(process.execPath, [...l.flags, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  // (node that cannot be started again: said in one line by the caller, not a silent exit 1)
  if (r.error) throw new Error(`cannot start node again as bin/forklab.js does: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
