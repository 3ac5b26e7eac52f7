// `forklab run IMAGE --gdb PORT [--wait]` in one call: a GDB stub on the machine that runs
// the guest (right away, or once gdb continues it with --wait) and says how the run ended,
// in the machine's own terms so the run command reports it as it reports a plain run.
//
// The run ends when the guest exits (port F4h) or gdb kills it; a halt with interrupts off,
// a triple fault or a boot failure end it only while no gdb is attached (an attached user
// may want to look around first; on detach the guest resumes and the run then ends).

import type { Machine, MachineStop } from '../machine';
import { GdbStub } from './gdb-stub';
import { machineDebugTarget } from './machine-target';
import type { StopReason } from './target';

export interface GdbServeOptions {
  /** TCP port on 127.0.0.1 (0: any free one). */
  port: number;
  /** Wait, stopped, for gdb to connect and continue (else the guest starts at once). */
  wait: boolean;
  log?: (line: string) => void;
  sliceInstructions?: number;
}

export interface GdbServer {
  port: number;
  stub: GdbStub;
  /** How the run ended: a MachineStop ('stopped' when gdb killed the guest). */
  finished: Promise<MachineStop>;
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
  let finish!: (s: MachineStop) => void;
  const finished = new Promise<MachineStop>((resolve) => (finish = resolve));
  // The stub exists before its callbacks can fire (they come from later event-loop turns).
  const stub: GdbStub = new GdbStub(machineDebugTarget(machine, { hooks: machine.hookHub.slot() }), {
    runWhenDetached: !o.wait,
    sliceInstructions: o.sliceInstructions,
    log: o.log,
    onKill: () => finish({ kind: 'stopped' }),
    onGuestStop: (r) => {
      if (r.kind === 'exited' || !stub.attached) finish(toMachineStop(r));
    },
  });
  const port = await stub.listen(o.port);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stub.close();
  };
  void finished.then(close);
  return { port, stub, finished, close };
}
