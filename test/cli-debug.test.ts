// The debugger's small contracts: its errors go to stderr (the transcript stays on stdout),
// `continue 0` is refused rather than ignored, and x/i $eip reads at CS:EIP (at the reset
// vector: linear 0xfffffff0, the BIOS's far jump, not linear 0xfff0).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Debugger } from '../emulator/debug/debugger';
import { Machine } from '../emulator/machine';
import { forklab } from './cli-helpers';

describe('debugger commands', () => {
  it('x/4i $eip at the reset vector disassembles CS.base + EIP', async () => {
    const d = new Debugger(new Machine({}));
    const r = await d.execute('x/2i $eip');
    expect(r.error).toBeUndefined();
    const lines = r.output.split('\n');
    expect(lines[0]).toMatch(/^=> 0xfffffff0:\tea [0-9a-f ]+jmp 0xf000:0x[0-9a-f]+$/);
    expect(lines[1]).toMatch(/^ {3}0xfffffff5:/);
    // what disas shows at the same place
    expect((await d.execute('disas')).output).toContain('=> 0xfffffff0:');
    // an explicit linear address is still linear
    expect((await d.execute('x/1i 0xfff0')).output).toMatch(/^ {3}0x0000fff0:/);
  });

  it('continue 0 is refused with a reason', async () => {
    const d = new Debugger(new Machine({}));
    expect((await d.execute('continue 0')).error).toBe("continue: '0' is not a count (1 or more)");
  });
});

it('forklab debug --script: the transcript on stdout, the failing command on stderr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-cli-debug-'));
  const img = join(dir, 'boot.img');
  writeFileSync(img, new Uint8Array(1474560));
  const script = join(dir, 's.gdb');
  writeFileSync(script, 'stepi\nprint 1/0\nregs\n');
  const r = forklab(['debug', img, '--script', script]);
  expect(r.status).toBe(2);
  expect(r.stdout).toMatch(/\(forklab\) stepi\n[^]*\(forklab\) print 1\/0\n$/);
  expect(r.stderr).toBe("error: division by zero in '1/0'\n");
});
