// Observers sharing the CPU's hook slot (HookHub) each get what they asked for, whatever
// else is attached; a step through the whole machine's debug target reports 'step'.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../tools/asm';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { machineDebugTarget } from '../emulator/debug/machine-target';
import { serveGdb } from '../emulator/debug/gdb-serve';

function machine(onSerial?: (b: number) => void): Machine {
  const src = join(import.meta.dirname, 'fixtures/bios/biostest.asm');
  const img = new Uint8Array(1474560);
  img.set(assemble(readFileSync(src, 'utf8'), { fileName: src }).bytes);
  return new Machine({ fda: new DiskImage(img, floppyGeometry(img.length)!), onSerial });
}

describe('HookHub', () => {
  it('keeps every observer\'s port hooks when several are attached', () => {
    let serial = 0;
    const m = machine(() => serial++);
    let com1 = 0, lsr = 0, instructions = 0;
    m.hook('port', (dir) => void (dir === 'out' && com1++), { begin: 0x3f8, end: 0x3f8 });
    m.hook('port', (dir) => void (dir === 'in' && lsr++), { begin: 0x3fd, end: 0x3fd });
    m.hook('instruction', () => void instructions++);
    expect(m.run(20_000_000).kind).toBe('exit');
    expect(com1).toBe(serial);
    expect(lsr).toBeGreaterThanOrEqual(serial);
    expect(instructions).toBe(m.instructions);
  });
});

describe('the machine as a debug target', () => {
  it('reports a single step as a step, not a used-up budget', () => {
    const m = machine();
    const t = machineDebugTarget(m);
    const before = m.instructions;
    expect(t.step()).toEqual({ kind: 'step' });
    expect(m.instructions).toBe(before + 1);
  });

  it('a gdb stub shares the hook slot with other observers instead of taking it', async () => {
    const m = machine();
    let seen = 0;
    m.hook('instruction', () => void seen++);
    const server = await serveGdb(m, { port: 0, wait: true });
    try {
      server.stub.target.addBreakpoint(0x7c00, 'sw');
      expect(m.run(1_000_000).kind).toBe('stopped'); // the stub's breakpoint stops the machine
      expect(m.cpu.eip).toBe(0x7c00);
      // our hook (the earlier slot) still saw every instruction, and was asked about the one
      // at the breakpoint before the stub stopped in front of it
      expect(seen).toBe(m.instructions + 1);
    } finally {
      await server.close();
    }
  });
});
