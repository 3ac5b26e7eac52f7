// The CPU has one observer slot (Cpu.setHooks). HookHub shares it between observers — the
// debugger (CpuDebugTarget), a trace recorder, a script's hooks — so that each attaches and
// detaches on its own. The CPU sees exactly the callbacks some observer needs: no observer,
// no hooks (DESIGN decision 8); one observer, its own hooks object, unwrapped; several, a
// combined object.
//
// beforeInstruction: observers are asked in slot order (earlier slots first); the first that
// returns true stops the CPU before the instruction and the later ones are not asked (the
// instruction will come round again when the CPU resumes).

import type { CpuHooks } from '../cpu/bus';

/** Where one observer puts its hooks; set(null) when it needs none. */
export interface HookSlot {
  set(hooks: CpuHooks | null): void;
}

export class HookHub {
  private readonly slots: (CpuHooks | null)[] = [];

  constructor(private readonly target: { setHooks(h: CpuHooks | null): void }) {}

  /** A new slot, after all existing ones. */
  slot(): HookSlot {
    const i = this.slots.push(null) - 1;
    return {
      set: (h) => {
        this.slots[i] = h;
        this.rebuild();
      },
    };
  }

  private rebuild(): void {
    const active = this.slots.filter((h): h is CpuHooks => h !== null);
    if (active.length === 0) return this.target.setHooks(null);
    if (active.length === 1) return this.target.setHooks(active[0]);
    const before = active.filter((h) => h.beforeInstruction).map((h) => h.beforeInstruction!.bind(h));
    const mem = active.filter((h) => h.memoryAccess).map((h) => h.memoryAccess!.bind(h));
    const intr = active.filter((h) => h.interrupt).map((h) => h.interrupt!.bind(h));
    const port = active.filter((h) => h.portIo).map((h) => h.portIo!.bind(h));
    const combined: CpuHooks = {};
    if (before.length) {
      combined.beforeInstruction = (linear) => {
        for (let i = 0; i < before.length; i++) if (before[i](linear)) return true;
        return false;
      };
    }
    if (mem.length) {
      combined.memoryAccess = (kind, linear, size, value) => {
        for (let i = 0; i < mem.length; i++) mem[i](kind, linear, size, value);
      };
    }
    if (intr.length) {
      combined.interrupt = (vector, software, code) => {
        for (let i = 0; i < intr.length; i++) intr[i](vector, software, code);
      };
    }
    if (port.length) {
      combined.portIo = (dir, p, size, value) => {
        for (let i = 0; i < port.length; i++) port[i](dir, p, size, value);
      };
    }
    this.target.setHooks(combined);
  }
}
