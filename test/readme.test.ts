// The README is a contract: every command in its "Command line" block runs as shown, and so
// do the newcomer's sections: the fork walkthrough (its debugger transcripts are replayed and
// must print what they show), changing a user program, one test file, and the QEMU
// comparison (QEMU is an oracle: skipped with a reason locally, required in CI).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oracle } from './oracle';
import { expectLinesInOrder } from './cli-helpers';

const readme = readFileSync('README.md', 'utf8');

function block(heading: string): string[] {
  const at = readme.indexOf(`## ${heading}`);
  const start = readme.indexOf('```sh\n', at) + 6;
  const end = readme.indexOf('```', start);
  return readme.slice(start, end).split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** The text of section `## heading`, up to the next `## `. */
function section(heading: string): string {
  const at = readme.indexOf(`\n## ${heading}\n`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', at + 1);
  return readme.slice(at, end < 0 ? undefined : end);
}

/** The fenced blocks of a language in a text (also when indented inside a list item). */
function fenced(text: string, lang: string): string[][] {
  const out: string[][] = [];
  for (const m of text.matchAll(new RegExp(`^( *)\`\`\`${lang}\n([\\s\\S]*?)^\\1\`\`\`$`, 'gm'))) {
    out.push(m[2].split('\n').filter((l) => l !== '').map((l) => l.slice(m[1].length)));
  }
  return out;
}

/** Runs a shown `npx forklab ...` command (as node bin/forklab.js, like npx does) or another one. */
function runShown(cmd: string) {
  const args = cmd.split(/\s+/);
  if (args[0] === 'npx' && args[1] === 'forklab') return spawnSync('node', ['bin/forklab.js', ...args.slice(2)], { encoding: 'utf8', timeout: 120_000 });
  if (args[0] === 'grep') return spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
  return spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: 300_000 });
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

  it('says what success looks like: forklab run exits 1 when the guest writes 0 to port F4h', () => {
    const quick = section('Quick start');
    expect(quick).toMatch(/`forklab run` exits\s+1 on success/);
    const r = runShown('npx forklab run build/forklab.img');
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('forklab: every check passed, powering off');
    expect(r.stdout).toContain('init: 16 passed, failed: 0');
    expect(r.status).toBe(1);
  });

  it('the fork walkthrough: each debugger transcript prints what it shows, in order', () => {
    const text = section('Watch one fork');
    const lines = fenced(text, 'text').flat();
    const commands = lines.filter((l) => l.startsWith('(forklab) ')).map((l) => l.slice('(forklab) '.length));
    expect(commands.length).toBeGreaterThanOrEqual(20);
    const dir = mkdtempSync(join(tmpdir(), 'forklab-readme-'));
    writeFileSync(join(dir, 'walk.gdb'), commands.join('\n') + '\n');
    const r = spawnSync('node', ['bin/forklab.js', 'debug', 'build/forklab.img', '--script', join(dir, 'walk.gdb')], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // every shown line appears in the transcript, in the order shown (console lines are left out)
    expectLinesInOrder(r.stdout, lines);
  });

  it('the fork walkthrough: the trace commands work, and record what the text says', () => {
    const cmds = fenced(section('Watch one fork'), 'sh')[0];
    for (const cmd of cmds) {
      const r = runShown(cmd);
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(0);
      expect(r.stderr, cmd).not.toMatch(/internal error|at .*\.js:\d+/);
    }
    const copy = readFileSync('/tmp/fork-copy.trace', 'utf8').trimEnd().split('\n');
    expect(copy[copy.length - 1]).toMatch(/  ret <copy_process\.out\+0x\w+>  ;/); // --to is exclusive: the ret is in
    expect(readFileSync('/tmp/fork-find.trace', 'utf8').trimEnd()).toMatch(/  ret <find_empty_process[^\n]*$/);
    const child = readFileSync('/tmp/fork-child.trace', 'utf8').split('\n').filter((l) => /^\d/.test(l));
    expect(child.map((l) => l.split('  ')[1])).toEqual(['test eax,eax <task0_user+0x7>', 'jnz task0_idle <task0_user+0x9>', 'jmp init <task0_user+0xb>']);
    expect(runShown("grep ' copy_process$' build/kernel.map").stdout.trim().split('\n')).toHaveLength(1);
  });

  it('changing a user program: the rebuild and run commands work as shown', () => {
    for (const cmd of fenced(section('Change a user program'), 'sh')[0]) {
      expect(runShown(cmd).status, cmd).toBe(0);
    }
  });

  it('one test file runs as shown', () => {
    const [cmd] = fenced(section('Tests'), 'sh')[0];
    expect(cmd).toMatch(/^npx vitest run test\/[\w-]+\.test\.ts$/);
    const r = spawnSync('npx', cmd.split(' ').slice(1), { encoding: 'utf8', timeout: 120_000, env: { ...process.env, FORKLAB_BUNDLED: '1' } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('states the trace line format itself (a clone has no ../shared)', () => {
    const text = section('The trace line');
    expect(text).toContain('<icount> <cs>:<eip> <linear> <bytes>  <disassembly>  ; <changed registers> <memory writes>');
    // its example line is one the trace above really writes
    const example = fenced(text, '')[0]?.[1] ?? text.split('\n').find((l) => /^\d+ 0008:/.test(l))!;
    expect(readFileSync('/tmp/fork-copy.trace', 'utf8')).toContain(example);
  });

  it.runIf(oracle('qemu-system-i386'))('against QEMU: the commands work as shown, and trace-diff finds the boot sector the same', () => {
    const cmds = fenced(section('Against QEMU'), 'sh')[0];
    let last = { status: -1 as number | null, stdout: '' };
    for (const cmd of cmds) {
      const r = runShown(cmd);
      // QEMU ends as forklab run does: the kernel writes 0 to port F4h, QEMU exits 1
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(cmd.startsWith('qemu-system-i386') ? 1 : 0);
      last = r;
      if (cmd.includes('-serial stdio')) expect(r.stdout.replace(/\r/g, '')).toContain('forklab: every check passed, powering off');
    }
    expect(last.stdout).toBe('traces agree: 9 instructions compared\n');
  }, 300_000);
});

