// The node options forklab runs with have one home, bin/forklab.js's shebang
// (tools/node-flags.ts): the command must run through it as `npx forklab` does (executed,
// not `node bin/forklab.js`), and the npm scripts that run forklab must carry the same options.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { forklabNodeFlags } from '../tools/node-flags';

const BIN = resolve('bin/forklab.js');

it('bin/forklab.js runs when executed through its shebang', () => {
  const r = spawnSync(BIN, ['run', '--help'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.error).toBeUndefined();
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^usage: forklab run/);
});

it('the shebang names node options that node accepts', () => {
  const flags = forklabNodeFlags();
  expect(flags.length).toBeGreaterThan(0);
  const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  // (execArgv ends with -e and its script)
  expect(JSON.parse(r.stdout).slice(0, flags.length)).toEqual(flags);
});

it("package.json's start and bench scripts run forklab with the shebang's options", () => {
  const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
  const flags = forklabNodeFlags().join(' ');
  expect(scripts.start).toContain(`node ${flags} bin/forklab.js run `);
  expect(scripts.bench).toContain(`node ${flags} dist/bench.js`);
});
