// Runs the invariant checker at the kernel's checkpoints: an instruction hook (the CPU's
// `beforeInstruction`) that fires when kernel code reaches one of the symbols below. It
// only reads guest memory, so the guest runs exactly as it would without it.

import { checkFreePages, checkInvariants } from './invariants';
import type { KernelInspector } from './kernel';

export type CheckpointKind = 'fork' | 'exit' | 'release' | 'fault' | 'verify';

/** Where each kind of event is complete (kernel code, CS base 0: linear = symbol). */
export const CHECKPOINTS: Record<CheckpointKind, readonly string[]> = {
  fork: ['copy_process.out'], // copy_process done (a new task, or -EAGAIN with everything undone)
  exit: ['tell_father'], // do_exit: page tables freed, state ZOMBIE, about to signal the father
  release: ['release.out'], // sys_waitpid's release: slot and task_struct given back
  fault: ['page_fault.done'], // do_no_page / do_wp_page returned, before the iret
  verify: ['write_verify.out'], // verify_area's per-page copy-on-write by hand
};
const KINDS = Object.keys(CHECKPOINTS) as CheckpointKind[];

export interface WatchViolation {
  kind: CheckpointKind | 'end';
  /** Which occurrence of that kind (1-based). */
  event: number;
  text: string;
}

export interface WatchOptions {
  /** Stop the CPU (the hook returns true) at the first violation. */
  stopOnViolation?: boolean;
  /** Keep at most this many violations (default 100). */
  maxViolations?: number;
}

export class InvariantWatch {
  readonly counts: Record<CheckpointKind, number> = { fork: 0, exit: 0, release: 0, fault: 0, verify: 0 };
  readonly violations: WatchViolation[] = [];
  /** Free pages when init (pid 1) first entered copy_process; null before that. */
  baseline: number | null = null;
  /** How often the free-page rule was checked (every child reaped). */
  freePageChecks = 0;
  /** The hook object to give the CPU (`cpu.setHooks(watch.hooks)` or a HookHub slot). */
  readonly hooks: { beforeInstruction(linear: number): boolean };

  private readonly point: Uint8Array; // 0 none, 1+i checkpoint kind i, 255 copy_process entry
  private readonly copyProcess: number;

  constructor(readonly k: KernelInspector, private readonly opts: WatchOptions = {}) {
    // the checkpoints are labels of forklab's kernel; Linux 0.11 has none there (its tests
    // run checkInvariants where every task sleeps: test/linux011-guest.test.ts)
    if (k.profile.name !== 'forklab') throw new Error(`InvariantWatch: the ${k.profile.name} profile has no checkpoints; run checkInvariants between operations`);
    const addrs: [number, number][] = [];
    KINDS.forEach((kind, i) => {
      for (const name of CHECKPOINTS[kind]) addrs.push([k.syms.addr(name), i + 1]);
    });
    this.copyProcess = k.syms.addr('copy_process');
    addrs.push([this.copyProcess, 255]);
    this.point = new Uint8Array(Math.max(...addrs.map(([a]) => a)) + 1);
    for (const [a, v] of addrs) this.point[a] = v;
    const point = this.point;
    const limit = point.length;
    this.hooks = {
      beforeInstruction: (linear: number): boolean => {
        if (linear >= limit) return false;
        const v = point[linear];
        return v === 0 ? false : this.at(v);
      },
    };
  }

  private at(v: number): boolean {
    if (v === 255) {
      if (this.baseline === null) {
        const cur = this.k.currentNr();
        if (cur >= 0 && this.k.task(cur)!.pid === 1) this.baseline = this.k.freePages();
      }
      return false;
    }
    const kind = KINDS[v - 1];
    const n = ++this.counts[kind];
    const before = this.violations.length;
    this.record(kind, n, checkInvariants(this.k, { maxViolations: 10 }));
    if (kind === 'release' && this.baseline !== null && this.onlyTask0AndInit()) {
      this.freePageChecks++;
      this.record(kind, n, checkFreePages(this.k, this.baseline));
    }
    return !!this.opts.stopOnViolation && this.violations.length > before;
  }

  private record(kind: WatchViolation['kind'], event: number, texts: string[]): void {
    const max = this.opts.maxViolations ?? 100;
    for (const text of texts) if (this.violations.length < max) this.violations.push({ kind, event, text });
  }

  /** Only task 0 and init (pid 1) are in the table: every child has been reaped. */
  onlyTask0AndInit(): boolean {
    for (let nr = 2; nr < this.k.c.NR_TASKS; nr++) if (this.k.taskPointer(nr) !== 0) return false;
    const init = this.k.task(1);
    return init !== null && init.pid === 1;
  }

  /** The checks once more at the end of a run (the machine powered off). */
  finish(): WatchViolation[] {
    this.record('end', 1, checkInvariants(this.k));
    if (this.baseline !== null && this.onlyTask0AndInit()) {
      this.freePageChecks++;
      this.record('end', 1, checkFreePages(this.k, this.baseline));
    }
    return this.violations;
  }

  /** Total checkpoints reached. */
  get events(): number {
    return KINDS.reduce((s, k) => s + this.counts[k], 0);
  }
}
