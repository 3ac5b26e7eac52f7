// `forklab run IMAGE --gdb PORT [--wait]` in one call: a GDB stub on the machine that runs
// the guest (right away, or once gdb continues it with --wait) and says how the run ended,
// in the machine's own terms so the run command reports it as it reports a plain run.
//
// The run ends when the guest exits (port F4h) or gdb kills it; a halt with interrupts off,
// a triple fault or a boot failure end it only while no gdb is attached (an attached user
// may want to look around first; on detach the guest resumes and the run then ends). The
// run's limits hold under gdb too: the instruction limit is exact (no slice runs past it),
// the wall-clock limit is checked between slices and while the guest sits stopped in gdb.

import type { Machine, MachineStop } from '../machine';
import { GdbStub } from './gdb-stub';
import { machineDebugTarget } from './machine-target';
import { Reverse } from './reverse';
import type { StopReason } from './target';

export interface GdbServeOptions {
  /** TCP port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Wait, stopped, for gdb to connect and continue (else the guest starts at once). */
  wait: boolean;
  log?: (line: string) => void;
  sliceInstructions?: number;
  /** End the run (kind 'limit') when the machine has executed this many instructions. */
  maxInstructions?: number;
  /** End the run (kind 'limit') after this many milliseconds of wall-clock time. */
  timeoutMs?: number;
  /** Keep history for gdb's reverse commands (default true). */
  history?: boolean;
}

/** How a run under the stub ended: as a machine run ends, or killed from gdb. */
export type GdbRunEnd = MachineStop | { kind: 'killed' };

export interface GdbServer {
  port: number;
  stub: GdbStub;
  /** How the run ended. */
  finished: Promise<GdbRunEnd>;
  /** Ends the run from outside (Ctrl-C): `finished` resolves with `how`. */
  end(how: GdbRunEnd): void;
  close(): Promise<void>;
}

function toMachineStop(r: StopReason): MachineStop {
  switch (r.kind) {
    case 'exited':
      return { kind: 'exit', status: r.code };
    case 'triple-fault':
      return { kind: 'triple-fault', state: r.message };
    case 'failed':
      return { kind: 'boot-failure', reason: r.message.replace(/^boot failure: /, '') };
    default:
      return { kind: 'halted' };
  }
}

export async function serveGdb(machine: Machine, o: GdbServeOptions): Promise<GdbServer> {
  let finish!: (s: GdbRunEnd) => void;
  let ended = false;
  const finished = new Promise<GdbRunEnd>((resolve) => (finish = resolve));
  const end = (how: GdbRunEnd) => {
    if (ended) return;
    ended = true;
    finish(how);
  };
  const maxInstructions = o.maxInstructions ?? Infinity;
  const deadline = performance.now() + (o.timeoutMs ?? Infinity);
  const target = machineDebugTarget(machine, { hooks: machine.hookHub.slot() });
  // Each slice stops at the instruction limit; reaching it, or the deadline, ends the run.
  const runSlice = target.run.bind(target);
  const budget: StopReason = { kind: 'budget' };
  target.run = (max: number): StopReason => {
    const left = maxInstructions - machine.instructions;
    const r = left > 0 && !ended ? runSlice(Math.min(max, left)) : budget;
    if (r.kind === 'budget' && (machine.instructions >= maxInstructions || performance.now() >= deadline)) end({ kind: 'limit' });
    return r;
  };
  if (o.history !== false && !machine.history) machine.recordHistory();
  // The stub exists before its callbacks can fire (they come from later event-loop turns).
  const stub: GdbStub = new GdbStub(target, {
    reverse: machine.history ? new Reverse(machine, target) : undefined,
    runWhenDetached: !o.wait,
    sliceInstructions: o.sliceInstructions,
    log: o.log,
    onKill: () => end({ kind: 'killed' }),
    onGuestStop: (r) => {
      if (r.kind === 'exited' || !stub.attached) end(toMachineStop(r));
    },
  });
  const port = await stub.listen(o.port);
  // the deadline also passes while gdb holds the guest stopped
  const clock = Number.isFinite(deadline)
    ? setInterval(() => {
      if (performance.now() >= deadline) end({ kind: 'limit' });
    }, 20)
    : undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    clearInterval(clock);
    await stub.close();
  };
  void finished.then(close);
  return { port, stub, finished, end, close };
}
