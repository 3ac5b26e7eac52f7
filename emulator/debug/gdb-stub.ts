// The GDB remote stub (../shared/spec/gdb-remote.md): a TCP server that lets a real gdb
// attach to a DebugTarget. It speaks the remote serial protocol: `$payload#xx` packets,
// acks until QStartNoAckMode, a raw 0x03 byte to interrupt, stop replies when the guest
// stops. The guest runs in slices (DebugTarget.run) between which the Node event loop
// turns, so socket data (Ctrl-C) arrives while the guest runs.
//
// The stub never changes what the guest does (DESIGN decision 8): breakpoints are kept by
// the target and never patch memory, reads go through a side-effect-free page walk.
//
// Register numbering served to gdb (target.xml): 0-15 the i386 general registers in gdb
// order, 16-31 the x87 registers gdb requires in org.gnu.gdb.i386.core (reported as
// unavailable: we answer them with 'x'), 32-34 cr0, cr2, cr3. The `g` reply holds only the
// 16 general registers (gdb accepts a shorter `g` and fetches the rest with `p`).

import * as net from 'node:net';
import type { ReverseControl, ReverseStop } from './reverse';
import {
  CONTROL_REGISTERS, GDB_CORE_REGISTERS, readLinear, readPhysicalPartial, writeLinear,
  type BreakpointKind, type DebugTarget, type RegisterName, type StopReason, type WatchKind,
} from './target';

export interface GdbStubOptions {
  /** Instructions per run slice before yielding to the event loop (default 100000). */
  sliceInstructions?: number;
  /** Run the guest while no gdb is attached (and after detach). Default false: the guest
   *  waits, stopped, until gdb connects and continues it. */
  runWhenDetached?: boolean;
  /** Called when gdb kills the target (k / vKill). */
  onKill?: () => void;
  /** Called when the guest exits, halts for good or triple-faults while the stub runs it. */
  onGuestStop?: (reason: StopReason) => void;
  /** Protocol log (each packet in and out), for debugging the stub. */
  log?: (line: string) => void;
  /** Going backwards (gdb's reverse-stepi, reverse-continue: the bs and bc packets);
   *  without it the stub does not offer them. */
  reverse?: ReverseControl;
}

/** Register numbers as gdb sees them through our target.xml. */
const X87_FIRST = 16;
const X87_COUNT = 16;
const CR_FIRST = X87_FIRST + X87_COUNT; // 32
const REG_COUNT = CR_FIRST + CONTROL_REGISTERS.length; // 35

/** Byte size of gdb register number n. */
function regSize(n: number): number {
  if (n >= X87_FIRST && n < X87_FIRST + 8) return 10; // st0-st7
  return 4;
}

const X87_NAMES = [
  'st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7',
  'fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop',
];

/** The target description gdb reads with qXfer:features:read:target.xml. */
export function targetXml(realMode: boolean): string {
  const r = (name: string, bits: number, type: string, group?: string) =>
    `    <reg name="${name}" bitsize="${bits}" type="${type}"${group ? ` group="${group}"` : ''}/>\n`;
  let core = '';
  const gen: [string, string][] = [
    ['eax', 'int32'], ['ecx', 'int32'], ['edx', 'int32'], ['ebx', 'int32'],
    ['esp', 'data_ptr'], ['ebp', 'data_ptr'], ['esi', 'int32'], ['edi', 'int32'],
    ['eip', 'code_ptr'], ['eflags', 'i386_eflags'], ['cs', 'int32'], ['ss', 'int32'],
    ['ds', 'int32'], ['es', 'int32'], ['fs', 'int32'], ['gs', 'int32'],
  ];
  for (const [n, t] of gen) core += r(n, 32, t, 'general');
  for (let i = 0; i < 8; i++) core += r(`st${i}`, 80, 'i387_ext', 'float');
  for (const n of X87_NAMES.slice(8)) core += r(n, 32, 'int', 'float');
  const flags = [
    ['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9],
    ['DF', 10], ['OF', 11], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19],
    ['VIP', 20], ['ID', 21],
  ] as const;
  const flagFields = flags.map(([n, b]) => `    <field name="${n}" start="${b}" end="${b}"/>\n`).join('');
  let ctrl = '';
  for (const n of CONTROL_REGISTERS) ctrl += r(n, 32, 'int32', 'system');
  return (
    '<?xml version="1.0"?>\n<!DOCTYPE target SYSTEM "gdb-target.dtd">\n<target version="1.0">\n' +
    `  <architecture>${realMode ? 'i8086' : 'i386'}</architecture>\n` +
    '  <osabi>none</osabi>\n' +
    '  <feature name="org.gnu.gdb.i386.core">\n' +
    '    <flags id="i386_eflags" size="4">\n' + flagFields + '    </flags>\n' +
    core +
    '  </feature>\n' +
    '  <feature name="org.forklab.i386.control">\n' + ctrl + '  </feature>\n' +
    '</target>\n'
  );
}

