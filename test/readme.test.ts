// The README is a contract: every command in its "Command line" block runs as shown.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync('README.md', 'utf8');

function block(heading: string): string[] {
  const at = readme.indexOf(`## ${heading}`);
  const start = readme.indexOf('```sh\n', at) + 6;
  const end = readme.indexOf('```', start);
  return readme.slice(start, end).split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** Exit statuses the shown commands must end with (the kernel powers off with F4h value 0). */
function expectedStatus(cmd: string): number {
  if (cmd.includes(' run ') && cmd.includes('--max-instructions')) return 124;
  if (cmd.includes(' run ')) return 1;
  return 0;
}

describe('README', () => {
  it('shows the two commands of the contract', () => {
    expect(block('Quick start')).toEqual(['npm install', 'npm start', 'npm test']);
  });

  it('every command-line example works as shown', () => {
    const cmds = block('Command line');
    expect(cmds.length).toBeGreaterThanOrEqual(6);
    for (const cmd of cmds) {
      expect(cmd.startsWith('npx forklab ')).toBe(true);
      // npx resolves the checkout's own bin (checked once below); run it directly for speed
      const args = cmd.slice('npx forklab '.length).split(/\s+/);
      const r = spawnSync('node', ['bin/forklab.js', ...args], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(expectedStatus(cmd));
      expect(r.stderr, cmd).not.toMatch(/internal error|at .*\.js:\d+/);
    }
    const npx = spawnSync('npx', ['forklab', '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(npx.status).toBe(0);
    expect(npx.stdout).toContain('usage: forklab');
  });
});
