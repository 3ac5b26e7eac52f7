// The whole PC on both engines (DESIGN decision 11): our kernel's demo — every check, the
// copy-on-write statistics, timer interrupts, disk reads, page faults — gives the same
// console output, exit status, instruction count and memory on the interpreter and the jit;
// and the golden fork trace (test/fixtures/trace/fork.trace) is recorded byte for byte after
// booting on the jit engine (the recorder's hook runs the instructions it sees on the
// interpreter: the jit's part is bringing the machine to the fork in exactly the same state).
// The conformance suites (test386, SST286, the host-CPU differential) run on both engines in
// their own files, Linux 0.11 on the default engine.

import { beforeAll, describe, expect, it } from 'vitest';
import { join, resolve } from 'node:path';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { Machine, type MachineStop } from '../emulator/machine';
import type { Engine } from '../emulator/cpu/cpu';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { SymbolMap } from '../emulator/debug/symbols';
import { buildImage } from '../tools/build-image';
import { Golden } from './golden';

const ROOT = resolve(import.meta.dirname, '..');
let image: Uint8Array;
let symbols: { name: string; address: number }[];

beforeAll(() => {
  ({ image, symbols } = buildImage(ROOT));
}, 60_000);

/** The kernel's PC; the jit compiles a block on its first run (not its 4096th), so that
 *  compiled code runs through most of the boot and the demo. */
function machine(engine: Engine, serial: number[] = []): Machine {
  return new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), onSerial: (b) => serial.push(b), engine, jitThreshold: 1 });
}

describe('engines: the PC', () => {
  it('the kernel demo gives the same output, exit, instruction count and memory on both engines', () => {
    const runs = (['interp', 'jit'] as Engine[]).map((engine) => {
      const serial: number[] = [];
      const m = machine(engine, serial);
      const stop: MachineStop = m.run(500_000_000);
      return { m, stop, serial: String.fromCharCode(...serial), icount: m.instructions };
    });
    const [a, b] = runs;
    expect(a.stop).toEqual({ kind: 'exit', status: 1 });
    expect(a.serial).toContain('forklab: every check passed');
    expect(b.stop).toEqual(a.stop);
    expect(b.serial).toBe(a.serial);
    expect(b.icount).toBe(a.icount);
    expect(Buffer.compare(b.m.mem.u8, a.m.mem.u8)).toBe(0);
    expect(b.m.cpu.codeCache.added).toBeGreaterThan(100);
  });

  it('the golden fork trace, recorded after booting on the jit engine', () => {
    const golden = new Golden(join(ROOT, 'test', 'fixtures', 'trace', 'fork.trace')).text();
    const table = new SymbolMap(symbols);
    const task0 = table.lookup('task0_user')!;
    const m = machine('jit');
    // up to shortly before the fork (its int 0x80 is instruction 46517) with no observer
    const first = Number(/^(\d+) /m.exec(golden)![1]);
    expect(m.run(first - 500)).toEqual({ kind: 'limit' });
    expect(m.cpu.codeCache.added).toBeGreaterThan(20);
    const out: string[] = [];
    const recorder = new TraceRecorder(m.cpu, m.hookHub.slot(), {
      symbols, from: task0 + 5, to: task0 + 7, write: (s) => out.push(s), onDone: () => m.stop(),
    }).start();
    m.run(3_000_000);
    recorder.finish();
    expect(recorder.done).toBe(true);
    // the records and the state line (the golden file's header comments aside)
    const body = (t: string) => t.split('\n').filter((l) => !l.startsWith('#') || l.startsWith('# state'));
    const want = body(golden);
    expect(want.length).toBeGreaterThan(2000);
    expect(body(out.join(''))).toEqual(want);
  });
});
