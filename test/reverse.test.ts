// machine.seek (issue 14 part 3): the history's checkpoints and re-execution put the machine
// exactly where an uninterrupted run was at that instruction count — back and forward, after
// the checkpoints were thinned to a memory bound, and across input typed while it ran.
import { describe, expect, it } from 'vitest';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import type { MachineState } from '../emulator/snapshot';
import { buildImage } from '../tools/build-image';
import { echoImage, stateDiff } from './snapshot-helpers';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

function floppyMachine(image: Uint8Array, memorySize?: number) {
  const out: number[] = [];
  const m = new Machine({ memorySize, fda: new DiskImage(image.slice(), floppyGeometry(image.length)!), onSerial: (b) => out.push(b) });
  return { m, out: () => Buffer.from(out).toString('latin1') };
}

/** States of an uninterrupted run at the given instruction counts, and its end. */
function referenceRun(image: Uint8Array, at: number[]) {
  const { m, out } = floppyMachine(image);
  const states = new Map<number, MachineState>();
  for (const n of at) {
    m.run(n - m.instructions);
    expect(m.instructions).toBe(n);
    states.set(n, m.snapshot());
  }
  const stop = m.run(200_000_000);
  return { states, stop, end: m.snapshot(), out: out() };
}

describe('machine.seek on the forklab kernel', () => {
  const { image } = buildImage(ROOT);
  const at = [1, 2_500_001, 7_777_777, 12_000_000, 15_123_457];
  const ref = referenceRun(image, at);

  it('a run that keeps history ends as one that does not, and prints the same', () => {
    const { m, out } = floppyMachine(image);
    m.recordHistory({ interval: 1_000_000 });
    expect(m.run(200_000_000)).toEqual(ref.stop);
    expect(ref.stop.kind).toBe('exit');
    expect(stateDiff(m.snapshot(), ref.end)).toBeNull();
    expect(out()).toBe(ref.out);
    const info = m.history!.info;
    expect(info.start).toBe(0);
    expect(info.end).toBe(m.instructions);
    expect(info.checkpoints).toBeGreaterThan(15); // ~22 M instructions, one every ~1 M
  });

  it('seek goes back and forward to exactly the state the uninterrupted run had', () => {
    const { m, out } = floppyMachine(image);
    m.recordHistory({ interval: 1_000_000 });
    m.run(200_000_000);
    const printed = out();
    for (const n of [7_777_777, 1, 15_123_457, 2_500_001, 12_000_000, 15_123_457]) {
      m.seek(n);
      expect(m.instructions).toBe(n);
      expect(stateDiff(m.snapshot(), ref.states.get(n)), `at ${n}`).toBeNull();
    }
    // observers do not see the re-execution (a seek is not the guest running)
    let seen = 0;
    const h1 = m.hook('instruction', () => void seen++);
    const h2 = m.hook('port', () => void seen++);
    m.seek(7_777_777);
    expect(seen).toBe(0);
    h1.remove();
    h2.remove();
    // re-execution printed nothing again; running on from the past prints the rest again
    // and ends as before
    expect(out()).toBe(printed);
    const sofar = m.serialOutput();
    expect(m.run(200_000_000)).toEqual(ref.stop);
    expect(stateDiff(m.snapshot(), ref.end)).toBeNull();
    expect(out()).toBe(printed + printed.slice(sofar.length));
  });

  it('holds a memory bound by thinning checkpoints, and still seeks exactly', () => {
    const { m } = floppyMachine(image);
    const maxBytes = 4 * 1024 * 1024;
    m.recordHistory({ interval: 200_000, maxBytes });
    m.run(200_000_000);
    const info = m.history!.info;
    expect(info.bytes).toBeLessThanOrEqual(maxBytes);
    expect(info.at[0]).toBe(0); // the start stays
    expect(info.checkpoints).toBeLessThan(m.instructions / 200_000); // some were dropped
    // denser near where the machine is (the end) than far from it
    const gaps = info.at.slice(1).map((a, i) => a - info.at[i]);
    expect(gaps[gaps.length - 1]).toBeLessThan(gaps[1]);
    for (const n of [12_000_000, 2_500_001]) {
      m.seek(n);
      expect(stateDiff(m.snapshot(), ref.states.get(n)), `at ${n}`).toBeNull();
    }
    expect(m.history!.bytes).toBeLessThanOrEqual(maxBytes);
  });

  it('a write from outside in the past drops the recorded future', () => {
    const { m } = floppyMachine(image);
    m.recordHistory({ interval: 1_000_000 });
    m.run(200_000_000);
    const end = m.instructions;
    m.seek(12_000_000);
    expect(m.history!.end).toBe(end); // going back keeps the future
    m.writePhysical(0x500, [0x5a]);
    expect(m.history!.end).toBe(12_000_000);
    expect(m.history!.info.at.every((n) => n <= 12_000_000)).toBe(true);
    expect(() => m.seek(12_000_001)).toThrow(/^instruction 12000001 is beyond the end of history \(12000000\)$/);
    m.run(1_000_000);
    m.seek(12_500_000); // the new future is kept as it runs
    expect(m.readPhysical(0x500, 1)[0]).toBe(0x5a);
    m.seek(12_000_000); // the change is held from its moment on, not before
    expect(m.readPhysical(0x500, 1)[0]).toBe(0x5a);
    m.seek(11_999_999);
    expect(m.readPhysical(0x500, 1)[0]).toBe(0);
  });

  it('outside the history: one line', () => {
    const { m } = floppyMachine(image);
    expect(() => m.seek(5)).toThrow(/^seek: no history is kept \(call recordHistory\(\) first\)$/);
    m.run(1000);
    m.recordHistory();
    m.run(1000);
    expect(() => m.seek(999)).toThrow(/^instruction 999 is before the start of history \(1000\)$/);
    expect(() => m.seek(2001)).toThrow(/^instruction 2001 is beyond the end of history \(2000\)$/);
    expect(() => m.seek(-1)).toThrow(/^-1 is not an instruction count$/);
    expect(() => m.seek(1.5)).toThrow(/^1.5 is not an instruction count$/);
    expect(m.instructions).toBe(2000);
    m.seek(1000);
    expect(m.instructions).toBe(1000);
  });
});