/** Little-endian hex of a 32-bit value, as registers travel in g/p packets. */
function leHex32(v: number): string {
  v >>>= 0;
  let s = '';
  for (let i = 0; i < 4; i++) s += ((v >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}

function parseLeHex32(s: string): number {
  if (!/^[0-9a-fA-F]{8}$/.test(s)) throw new ProtocolError('bad register value');
  let v = 0;
  for (let i = 3; i >= 0; i--) v = v * 256 + parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return v >>> 0;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new ProtocolError('bad hex data');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function parseHexNum(s: string | undefined): number {
  if (s === undefined || !/^[0-9a-fA-F]{1,16}$/.test(s)) throw new ProtocolError(`bad number '${s}'`);
  const v = parseInt(s, 16);
  if (v > 0xffffffff) throw new ProtocolError('number out of range');
  return v;
}

class ProtocolError extends Error {}

export function checksum(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) sum = (sum + payload.charCodeAt(i)) & 0xff;
  return sum.toString(16).padStart(2, '0');
}

/** Escapes binary reply data: '#', '$', '}' and '*' become 0x7d, byte ^ 0x20. */
export function escapeBinary(data: string): string {
  let out = '';
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x23 || c === 0x24 || c === 0x7d || c === 0x2a) out += '}' + String.fromCharCode(c ^ 0x20);
    else out += data[i];
  }
  return out;
}

function unescapeBinary(data: string): Uint8Array {
  const out = new Uint8Array(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c === 0x7d) {
      if (i + 1 >= data.length) throw new ProtocolError('dangling escape');
      out[n++] = data.charCodeAt(++i) ^ 0x20;
    } else out[n++] = c & 0xff;
  }
  return out.slice(0, n);
}

/** One gdb connection's protocol state. */
class Session {
  private inbuf = '';
  private noAck = false;
  private lastSent = '';
  swbreakOk = false;
  hwbreakOk = false;
  phyMem = false;
  closed = false;

  constructor(
    private readonly stub: GdbStub,
    readonly socket: net.Socket,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (d) => this.onData(typeof d === 'string' ? Buffer.from(d, 'latin1') : d));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    // end(), not destroy(): a last reply (D's OK) must still reach gdb.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.stub.sessionClosed(this);
  }

  send(payload: string): void {
    if (this.closed) return;
    const packet = `$${payload}#${checksum(payload)}`;
    this.lastSent = packet;
    this.stub.log?.(`<- ${payload.length > 200 ? payload.slice(0, 200) + '...' : payload}`);
    this.socket.write(Buffer.from(packet, 'latin1'));
  }

  private onData(data: Buffer): void {
    this.inbuf += data.toString('latin1');
    let i = 0;
    const buf = this.inbuf;
    while (i < buf.length) {
      const c = buf[i];
      if (c === '$') {
        const hash = buf.indexOf('#', i + 1);
        if (hash < 0 || hash + 3 > buf.length) break; // incomplete
        const payload = buf.slice(i + 1, hash);
        const sum = buf.slice(hash + 1, hash + 3);
        i = hash + 3;
        if (sum.toLowerCase() !== checksum(payload)) {
          this.stub.log?.(`bad checksum ${sum} for ${payload.slice(0, 60)}`);
          if (!this.noAck) this.socket.write('-');
          continue;
        }
        if (!this.noAck) this.socket.write('+');
        this.stub.log?.(`-> ${payload.length > 200 ? payload.slice(0, 200) + '...' : payload}`);
        this.stub.handlePacket(this, payload);
        if (this.closed) return;
      } else if (c === '\x03') {
        i++;
        this.stub.interrupt(this);
      } else if (c === '-') {
        i++;
        if (!this.noAck && this.lastSent) this.socket.write(Buffer.from(this.lastSent, 'latin1'));
      } else {
        i++; // '+' acks (stray ones too) and line noise between packets
      }
    }
    this.inbuf = buf.slice(i);
    if (this.inbuf.length > 1 << 20) this.inbuf = ''; // garbage without a packet end
  }

  startNoAck(): void {
    this.noAck = true;
  }
}

