// Running a bare CPU test program to its HLT (the engine tests' common end): anything else
// it stops with is an error that shows the CPU's state.
import type { Cpu } from '../emulator/cpu/cpu';

export function runToHalt(cpu: Cpu, budget: number): void {
  const r = cpu.run(budget);
  if (r !== 'halted') throw new Error(`stopped with ${r}\n${cpu.dumpState()}`);
}
