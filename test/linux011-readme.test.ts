// README "Watching the real Linux 0.11 fork": its commands run as shown (with the guest kit),
// and the debugger script's output holds every line the README shows, in order.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { haveKit } from './linux011-kit';

const readme = readFileSync('README.md', 'utf8');
const HEADING = '## Watching the real Linux 0.11 fork';

function fenced(kind: string): string {
  const at = readme.indexOf(HEADING);
  const start = readme.indexOf('```' + kind + '\n', at) + kind.length + 4;
  const end = readme.indexOf('```', start);
  if (at < 0 || start < at) throw new Error(`README: no \`\`\`${kind} block under ${HEADING}`);
  return readme.slice(start, end);
}

describe.runIf(haveKit())('README: watching the real Linux 0.11 fork', () => {
  it('runs the commands as shown: ls /bin on the screen, and the fork and COW split in the script', () => {
    const cmds = fenced('sh').split('\n').filter(Boolean);
    expect(cmds).toHaveLength(3);
    const outputs: string[] = [];
    for (const cmd of cmds) {
      // npx resolves the checkout's own bin (test/readme.test.ts checks it); run it directly
      const line = cmd.replace(/^npx forklab /, 'node bin/forklab.js ');
      const r = spawnSync('sh', ['-c', line], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(cmd.includes(' run ') ? 124 : 0);
      expect(r.stderr, cmd).not.toMatch(/internal error|at .*\.js:\d+/);
      outputs.push(r.stdout);
    }
    const screen = outputs[1].slice(outputs[1].indexOf('--- screen ---'));
    expect(screen).toMatch(/\[\/usr\/root\]# ls \/bin\n(.*\n)*.*\bsh\b.*\n(.*\n)*\[\/usr\/root\]#/);
    // every line the README shows appears in the script's output, in order
    const shown = fenced('text').split('\n').filter(Boolean);
    const got = outputs[2].split('\n').map((l) => l.trimEnd());
    let at = 0;
    for (const l of shown) {
      const i = got.indexOf(l, at);
      expect(i, `README line not in the output (after line ${at}): ${l}`).toBeGreaterThanOrEqual(0);
      at = i + 1;
    }
  });
});
