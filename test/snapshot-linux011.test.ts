// Snapshots of the real Linux 0.11 (the guest kit, when ../shared/guests/linux-0.11 is there;
// with CI=true it must be): states taken at points of its boot — the kernel loading from
// floppy, the root disk mounted, init and the shell starting — and after `ls` was typed,
// restored into a fresh machine, trace the next instructions byte-identical to the
// uninterrupted run and reach the same whole state further on.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Machine } from '../emulator/machine';
import type { MachineState } from '../emulator/snapshot';
import { BOOT_BUDGET, haveKit, linuxMachine } from './linux011-kit';
import { stateDiff, traceStretch } from './snapshot-helpers';

const STRETCH = 20_000;

function runTo(m: Machine, icount: number): void {
  while (m.instructions < icount) expect(m.run(icount - m.instructions).kind).toBe('limit');
}

describe.runIf(haveKit())('snapshots of the Linux 0.11 boot', () => {
  const points: { icount: number; state: MachineState; trace: string; typed: boolean }[] = [];
  let prompt: { icount: number; state: MachineState };
  let listed: { icount: number; state: MachineState; screen: string };

  beforeAll(() => {
    const m = linuxMachine();
    for (const at of [2_000_000, 9_000_000, 20_000_000, 32_000_000]) {
      runTo(m, at);
      points.push({ icount: at, state: m.snapshot(), trace: traceStretch(m, STRETCH), typed: false });
    }
    m.waitForScreen(/\]#$/, { maxInstructions: BOOT_BUDGET });
    runTo(m, m.instructions + 1_000_000);
    prompt = { icount: m.instructions, state: m.snapshot() };
    m.type('ls\n');
    runTo(m, m.instructions + 300_000); // the keys are being read: some still queued
    points.push({ icount: m.instructions, state: m.snapshot(), trace: traceStretch(m, STRETCH), typed: true });
    m.waitForScreen(/\]#$/, { maxInstructions: 100_000_000 });
    runTo(m, m.instructions + 1_000_000);
    listed = { icount: m.instructions, state: m.snapshot(), screen: m.screenText() };
  }, 240_000);

  it('the points lie in the boot and in the typed command', () => {
    expect(points.map((p) => p.icount).slice(0, 4)).toEqual([2_000_000, 9_000_000, 20_000_000, 32_000_000]);
    expect(points[3].icount).toBeLessThan(prompt.icount);
    expect(points[4].icount).toBeGreaterThan(prompt.icount);
    expect(listed.screen).toMatch(/\]# ls\n[\s\S]*\]#/);
  });

  it('restored at each point, the next instructions trace byte-identical to the uninterrupted run', () => {
    for (const p of points) {
      const m = linuxMachine();
      m.restore(p.state);
      const trace = traceStretch(m, STRETCH);
      expect(trace.split('\n').length).toBeGreaterThan(STRETCH);
      expect(trace === p.trace, `trace after restoring at ${p.icount}`).toBe(true);
    }
  }, 120_000);

  it('restored at each point, the machine reaches the same whole state further on', () => {
    for (const p of points) {
      const m = linuxMachine();
      m.restore(p.state);
      const goal = p.typed ? listed : prompt;
      // as the uninterrupted run went on: tracing (the CPU's one-at-a-time path), and waiting
      // for the shell's prompt as it did (which clears what type() noted of the screen)
      traceStretch(m, STRETCH);
      if (p.typed) m.waitForScreen(/\]#$/, { maxInstructions: 100_000_000 });
      runTo(m, goal.icount);
      expect(stateDiff(m.snapshot(), goal.state), `restored at ${p.icount}`).toBeNull();
    }
  }, 180_000);

  it('the comparison can fail: one bit of the next instruction changed traces differently', () => {
    const p = points[2];
    const m = linuxMachine();
    m.restore(p.state);
    const phys = m.translate((m.cpu.segBase[1] + m.cpu.eip) >>> 0);
    m.writePhysical(phys, [m.readPhysical(phys, 1)[0] ^ 0x01]);
    expect(traceStretch(m, STRETCH)).not.toBe(p.trace);
  });
});
