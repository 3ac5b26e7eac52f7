// The README's "## Library" example is a contract: this test takes the ```ts block from the
// README as it is, points its import at the checkout's index.ts, runs it with tsx, and
// checks what it prints against the comments beside each console.log.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

function libraryExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('\n## Library\n');
  expect(at, 'README has a "## Library" section').toBeGreaterThan(0);
  const start = readme.indexOf('```ts\n', at);
  const next = readme.indexOf('\n## ', at + 5);
  expect(start > at && (next < 0 || start < next), 'the Library section has a ```ts block').toBe(true);
  return readme.slice(start + 6, readme.indexOf('\n```', start + 6) + 1);
}

describe('README "## Library" example', () => {
  it('runs as shown and prints what its comments say', () => {
    const code = libraryExample();
    expect(code).toContain("from './index.ts'");
    const dir = mkdtempSync(join(tmpdir(), 'forklab-readme-lib-'));
    const file = join(dir, 'example.mts');
    writeFileSync(file, code.replace("from './index.ts'", `from ${JSON.stringify(join(ROOT, 'index.ts'))}`));
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'reached true',
      'true',
      'null',
      'child writes 1111 to cow_var',
      'true',
      'true',
      'true true',
      'exit',
    ]);
    // the comments in the README say the same
    for (const c of ['// reached true', '// true true', '// 1111: the write', '// exit:']) expect(code).toContain(c);
  }, 150_000);
});
