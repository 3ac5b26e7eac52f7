// The engines' differential fuzz (tools/fuzz-engines.ts), a seeded subset: random programs
// in real mode, at ring 0 with paging and at ring 3 end in the same registers, flags,
// memory, instruction count and stop reason whether interpreted or compiled (every block
// compiled on its first run). `npm run fuzz` runs 100,000 cases; reproduce one with
// `npm run fuzz -- --seed S --cases 1` (FORKLAB_FUZZ_SEED picks this file's first seed).

import { describe, expect, it } from 'vitest';
import { FUZZ_MODES, fuzzEngines, outcomeDifference, runCase } from '../tools/fuzz-engines';

const SEED = Number(process.env.FORKLAB_FUZZ_SEED ?? 1);

describe('engines: differential fuzz', () => {
  it(`150 random programs (seed ${SEED}) agree between interp and jit`, () => {
    expect(fuzzEngines(SEED, 150)).toEqual([]);
  });

  it('the jit engine compiles and runs the programs\' blocks; both meet faults, interrupts and every mode', () => {
    let compiled = 0;
    const vectors = new Set<number>();
    for (let k = 0; k < 30; k++) {
      const mode = FUZZ_MODES[k % 3];
      const a = runCase(SEED + k, mode, 'interp', 3000);
      expect(a.compiled).toBe(0);
      const b = runCase(SEED + k, mode, 'jit', 3000);
      compiled += b.compiled;
      vectors.add(b.lastException);
    }
    expect(compiled).toBeGreaterThan(1000);
    // page faults, #UD, #GP and the timer interrupt among the last events
    for (const v of [6, 13, 14, 0x20]) expect(vectors).toContain(v);
  });

  it('outcomeDifference names a difference', () => {
    const a = runCase(SEED, 'pm0', 'interp', 500);
    const b = { ...a, regs: a.regs.slice(), memory: a.memory.slice() };
    expect(outcomeDifference(a, b)).toBeNull();
    b.regs[3] ^= 1;
    expect(outcomeDifference(a, b)).toMatch(/^register 3:/);
    b.regs[3] ^= 1;
    b.memory[0x100] ^= 1;
    expect(outcomeDifference(a, b)).toMatch(/^memory at 100h/);
  });
});
