// The DebugTarget of a whole PC (emulator/machine.ts): the CPU target, with the machine's
// run loop so devices and the instruction clock advance while gdb lets the guest run, and
// the machine's ways of stopping (the exit port, a boot failure) reported to gdb.

import type { Machine } from '../machine';
import { CpuDebugTarget } from './cpu-target';
import type { HookSlot } from './hooks';
import type { StopReason } from './target';

export function machineDebugTarget(m: Machine, options: { hooks?: HookSlot } = {}): CpuDebugTarget {
  const budget: StopReason = { kind: 'budget' };
  const halted: StopReason = { kind: 'halted' };
  return new CpuDebugTarget(m.cpu, {
    hooks: options.hooks,
    run: (max) => {
      const r = m.run(max);
      switch (r.kind) {
        case 'limit':
        case 'stopped': // our breakpoint or watchpoint (CpuDebugTarget recognises them)
          return budget;
        case 'halted':
          return halted;
        case 'exit':
          return { kind: 'exited', code: r.status };
        case 'triple-fault':
          return { kind: 'triple-fault', message: r.state };
        case 'boot-failure':
          return { kind: 'failed', message: `boot failure: ${r.reason}` };
      }
    },
  });
}
