// `forklab debug IMAGE` interactively (stdin not a terminal here): commands from stdin, an
// empty line repeats a step, SIGINT (Ctrl-C) stops a running `continue` and the prompt
// comes back, `quit` ends with status 0 while the guest has not exited.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';
import { formatSymbolMap } from '../tools/asm';

const ROOT = resolve(import.meta.dirname, '..');

describe('forklab debug (interactive)', () => {
  it('reads commands, repeats stepi on an empty line, and Ctrl-C stops the guest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forklab-repl-'));
    const { image, symbols } = buildImage(ROOT);
    writeFileSync(join(dir, 'forklab.img'), image);
    writeFileSync(join(dir, 'kernel.map'), formatSymbolMap(symbols));
    const p = spawn('node', ['bin/forklab.js', 'debug', join(dir, 'forklab.img')], { cwd: ROOT });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    let err = '';
    p.stderr.on('data', (b) => (err += b));
    const until = async (re: RegExp, ms = 30_000) => {
      const end = Date.now() + ms;
      while (!re.test(out)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}; output:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(/Type 'help'\.\n\(forklab\) $/);
    p.stdin.write('break copy_process\ncontinue\nstepi\n\n');
    await until(/<copy_process\+0x3>:\t53 +push ebx\n\(forklab\) $/);
    // a watchpoint on a linear address nothing maps keeps every access on the slow path
    p.stdin.write('delete\nwatch 0x3f000000\ncontinue\n');
    await until(/Hardware watchpoint 2: 0x3f000000 \(4 bytes\)\n\(forklab\) /);
    await new Promise((r) => setTimeout(r, 500));
    p.kill('SIGINT');
    await until(/Program received SIGINT \(stopped by the user\)\n=> 0x[0-9a-f]{8}[^\n]*\n\(forklab\) $/);
    p.stdin.write('quit\n');
    const code = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(err).toBe('');
    // the empty line ran stepi again: two single steps from copy_process
    expect(out).toMatch(/=> 0x[0-9a-f]{8} <copy_process\+0x1>:[^\n]*\n\(forklab\) => 0x[0-9a-f]{8} <copy_process\+0x3>:/);
    expect(out).not.toContain('every check passed'); // stopped before the guest's end
  }, 90_000);
});