/**
 * The stub. `listen(port)` opens the TCP server on 127.0.0.1 (port 0 picks a free one);
 * one gdb at a time. While gdb is attached the stub owns run control.
 */
export class GdbStub {
  private server: net.Server | null = null;
  private session: Session | null = null;
  private running = false;
  private interruptRequested = false;
  private runScheduled = false;
  private lastStop = 'T05thread:01;';
  /** What this stub inserted, so detach removes exactly that. */
  private readonly breakpoints = new Set<string>();
  private readonly watchpoints = new Set<string>();
  private readonly slice: number;
  private guestDead = false;
  /** Stopped at a breakpoint, EIP unchanged since: continuing must step over it first. */
  private atBreakpoint = false;
  readonly log?: (line: string) => void;

  constructor(
    /** What the stub debugs (read-only: breakpoints set here are the stub's own). */
    readonly target: DebugTarget,
    private readonly options: GdbStubOptions = {},
  ) {
    this.slice = options.sliceInstructions ?? 100_000;
    this.log = options.log;
    if (options.runWhenDetached) this.resume();
  }

  /** Starts listening; resolves with the port actually bound. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const server = net.createServer((sock) => this.accept(sock));
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.on('error', () => {});
        this.server = server;
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops listening, drops the connection and stops running the guest. */
  close(): Promise<void> {
    this.running = false;
    this.guestDead = true; // closing the session must not resume the guest (runWhenDetached)
    this.session?.close();
    const s = this.server;
    this.server = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  get isRunning(): boolean {
    return this.running;
  }

  get attached(): boolean {
    return this.session !== null;
  }

  private accept(sock: net.Socket): void {
    if (this.session) {
      sock.destroy(); // one debugger at a time
      return;
    }
    // A new debugger finds the guest stopped (and is told so plainly, not with an earlier
    // debugger's stop reason), or finds that it exited.
    this.running = false;
    if (!this.guestDead) this.lastStop = 'T05thread:01;';
    this.session = new Session(this, sock);
  }

  sessionClosed(s: Session): void {
    if (this.session !== s) return;
    this.session = null;
    // A vanished gdb must not leave breakpoints behind.
    this.removeAllPoints();
    if (this.options.runWhenDetached) this.resume();
  }

  interrupt(s: Session): void {
    if (s !== this.session) return;
    if (this.running) this.interruptRequested = true;
  }

  // ---- run control ----

  private resume(): void {
    if (this.guestDead) return;
    this.running = true;
    this.interruptRequested = false;
    this.scheduleSlice();
  }

  private scheduleSlice(): void {
    if (this.runScheduled) return;
    this.runScheduled = true;
    setImmediate(() => {
      this.runScheduled = false;
      this.runSlice();
    });
  }

  private runSlice(): void {
    if (!this.running) return;
    if (this.interruptRequested) {
      this.interruptRequested = false;
      this.stopped('T02thread:01;');
      return;
    }
    let reason: StopReason;
    try {
      reason = this.target.run(this.slice);
    } catch (e) {
      this.running = false;
      this.session?.send(`O${Buffer.from(`forklab: ${(e as Error).message}\n`).toString('hex')}`);
      this.stopped('T05thread:01;');
      return;
    }
    if (reason.kind === 'budget') {
      this.scheduleSlice();
      return;
    }
    this.stopped(this.stopReply(reason), reason);
  }

  private stopped(reply: string, reason?: StopReason): void {
    this.running = false;
    this.lastStop = reply;
    this.atBreakpoint = reason?.kind === 'breakpoint';
    if (reason && (reason.kind === 'exited' || reason.kind === 'halted' || reason.kind === 'triple-fault' || reason.kind === 'failed')) {
      this.options.onGuestStop?.(reason);
    }
    if (reason?.kind === 'exited') this.guestDead = true;
    this.session?.send(reply);
  }

  private stopReply(r: StopReason): string {
    const s = this.session;
    switch (r.kind) {
      case 'step':
      case 'budget':
        return 'T05thread:01;';
      case 'breakpoint': {
        // gdb's $pc is EIP, our breakpoints are linear (CS.base + EIP). When the two differ
        // (real mode with CS != 0) a swbreak: stop at a $pc where gdb has no breakpoint makes
        // gdb resume silently — forever. Then report a plain SIGTRAP (as QEMU does) and step
        // over the breakpoint ourselves on the next continue (see cont()).
        const pcMatches = this.target.readRegister('eip') === r.address;
        if (pcMatches && r.type === 'sw' && s?.swbreakOk) return 'T05thread:01;swbreak:;';
        if (pcMatches && r.type === 'hw' && s?.hwbreakOk) return 'T05thread:01;hwbreak:;';
        return 'T05thread:01;';
      }
      case 'watchpoint': {
        const key = r.type === 'write' ? 'watch' : r.type === 'read' ? 'rwatch' : 'awatch';
        return `T05thread:01;${key}:${(r.address >>> 0).toString(16)};`;
      }
      case 'exited':
        return `W${(r.code & 0xff).toString(16).padStart(2, '0')}`;
      case 'halted':
        s?.send(`O${Buffer.from('forklab: the CPU halted with interrupts disabled\n').toString('hex')}`);
        return 'T05thread:01;';
      case 'triple-fault':
        s?.send(`O${Buffer.from(`forklab: triple fault: ${r.message}\n`).toString('hex')}`);
        return 'T05thread:01;';
      case 'failed':
        s?.send(`O${Buffer.from(`forklab: the machine stopped: ${r.message}\n`).toString('hex')}`);
        return 'T05thread:01;';
    }
  }

  private removeAllPoints(): void {
    for (const k of this.breakpoints) {
      const [type, addr] = k.split(':');
      this.target.removeBreakpoint(Number(addr), type as BreakpointKind);
    }
    for (const k of this.watchpoints) {
      const [type, addr, len] = k.split(':');
      this.target.removeWatchpoint(Number(addr), Number(len), type as WatchKind);
    }
    this.breakpoints.clear();
    this.watchpoints.clear();
  }

  // ---- packets ----

  handlePacket(s: Session, p: string): void {
    let reply: string | null;
    try {
      reply = this.dispatch(s, p);
    } catch (e) {
      reply = 'E01'; // malformed packet (or a target error): never crash
      this.log?.(`error in '${p.slice(0, 40)}': ${(e as Error).message}`);
    }
    if (reply !== null) s.send(reply);
  }

  /** Returns the reply, or null when the reply comes later (c, s) or never (k). */
  private dispatch(s: Session, p: string): string | null {
    const c = p[0];
    switch (c) {
      case '?':
        return this.lastStop;
      case 'g':
        return p === 'g' ? this.readAllRegisters() : '';
      case 'G':
        this.writeAllRegisters(p.slice(1));
        return 'OK';
      case 'p':
        return this.readRegister(parseHexNum(p.slice(1)));
      case 'P': {
        const eq = p.indexOf('=');
        if (eq < 0) throw new ProtocolError('P without =');
        return this.writeRegister(parseHexNum(p.slice(1, eq)), p.slice(eq + 1));
      }
      case 'm':
        return this.readMemory(p.slice(1));
      case 'M':
        return this.writeMemoryHex(p.slice(1));
      case 'X':
        return this.writeMemoryBinary(p.slice(1));
      case 'c':
      case 'C':
        return this.cont();
      case 's':
      case 'S':
        return this.stepOne();
      case 'H':
        return 'OK';
      case 'T':
        return 'OK'; // thread 1 is alive
      case 'Z':
      case 'z':
        return this.point(c === 'Z', p.slice(1));
      case 'D':
        this.removeAllPoints();
        s.send('OK');
        this.session = null;
        s.close();
        if (!this.guestDead) this.resume();
        return null;
      case 'k':
        this.kill(s);
        return null;
      case 'q':
        return this.query(s, p);
      case 'Q':
        return this.setQuery(s, p);
      case 'v':
        return this.vPacket(s, p);
      case 'b':
        return p === 'bs' || p === 'bc' ? this.goBack(p === 'bs') : '';
      default:
        return '';
    }
  }

  private query(s: Session, p: string): string {
    if (p.startsWith('qSupported')) {
      const feats = p.includes(':') ? p.slice(p.indexOf(':') + 1).split(';') : [];
      s.swbreakOk = feats.includes('swbreak+');
      s.hwbreakOk = feats.includes('hwbreak+');
      return `PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+${this.options.reverse ? ';ReverseStep+;ReverseContinue+' : ''}`;
    }
    if (p.startsWith('qXfer:features:read:')) {
      const m = /^qXfer:features:read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(p);
      if (!m) throw new ProtocolError('bad qXfer');
      if (m[1] !== 'target.xml') return 'E00';
      const xml = targetXml(this.target.isRealMode());
      const off = parseHexNum(m[2]);
      const len = parseHexNum(m[3]);
      const chunk = xml.slice(off, off + len);
      return (off + len >= xml.length ? 'l' : 'm') + escapeBinary(chunk);
    }
    if (p === 'qfThreadInfo') return 'm01';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qAttached')) return '1';
    if (p === 'qC') return 'QC01';
    if (p === 'qqemu.PhyMemMode') return s.phyMem ? '1' : '0';
    if (p.startsWith('qSymbol')) return 'OK';
    if (p.startsWith('qRcmd,')) return this.monitor(s, Buffer.from(p.slice(6), 'hex').toString('latin1').trim());
    return '';
  }

  private setQuery(s: Session, p: string): string | null {
    if (p === 'QStartNoAckMode') {
      s.send('OK'); // sent in ack mode: gdb still acks this reply (a '+' we ignore)
      s.startNoAck();
      return null;
    }
    const m = /^Qqemu\.PhyMemMode:([01])$/.exec(p);
    if (m) {
      s.phyMem = m[1] === '1';
      return 'OK';
    }
    return '';
  }

  /** `monitor CMD` in gdb: output goes back as O packets, then OK. */
  private monitor(s: Session, cmd: string): string {
    const say = (text: string) => s.send(`O${Buffer.from(text.endsWith('\n') ? text : text + '\n', 'latin1').toString('hex')}`);
    const [word, ...args] = cmd.split(/\s+/);
    switch (word) {
      case '':
      case 'help':
        say('forklab monitor commands:\n' +
          '  monitor phys on|off       m/M/X addresses are physical (on) or linear (off)\n' +
          '  monitor translate LINEAR  walk the page tables for a linear address\n' +
          '  monitor state             segment bases and limits, GDTR/IDTR, LDTR/TR, CPL');
        return 'OK';
      case 'phys':
        if (args[0] === 'on' || args[0] === 'off') s.phyMem = args[0] === 'on';
        say(`memory packets use ${s.phyMem ? 'physical' : 'linear'} addresses`);
        return 'OK';
      case 'translate': {
        const a = /^(0x)?[0-9a-f]{1,8}$/i.test(args[0] ?? '') ? parseInt(args[0].replace(/^0x/i, ''), 16) : NaN;
        if (Number.isNaN(a)) {
          say('usage: monitor translate LINEAR (hex)');
          return 'OK';
        }
        const phys = this.target.translateLinear(a);
        const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
        say(phys < 0 ? `linear ${hex(a)}: not present` : `linear ${hex(a)} -> physical ${hex(phys)}`);
        return 'OK';
      }
      case 'state':
        say(this.target.describeState?.() ?? 'this target has no state description');
        return 'OK';
      default:
        say(`unknown monitor command '${word}' (try 'monitor help')`);
        return 'OK';
    }
  }

  private vPacket(s: Session, p: string): string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p.startsWith('vCont;')) {
      const actions = p.slice(6).split(';');
      // Only one thread: any step action steps it, otherwise continue.
      if (actions.some((a) => a[0] === 's' || a[0] === 'S')) return this.stepOne();
      if (actions.some((a) => a[0] === 'c' || a[0] === 'C')) return this.cont();
      if (actions.some((a) => a[0] === 't')) {
        if (this.running) this.interruptRequested = true;
        return null;
      }
      throw new ProtocolError('bad vCont');
    }
    if (p === 'vCtrlC') {
      if (this.running) this.interruptRequested = true;
      return 'OK';
    }
    if (p.startsWith('vKill')) {
      s.send('OK');
      this.kill(s);
      return null;
    }
    return '';
  }

  private kill(s: Session): void {
    this.running = false;
    this.removeAllPoints();
    this.guestDead = true;
    this.session = null;
    s.close();
    this.options.onKill?.();
  }

  private cont(): string | null {
    if (this.guestDead) return 'W00';
    if (this.atBreakpoint) {
      // gdb steps over its breakpoints itself (z0, s, Z0, c) when it recognises the stop;
      // when it did not (see stopReply), the breakpoint is still there: do not stop on it
      // again before anything ran.
      const r = this.stepOne();
      if (r !== 'T05thread:01;') return r;
    }
    this.resume();
    return null;
  }

  /** bs / bc: one instruction back, or back to the last breakpoint or watchpoint hit; at
   *  the start of history gdb is told `replaylog:begin`. Going forward from the past
   *  re-executes the same path (the machine is deterministic) and runs on live past where
   *  history ended, so there is no `replaylog:end`. */
  private goBack(step: boolean): string {
    const rev = this.options.reverse;
    if (!rev) return '';
    if (this.running) return 'E01';
    let r: ReverseStop;
    try {
      r = step ? rev.stepBack(1) : rev.continueBack();
    } catch (e) {
      this.session?.send(`O${Buffer.from(`forklab: ${(e as Error).message}\n`).toString('hex')}`);
      return 'E01';
    }
    this.guestDead = false;
    this.atBreakpoint = r.kind === 'breakpoint';
    const reply = r.kind === 'begin' ? 'T05thread:01;replaylog:begin;' : this.stopReply(r);
    this.lastStop = reply;
    return reply;
  }

  private stepOne(): string {
    if (this.guestDead) return 'W00';
    this.atBreakpoint = false;
    let r: StopReason;
    try {
      r = this.target.step();
    } catch (e) {
      this.session?.send(`O${Buffer.from(`forklab: ${(e as Error).message}\n`).toString('hex')}`);
      return 'T05thread:01;';
    }
    const reply = this.stopReply(r);
    this.lastStop = reply;
    if (r.kind === 'exited') this.guestDead = true;
    return reply;
  }

  private point(insert: boolean, args: string): string {
    const parts = args.split(',');
    const type = parseHexNum(parts[0]);
    const addr = parseHexNum(parts[1]);
    const len = parseHexNum(parts[2]?.split(';')[0]);
    if (type <= 1) {
      const kind: BreakpointKind = type === 0 ? 'sw' : 'hw';
      const key = `${kind}:${addr}`;
      if (insert) {
        this.target.addBreakpoint(addr, kind);
        this.breakpoints.add(key);
      } else {
        this.target.removeBreakpoint(addr, kind);
        this.breakpoints.delete(key);
      }
      return 'OK';
    }
    if (type <= 4) {
      if (len === 0) throw new ProtocolError('zero-length watchpoint');
      const kind: WatchKind = type === 2 ? 'write' : type === 3 ? 'read' : 'access';
      const key = `${kind}:${addr}:${len}`;
      if (insert) {
        this.target.addWatchpoint(addr, len, kind);
        this.watchpoints.add(key);
      } else {
        this.target.removeWatchpoint(addr, len, kind);
        this.watchpoints.delete(key);
      }
      return 'OK';
    }
    return '';
  }

  // ---- registers ----

  private regValue(n: number): number {
    if (n < 16) return this.target.readRegister(GDB_CORE_REGISTERS[n]);
    return this.target.readRegister(CONTROL_REGISTERS[n - CR_FIRST]);
  }

  private readAllRegisters(): string {
    let out = '';
    for (let n = 0; n < 16; n++) out += leHex32(this.regValue(n));
    return out;
  }

  private writeAllRegisters(data: string): void {
    // Layout: 16 general (4 bytes), 8 x87 st (10 bytes), 8 x87 control (4 bytes), cr0/2/3.
    if (data.length < 16 * 8) throw new ProtocolError('G shorter than the general registers');
    let off = 0;
    let changed = false;
    for (let n = 0; n < REG_COUNT && off + regSize(n) * 2 <= data.length; n++) {
      const size = regSize(n) * 2;
      const field = data.slice(off, off + size);
      off += size;
      if (n >= X87_FIRST && n < CR_FIRST) continue;
      if (/^x+$/i.test(field)) continue;
      const v = parseLeHex32(field);
      const name = this.regName(n);
      if (this.target.readRegister(name) !== v) {
        if (name === 'eip' || name === 'cs') this.atBreakpoint = false;
        this.target.writeRegister(name, v);
        changed = true;
      }
    }
    if (changed) this.options.reverse?.diverged();
  }

  private regName(n: number): RegisterName {
    return n < 16 ? GDB_CORE_REGISTERS[n] : CONTROL_REGISTERS[n - CR_FIRST];
  }

  private readRegister(n: number): string {
    if (n >= REG_COUNT) return 'E00';
    if (n >= X87_FIRST && n < CR_FIRST) return 'x'.repeat(regSize(n) * 2);
    return leHex32(this.regValue(n));
  }

  private writeRegister(n: number, value: string): string {
    if (n >= REG_COUNT) return 'E00';
    if (n >= X87_FIRST && n < CR_FIRST) return 'E00';
    const name = this.regName(n);
    const v = parseLeHex32(value);
    if ((name === 'eip' || name === 'cs') && this.target.readRegister(name) !== v) this.atBreakpoint = false; // gdb moved the PC
    if (!this.target.writeRegister(name, v)) return 'E00';
    this.options.reverse?.diverged();
    return 'OK';
  }

  // ---- memory ----

  private parseAddrLen(s: string): [number, number] {
    const [a, l] = s.split(',');
    return [parseHexNum(a), parseHexNum(l)];
  }

  private readMemory(args: string): string {
    const [addr, len] = this.parseAddrLen(args);
    if (len > 0x2000) throw new ProtocolError('read too long');
    if (len === 0) return '';
    const bytes = this.session?.phyMem
      ? readPhysicalPartial(this.target, addr, len)
      : readLinear(this.target, addr, len);
    return bytes.length === 0 ? 'E14' : toHex(bytes);
  }

  private writeBytes(addr: number, data: Uint8Array): string {
    if (data.length === 0) return 'OK';
    const ok = this.session?.phyMem ? this.target.writePhysical(addr, data) : writeLinear(this.target, addr, data);
    if (ok) this.options.reverse?.diverged();
    return ok ? 'OK' : 'E14';
  }

  private writeMemoryHex(args: string): string {
    const colon = args.indexOf(':');
    if (colon < 0) throw new ProtocolError('M without data');
    const [addr, len] = this.parseAddrLen(args.slice(0, colon));
    const data = fromHex(args.slice(colon + 1));
    if (data.length !== len) throw new ProtocolError('M length mismatch');
    return this.writeBytes(addr, data);
  }

  private writeMemoryBinary(args: string): string {
    const colon = args.indexOf(':');
    if (colon < 0) throw new ProtocolError('X without data');
    const [addr, len] = this.parseAddrLen(args.slice(0, colon));
    const data = unescapeBinary(args.slice(colon + 1));
    if (data.length !== len) throw new ProtocolError('X length mismatch');
    return this.writeBytes(addr, data);
  }
}
