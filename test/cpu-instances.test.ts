// Two machines in one process share nothing: every piece of an instruction's scratch (the
// descriptor being checked, the inner stack of an interrupt or call gate, the task image of
// a task switch, multiply/divide halves, the fault in flight) belongs to its Cpu. Two PCs
// booting our kernel -- fork demo, task switches, system calls and page faults from ring 3 --
// are run interleaved and each must end exactly as it does alone: first in alternating
// slices, then with one machine's memory hook running the other inside its instructions
// (an observer may drive a second machine; the i386 work in flight must not notice).
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../tools/build-image';
import { forklabMachine, type ForklabBoot } from './kernel-expect';
import type { Machine } from '../emulator/machine';
import { env, HAS_NASM, LOG, TO_RING3, UNEXPECTED, type Env } from './cpu-env';

const ROOT = resolve(import.meta.dirname, '..');

/** Everything a run leaves behind that a shared scratch would disturb. */
function fingerprint(b: ForklabBoot): string {
  const m = b.machine;
  const ram = createHash('sha256').update(m.readPhysical(0, 0xa0000)).update(m.readPhysical(0x100000, m.memorySize - 0x100000));
  return JSON.stringify({ icount: m.instructions, cpu: m.cpu.state(), serial: b.serial(), ram: ram.digest('hex') });
}

/** Runs until every machine stopped for good or `budget` instructions each, `slice` at a time. */
function runSliced(ms: Machine[], slice: number, budget: number): void {
  const done = ms.map(() => false);
  while (done.includes(false)) {
    ms.forEach((m, k) => {
      if (done[k]) return;
      const stop = m.run(Math.min(slice, budget - m.instructions));
      if (m.instructions >= budget || stop.kind !== 'limit') done[k] = true;
    });
  }
}

describe('two CPUs in one process', () => {
  let image: Uint8Array;
  const boots = {
    a: () => forklabMachine(image),
    b: () => forklabMachine(image, { memorySize: 4 << 20, disk: 'hda' }),
  };

  beforeAll(() => {
    image = buildImage(ROOT).image;
  }, 60_000);

  it('interleaved in slices, each ends as it does alone', () => {
    const BUDGET = 6_000_000, SLICE = 7_919;
    const soloA = boots.a(), soloB = boots.b();
    runSliced([soloA.machine], SLICE, BUDGET);
    runSliced([soloB.machine], SLICE, BUDGET);
    // the runs got far: through the fork demo's first checks (task switches, user mode)
    expect(soloA.serial()).toMatch(/PASS fork-eagain/);
    expect(soloB.serial()).toMatch(/PASS fork-eagain/);
    expect(fingerprint(soloA)).not.toBe(fingerprint(soloB));
    const a = boots.a(), b = boots.b();
    runSliced([a.machine, b.machine], SLICE, BUDGET);
    expect(fingerprint(a)).toBe(fingerprint(soloA));
    expect(fingerprint(b)).toBe(fingerprint(soloB));
  }, 120_000);

  it.runIf(HAS_NASM)("one machine's memory hook runs another CPU mid-instruction: each ends as it does alone", () => {
    // A (the kernel) has a memory hook that runs B a few instructions on each of A's writes:
    // B runs while A is inside an interrupt delivery (frame half pushed on the inner stack) or
    // a task switch (old task half saved). B is a ring-3 loop that takes a call gate with
    // parameters, an INT through a DPL-3 gate, a #GP with its error code, a task switch from
    // its handler and back by IRET, and a 64/32 divide: each of these every few instructions.
    const A_BUDGET = 1_500_000, B_STEP = 5;
    const run = (driveB: boolean): { a: string; b: string; calls: number; counts: number[] } => {
      const a = boots.a();
      const b = ringLoop();
      let calls = 0;
      a.machine.hook('memory', (kind) => {
        if (kind !== 'w') return;
        calls++;
        if (driveB) b.run(B_STEP);
      });
      a.machine.run(A_BUDGET);
      // alone, B takes the same steps after A is done
      if (!driveB) for (let k = 0; k < calls; k++) b.run(B_STEP);
      const bState = JSON.stringify({ cpu: b.cpu.state(), log: [0, 1, 2, 3, 4, 5].map((k) => b.log(k)), unexpected: b.mem.read32(UNEXPECTED) });
      // loops, task switches, #GPs
      return { a: fingerprint(a), b: bState, calls, counts: [5, 2, 4].map((k) => b.log(k)) };
    };
    const solo = run(false);
    const mixed = run(true);
    expect(solo.calls).toBeGreaterThan(100_000);
    // B went round its loop many times, every step of it taken (no unexpected vector)
    expect(solo.counts[0]).toBeGreaterThan(10_000);
    // (the last round may have stopped between its task switch and its end)
    for (const n of solo.counts.slice(1)) expect([0, 1]).toContain(n - solo.counts[0]);
    expect(solo.b).toContain('"unexpected":0');
    expect(mixed.calls).toBe(solo.calls);
    expect(mixed.a).toBe(solo.a);
    expect(mixed.b).toBe(solo.b);
  }, 120_000);
});

/** A bare CPU (test/cpu-env.ts) running a ring-3 loop through every protected-mode transfer. */
function ringLoop(): Env {
  return env(`
    ${TO_RING3('user')}
user:
    xor esi, esi
again:
    inc esi
    push esi
    push dword 0x2222
    call 0x3b:0                  ; call gate, 2 parameters copied to the ring-0 stack
    int 0x81                     ; DPL-3 interrupt gate: stack switch from the TSS
    cli                          ; #GP(0) at IOPL 0: the handler skips it
    mov eax, esi
    mov edx, esi
    and edx, 3
    mov ebx, 7
    div ebx                      ; ((esi & 3):esi) / 7
    add [${LOG + 12}], edx
    mov [${LOG + 20}], esi
    jmp again
gated:
    mov eax, [esp + 12]          ; the first parameter (esi)
    add [${LOG}], eax
    retf 8
sys81:
    add [${LOG + 4}], esi
    call 0x30:0                  ; task switch to B, which IRETs back (NT)
    iretd
gp:
    inc dword [${LOG + 16}]
    inc dword [esp + 4]          ; past the 1-byte CLI
    add esp, 4
    iretd
taskB:
    inc dword [${LOG + 8}]
    iretd
    jmp taskB
`, { handlers: { 0x81: 'sys81', 13: 'gp' }, dpl3: [0x81], callGate: { label: 'gated', params: 2 }, taskB: 'taskB' });
}
