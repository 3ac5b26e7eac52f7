// Record/replay of input: a guest that idles in HLT and echoes keys (with the BIOS tick
// count it saw) and COM1 bytes; a session recorded against (instructions, clock time)
// replays with the same output at the same instruction counts and ends in the same state.
import { describe, expect, it } from 'vitest';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { formatInputLog, InputRecorder, InputReplayer, parseInputLog, type InputLog } from '../emulator/input-log';
import { echoImage, stateDiff } from './snapshot-helpers';

function echoMachine(image: Uint8Array) {
  const out: { byte: number; icount: number; time: number }[] = [];
  const m: Machine = new Machine({
    memorySize: 1024 * 1024,
    fda: new DiskImage(image.slice(), floppyGeometry(image.length)!),
    onSerial: (byte) => out.push({ byte, icount: m.instructions, time: m.clock.icount }),
  });
  m.hook('instruction', () => {}); // exact instruction counts in the serial callback (see snapshot.test.ts)
  return { m, out };
}

/** A session as a user at the terminal makes it: input between run slices, some of it
 *  while the guest idles in HLT. */
function recordSession(image: Uint8Array) {
  const { m, out } = echoMachine(image);
  const rec = new InputRecorder(m);
  m.run(300_000);
  rec.typeText('hi');
  m.run(5_000_000, 5_000_000);
  rec.serial([0x41, 0x42]);
  m.run(1000, 3_123_457); // stops inside an idle stretch: time passes, no instructions
  rec.typeText('!');
  m.run(2_000_000, 2_000_000);
  rec.keys([0x1c, 0x9c]); // Enter, make and break
  const stop = m.run(100_000_000);
  return { log: rec.log, out, stop, state: m.snapshot(), time: m.clock.icount };
}

function replay(image: Uint8Array, log: InputLog) {
  const { m, out } = echoMachine(image);
  const r = new InputReplayer(m, log);
  let stop = r.run(100_000_000);
  // bounded by clock time: a guest that idles in HLT runs few instructions while time passes
  while (stop.kind === 'limit' && m.clock.icount < 100_000_000) stop = r.run(100_000_000);
  return { out, stop, state: m.snapshot(), time: m.clock.icount, pending: r.pending };
}

describe('record and replay of input', () => {
  const image = echoImage();
  const session = recordSession(image);

  it('the recorded session echoes what was typed, with the tick each key came at', () => {
    expect(session.stop).toEqual({ kind: 'exit', status: 1 });
    const text = Buffer.from(session.out.map((o) => o.byte)).toString('latin1');
    expect(text).toMatch(/^kh@[0-9a-f]{2}\nki@[0-9a-f]{2}\nsA\nsB\nk!@[0-9a-f]{2}\nk\r@[0-9a-f]{2}\n$/);
    expect(session.log.events.map((e) => e.kind)).toEqual(['text', 'com1', 'text', 'keys']);
    // one event came while the guest idled: the same instruction count as before, later time
    const idle = session.log.events[2];
    expect(idle.time).toBeGreaterThan(idle.icount);
  });

  it('the log survives its text form', () => {
    const text = formatInputLog(session.log);
    expect(text.split('\n')[0]).toBe('forklab-input 1');
    expect(parseInputLog(text)).toEqual(session.log);
  });

  it('replayed, the guest prints the same bytes at the same instruction counts and ends in the same state', () => {
    const r = replay(image, parseInputLog(formatInputLog(session.log)));
    expect(r.stop).toEqual(session.stop);
    expect(r.pending).toBe(0);
    expect(r.out).toEqual(session.out);
    expect(r.time).toBe(session.time);
    expect(stateDiff(r.state, session.state)).toBeNull();
  });

  it('the comparison can fail: a key moved later in an idle stretch changes the run, and the replay says where', () => {
    const moved: InputLog = { ...session.log, events: session.log.events.map((e, i) => (i === 2 ? { ...e, time: e.time + 2_000_000 } : e)) };
    expect(() => replay(image, moved)).toThrow(/^replay: the session diverged: event 4 was at instruction \d+, time \d+; the machine is at \d+, time \d+$/);
    // without the events after it, the run ends differently
    const r = replay(image, { ...moved, events: moved.events.slice(0, 3) });
    expect(r.out.slice(0, 4)).toEqual(session.out.slice(0, 4));
    expect(r.out).not.toEqual(session.out);
  });

  it('a log that does not parse is one line naming the problem', () => {
    expect(() => parseInputLog('hello\n')).toThrow(/^not a forklab input log/);
    expect(() => parseInputLog('forklab-input 2\n')).toThrow(/^input log version 2; this forklab reads version 1$/);
    expect(() => parseInputLog('forklab-input 1\n10 20 keys 1c\n5 20 keys 9c\n')).toThrow(/^input log line 3: the moments go backwards$/);
    expect(() => parseInputLog('forklab-input 1\n10 20 mouse 1c\n')).toThrow(/^input log line 2: expected/);
  });
});
