// Record/replay of input (DESIGN decision 12): the machine is deterministic, so a session is
// its input and the moment each piece arrived. A moment is the pair (instructions retired,
// clock time): input that arrives while the guest idles in HLT has the same instruction
// count over a stretch of time, and the guest sees when in that stretch it came.
//
// Input goes through an InputRecorder (which delivers it and writes it down) or comes from
// an InputReplayer (which runs the machine to each recorded moment and delivers it there).
// The log is text, one event a line:
//
//   forklab-input 1 [realtime]
//   <icount> <time> keys|text|type|com1|com2 <hex bytes>
//
// keys are scancodes for the keyboard controller, text is ASCII typed on it (as
// KeyboardController.typeText turns it into scancodes: a terminal's keys), type is ASCII typed
// as Machine.type does (each key waits until the guest read the one before: piped stdin),
// com1/com2 bytes for a UART's receiver.

import type { Machine, MachineStop } from './machine';

export type InputKind = 'keys' | 'text' | 'type' | 'com1' | 'com2';

export interface InputEvent {
  icount: number;
  time: number;
  kind: InputKind;
  bytes: number[];
}

export interface InputLog {
  /** the session was paced to the wall clock (--realtime); replays pace the same */
  realtime: boolean;
  events: InputEvent[];
}

function deliver(m: Machine, kind: InputKind, bytes: number[]): void {
  if (kind === 'keys') m.kbc.sendScancodes(bytes);
  else if (kind === 'text') m.kbc.typeText(String.fromCharCode(...bytes));
  else if (kind === 'type') m.type(String.fromCharCode(...bytes));
  else (kind === 'com1' ? m.com1 : m.com2).receive(bytes);
}

/** Delivers input to a machine between run() calls and logs it with the moment. */
export class InputRecorder {
  readonly log: InputLog;

  constructor(private readonly machine: Machine, options: { realtime?: boolean } = {}) {
    this.log = { realtime: options.realtime ?? false, events: [] };
  }

  /** Scancodes for the keyboard controller. */
  keys(scancodes: number[]): void {
    this.input('keys', scancodes);
  }

  /** ASCII text typed on the keyboard. */
  typeText(text: string): void {
    this.input('text', [...text].map((c) => c.charCodeAt(0)));
  }

  /** ASCII text as Machine.type types it (throws, logging nothing, for a character no key
   *  types). */
  type(text: string): void {
    this.input('type', [...text].map((c) => c.charCodeAt(0)));
  }

  /** Bytes arriving at COM1 (or COM2). */
  serial(bytes: number[], port: 1 | 2 = 1): void {
    this.input(port === 1 ? 'com1' : 'com2', bytes);
  }

  private input(kind: InputKind, bytes: number[]): void {
    if (bytes.length === 0) return;
    const m = this.machine;
    deliver(m, kind, bytes); // first: input the machine refuses is not logged
    this.log.events.push({ icount: m.instructions, time: m.clock.icount, kind, bytes: bytes.map((b) => b & 0xff) });
  }
}

/** Runs a machine through a recorded session, delivering each event at its moment. */
export class InputReplayer {
  private next = 0;

  constructor(private readonly machine: Machine, readonly log: InputLog) {}

  /** Events not delivered yet. */
  get pending(): number {
    return this.log.events.length - this.next;
  }

  /**
   * Runs at most `maxInstructions` and `maxTime` (as Machine.run), stopping at the next
   * event's moment to deliver it. Returns what run() returned; `limit` also when it stopped for an event.
   */
  run(maxInstructions: number, maxTime = maxInstructions): MachineStop {
    const m = this.machine;
    this.deliverDue();
    const e = this.log.events[this.next];
    if (!e) return m.run(maxInstructions, maxTime);
    // Instructions to the event's count; none left means it came while the guest idled in
    // HLT, and run() lets time pass up to its moment (a guest that runs on instead has
    // diverged, which deliverDue reports).
    const left = e.icount - m.instructions;
    const r = m.run(left > 0 ? Math.min(maxInstructions, left) : maxInstructions, Math.min(maxTime, e.time - m.clock.icount));
    this.deliverDue();
    return r;
  }

  private deliverDue(): void {
    const m = this.machine;
    for (let e = this.log.events[this.next]; e; e = this.log.events[this.next]) {
      const late = m.instructions > e.icount || m.clock.icount > e.time || (m.clock.icount === e.time && m.instructions < e.icount);
      if (late) {
        throw new Error(`replay: the session diverged: event ${this.next + 1} was at instruction ${e.icount}, time ${e.time}; the machine is at ${m.instructions}, time ${m.clock.icount}`);
      }
      if (m.instructions !== e.icount || m.clock.icount !== e.time) return;
      deliver(m, e.kind, e.bytes);
      this.next++;
    }
  }
}

const KINDS: readonly string[] = ['keys', 'text', 'type', 'com1', 'com2'];

export function formatInputLog(log: InputLog): string {
  const lines = [`forklab-input 1${log.realtime ? ' realtime' : ''}`];
  for (const e of log.events) lines.push(`${e.icount} ${e.time} ${e.kind} ${e.bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}`);
  return lines.join('\n') + '\n';
}

/** Parses a log; throws a one-line error naming the line that is wrong. */
export function parseInputLog(text: string): InputLog {
  const lines = text.split(/\r?\n/);
  const head = /^forklab-input (\d+)( realtime)?$/.exec(lines[0] ?? '');
  if (!head) throw new Error('not a forklab input log (the first line should be "forklab-input 1")');
  if (head[1] !== '1') throw new Error(`input log version ${head[1]}; this forklab reads version 1`);
  const log: InputLog = { realtime: head[2] !== undefined, events: [] };
  let last: InputEvent | null = null;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const m = /^(\d+) (\d+) (\w+) ((?:[0-9a-f]{2})+)$/.exec(lines[i]);
    if (!m || !KINDS.includes(m[3])) throw new Error(`input log line ${i + 1}: expected "ICOUNT TIME keys|text|type|com1|com2 HEXBYTES"`);
    const e: InputEvent = { icount: Number(m[1]), time: Number(m[2]), kind: m[3] as InputKind, bytes: m[4].match(/../g)!.map((h) => parseInt(h, 16)) };
    if (e.time < e.icount || (last && (e.icount < last.icount || e.time < last.time))) throw new Error(`input log line ${i + 1}: the moments go backwards`);
    log.events.push(e);
    last = e;
  }
  return log;
}