describe('machine.seek across typed input', () => {
  const image = echoImage();

  /** The echo guest with keys typed between runs: some while it idles in HLT. */
  function session(m: Machine): number {
    m.run(300_000);
    const before = m.instructions;
    m.type('hi');
    m.run(5_000_000, 5_000_000);
    m.run(1000, 3_123_457); // inside an idle stretch
    m.type('!');
    m.run(2_000_000, 2_000_000);
    return before;
  }

  it('re-executes the input at its moment, and new input replaces the old future', () => {
    const plain = floppyMachine(image, 1024 * 1024);
    session(plain.m);
    const endState = plain.m.snapshot();
    expect(plain.out()).toMatch(/^kh@[0-9a-f]{2}\nki@[0-9a-f]{2}\nk!@[0-9a-f]{2}\n$/);

    const { m, out } = floppyMachine(image, 1024 * 1024);
    m.recordHistory({ interval: 50_000 });
    const early = Math.floor(session(m) / 2);
    expect(out()).toBe(plain.out());
    const end = m.instructions, endTime = m.clock.icount;
    m.seek(early); // before any key
    expect(m.kbc.keysPending).toBe(0);
    m.seek(end);
    // the first moment of that count; the session ended later in the idle stretch after it
    expect(m.clock.icount).toBeLessThan(endTime);
    m.run(Infinity, endTime - m.clock.icount);
    expect(m.instructions).toBe(end);
    expect(stateDiff(m.snapshot(), endState)).toBeNull();
    m.seek(early);
    m.run(end - m.instructions, 20_000_000); // forward again: the recorded keys come back
    expect(m.instructions).toBe(end);
    expect(m.screenText()).toBe(plain.m.screenText());
    // typing in the past starts a new future: the old keys are gone
    const mark = out().length;
    m.seek(early);
    m.type('z');
    m.run(3_000_000, 3_000_000);
    expect(m.history!.end).toBe(m.instructions);
    // the new key is echoed, and none of the old ones again
    expect(out().slice(mark)).toMatch(/^kz@[0-9a-f]{2}\n$/);
  });
});
