// The GDB remote protocol spoken byte by byte over a socket: framing, checksums, acks and
// no-ack mode, binary X escapes, Ctrl-C, malformed packets.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checksum, GdbStub, targetXml } from '../emulator/debug/gdb-stub';
import { DATA, makeFake, type FakeTarget } from './gdb-fake-target';

/** A raw client: collects every byte the stub sends. */
class Client {
  buf = '';
  closed = false;
  private waiters: (() => void)[] = [];
  constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf += d.toString('latin1');
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static async connect(port: number): Promise<Client> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => {
      sock.once('connect', () => res());
      sock.once('error', rej);
    });
    return new Client(sock);
  }
  raw(s: string): void {
    this.sock.write(Buffer.from(s, 'latin1'));
  }
  send(payload: string): void {
    this.raw(`$${payload}#${checksum(payload)}`);
  }
  /** Waits until the buffer satisfies `pred` (which returns what to consume, or null). */
  async until<T>(pred: (b: string) => { value: T; used: number } | null, ms = 3000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const r = pred(this.buf);
      if (r) {
        this.buf = this.buf.slice(r.used);
        return r.value;
      }
      if (this.closed) throw new Error(`connection closed; buffer '${this.buf}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; buffer '${this.buf}'`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
  /** Next char (ack or nack). */
  ack(): Promise<string> {
    return this.until((b) => (b.length ? { value: b[0], used: 1 } : null));
  }
  /** Next packet: returns its payload after checking the checksum; skips acks before it. */
  packet(): Promise<string> {
    return this.until((b) => {
      const m = /^[+]*\$([^#]*)#([0-9a-f]{2})/.exec(b);
      if (!m) return null;
      expect(m[2]).toBe(checksum(m[1]));
      return { value: m[1], used: m[0].length };
    });
  }
  async ask(payload: string): Promise<string> {
    this.send(payload);
    return this.packet();
  }
  close(): void {
    this.sock.destroy();
  }
}

let stub: GdbStub | null = null;
let client: Client | null = null;
afterEach(async () => {
  client?.close();
  client = null;
  await stub?.close();
  stub = null;
});

async function start(t: FakeTarget = makeFake(), opts: ConstructorParameters<typeof GdbStub>[1] = {}) {
  stub = new GdbStub(t, { sliceInstructions: 500, ...opts });
  const port = await stub.listen(0);
  client = await Client.connect(port);
  return { t, c: client, port };
}

describe('gdb remote stub: framing', () => {
  it('acks good packets, nacks bad checksums, answers with correct checksums', async () => {
    const { c } = await start();
    c.raw('$?#00');
    expect(await c.ack()).toBe('-');
    c.raw('$?#3f');
    expect(await c.ack()).toBe('+');
    expect(await c.packet()).toBe('T05thread:01;');
  });

  it('reassembles a packet split across writes and ignores line noise', async () => {
    const { c } = await start();
    c.raw('xyz+$qAtt');
    await new Promise((r) => setTimeout(r, 20));
    c.raw('ached#8f');
    expect(await c.packet()).toBe('1');
  });

  it('resends the last reply on a nack', async () => {
    const { c } = await start();
    expect(await c.ask('qC')).toBe('QC01');
    c.raw('-');
    expect(await c.packet()).toBe('QC01');
  });

  it('answers qSupported exactly, unknown packets with an empty reply', async () => {
    const { c } = await start();
    expect(await c.ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386')).toBe(
      'PacketSize=4000;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+',
    );
    expect(await c.ask('vMustReplyEmpty')).toBe('');
    expect(await c.ask('qTStatus')).toBe('');
    expect(await c.ask('!')).toBe('');
    expect(await c.ask('Hg0')).toBe('OK');
    expect(await c.ask('Hc-1')).toBe('OK');
    expect(await c.ask('qfThreadInfo')).toBe('m01');
    expect(await c.ask('qsThreadInfo')).toBe('l');
    expect(await c.ask('qAttached')).toBe('1');
    expect(await c.ask('vCont?')).toBe('vCont;c;C;s;S');
  });

  it('stops acking in no-ack mode and tolerates a stray +', async () => {
    const { c } = await start();
    c.send('QStartNoAckMode');
    expect(await c.ack()).toBe('+');
    expect(await c.packet()).toBe('OK');
    c.raw('+'); // gdb's ack of that OK, and a stray one
    c.raw('+');
    c.send('qC');
    // The very next byte is the packet start: no '+' any more.
    expect(await c.ack()).toBe('$');
    c.buf = '$' + c.buf;
    expect(await c.packet()).toBe('QC01');
    // A nack no longer causes a resend, and a bad checksum is simply dropped.
    c.raw('-');
    c.raw('$qC#00');
    c.send('qAttached');
    expect(await c.packet()).toBe('1');
  });

  it('serves target.xml in chunks (m … l), escaping nothing it should not', async () => {
    const { c } = await start();
    let xml = '';
    let off = 0;
    for (;;) {
      const r = await c.ask(`qXfer:features:read:target.xml:${off.toString(16)},100`);
      expect(r[0] === 'm' || r[0] === 'l').toBe(true);
      xml += r.slice(1);
      off += r.length - 1;
      if (r[0] === 'l') break;
    }
    expect(xml).toBe(targetXml(false));
    expect(xml).toContain('<architecture>i386</architecture>');
    expect(xml).toContain('<osabi>none</osabi>');
    const core = xml.slice(xml.indexOf('org.gnu.gdb.i386.core'), xml.indexOf('</feature>'));
    expect(core.match(/<reg /g)?.length).toBe(32);
    expect(await c.ask('qXfer:features:read:other.xml:0,100')).toBe('E00');
    expect(targetXml(true)).toContain('<architecture>i8086</architecture>');
  });
});

describe('gdb remote stub: registers and memory', () => {
  it('reads and writes registers with g/G/p/P', async () => {
    const { c, t } = await start();
    const g = await c.ask('g');
    expect(g.length).toBe(16 * 8);
    expect(g.slice(8 * 8, 9 * 8)).toBe('00100000'); // eip 0x1000, little-endian
    expect(await c.ask('p8')).toBe('00100000');
    expect(await c.ask('P0=78563412')).toBe('OK');
    expect(t.get('eax')).toBe(0x12345678);
    expect(await c.ask('p20')).toBe('11000000'); // cr0
    expect(await c.ask('p10')).toBe('x'.repeat(20)); // st0: unavailable
    expect(await c.ask('p1b')).toBe('x'.repeat(8)); // x87 control register
    expect(await c.ask('p99')).toBe('E00');
    const g2 = '01000000' + g.slice(8);
    expect(await c.ask('G' + g2)).toBe('OK');
    expect(t.get('eax')).toBe(1);
    expect(await c.ask('g')).toBe(g2);
  });

  it('reads memory by linear address, E14 on an absent page, partial across a page end', async () => {
    const t = makeFake();
    t.absentPages.add(0x5);
    t.mem.set([1, 2, 3, 4], 0x4ffe);
    const { c } = await start(t);
    expect(await c.ask('m1000,5')).toBe('b801000000');
    expect(await c.ask('m5000,4')).toBe('E14');
    expect(await c.ask('m4ffe,4')).toBe('0102');
    expect(await c.ask('M5000,1:00')).toBe('E14');
    expect(await c.ask('M2000,2:abcd')).toBe('OK');
    expect([t.mem[DATA], t.mem[DATA + 1]]).toEqual([0xab, 0xcd]);
  });

  it('writes binary data with X, undoing 0x7d escapes', async () => {
    const { c, t } = await start();
    expect(await c.ask('X2000,0:')).toBe('OK'); // gdb's probe
    // bytes 23 24 7d 2a 00 ff, escaped: } 03, } 04, } 5d, } 0a
    const data = '}\x03}\x04}\x5d}\x0a\x00\xff';
    const payload = `X2000,6:${data}`;
    c.raw(`$${payload}#${checksum(payload)}`);
    expect(await c.packet()).toBe('OK');
    expect([...t.mem.subarray(DATA, DATA + 6)]).toEqual([0x23, 0x24, 0x7d, 0x2a, 0x00, 0xff]);
    expect(await c.ask('m2000,6')).toBe('23247d2a00ff');
  });

  it('switches memory packets to physical addresses with Qqemu.PhyMemMode', async () => {
    const t = makeFake();
    t.absentPages.add(0x2);
    t.mem[DATA] = 0x42;
    const { c } = await start(t);
    expect(await c.ask('m2000,1')).toBe('E14');
    expect(await c.ask('qqemu.PhyMemMode')).toBe('0');
    expect(await c.ask('Qqemu.PhyMemMode:1')).toBe('OK');
    expect(await c.ask('qqemu.PhyMemMode')).toBe('1');
    expect(await c.ask('m2000,1')).toBe('42');
    expect(await c.ask('mffffe,4')).toBe('0000'); // physical memory ends at 1 MiB
    expect(await c.ask('Qqemu.PhyMemMode:0')).toBe('OK');
    expect(await c.ask('m2000,1')).toBe('E14');
  });

  it('answers monitor commands (qRcmd) with console output, then OK', async () => {
    const t = makeFake();
    t.absentPages.add(0x5);
    const { c } = await start(t);
    const monitor = async (cmd: string) => {
      c.send(`qRcmd,${Buffer.from(cmd).toString('hex')}`);
      let text = '';
      for (;;) {
        const p = await c.packet();
        if (p[0] !== 'O' || p === 'OK') {
          expect(p).toBe('OK');
          return text;
        }
        text += Buffer.from(p.slice(1), 'hex').toString();
      }
    };
    expect(await monitor('translate 0x5123')).toBe('linear 0x00005123: not present\n');
    expect(await monitor('translate 1000')).toBe('linear 0x00001000 -> physical 0x00001000\n');
    expect(await monitor('phys on')).toBe('memory packets use physical addresses\n');
    expect(await c.ask('qqemu.PhyMemMode')).toBe('1');
    expect(await monitor('state')).toBe('this target has no state description\n');
    expect(await monitor('help')).toContain('monitor translate LINEAR');
    expect(await monitor('frobnicate')).toBe("unknown monitor command 'frobnicate' (try 'monitor help')\n");
  });

  it('answers malformed packets with an error and keeps going', async () => {
    const { c } = await start();
    for (const bad of ['mzz,1', 'm1000', 'M1000,2:abc', 'M1000,1', 'X1000,4:ab', 'P0', 'Pzz=1', 'P0=12', 'p', 'Z0', 'Zq,1,1', 'Z2,2000,0', 'G12', 'vCont;q', 'qXfer:features:read:target.xml:zz']) {
      expect(await c.ask(bad), bad).toMatch(/^E[0-9a-f]{2}$/);
    }
    expect(await c.ask('Z9,1,1')).toBe('');
    expect(await c.ask('m1000,1')).toBe('b8');
  });

  it('survives random packets (every one answered, the stub still sane)', async () => {
    const { c, t } = await start();
    // A small deterministic generator; no packet that resumes, detaches or kills.
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const heads = ['m', 'M', 'X', 'g', 'G', 'p', 'P', 'Z', 'z', 'q', 'Q', 'H', 'T', '?', 'v', 'qXfer:features:read:', 'qqemu', 'Qqemu.PhyMemMode:', 'vCont;', '!'];
    const alphabet = '0123456789abcdefABCDEF,:;=-xX}\x00\xff\x7f';
    for (let i = 0; i < 300; i++) {
      let p = heads[rnd(heads.length)];
      const n = rnd(24);
      for (let k = 0; k < n; k++) p += alphabet[rnd(alphabet.length)];
      if (/^(vCont;[cCsSt]|vKill|[cCsSDk])/.test(p)) continue;
      const r = await c.ask(p);
      expect(r, p).not.toContain('\n');
    }
    expect(stub!.isRunning).toBe(false);
    expect(await c.ask('m1000,5')).toBe('b801000000');
    expect(t.mem[0x1000]).toBe(0xb8);
  });
});

describe('gdb remote stub: run control', () => {
  it('stops at a software breakpoint (swbreak: only when announced), steps, watches', async () => {
    const { c, t } = await start();
    expect(await c.ask('Z0,1005,1')).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:01;'); // swbreak not announced
    expect(t.get('eip')).toBe(0x1005);
    expect(await c.ask('qSupported:swbreak+')).toContain('swbreak+');
    expect(await c.ask('z0,1005,1')).toBe('OK');
    expect(await c.ask('vCont;s:1')).toBe('T05thread:01;');
    expect(t.get('eip')).toBe(0x1006);
    expect(await c.ask('Z0,1010,1')).toBe('OK');
    expect(await c.ask('vCont;c')).toBe('T05thread:01;swbreak:;');
    expect(await c.ask('?')).toBe('T05thread:01;swbreak:;');
    expect(await c.ask('z0,1010,1')).toBe('OK');
    expect(await c.ask('Z4,2002,2')).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:01;awatch:2002;'); // the read at 1013
    expect(t.get('eip')).toBe(0x1018);
    expect(await c.ask('Z1,1020,1')).toBe('OK'); // hwbreak not announced
    expect(await c.ask('z4,2002,2')).toBe('OK');
    expect(await c.ask('c')).toBe('W03'); // the guest exits first (out 0xf4 at 101e)
  });

  it('continuing from a breakpoint that is still inserted steps over it first', async () => {
    const { c, t } = await start();
    expect(await c.ask('Z0,1010,1')).toBe('OK');
    expect(await c.ask('c')).toBe('T05thread:01;');
    expect(t.get('ecx')).toBe(5);
    expect(await c.ask('c')).toBe('T05thread:01;'); // one loop iteration later, not in place
    expect(t.get('ecx')).toBe(4);
    // After a step, or when gdb moves the PC, there is nothing to step over.
    expect(await c.ask('s')).toBe('T05thread:01;');
    expect(t.get('ecx')).toBe(3);
    expect(await c.ask('P8=10100000')).toBe('OK'); // eip = 0x1010, at the breakpoint
    expect(await c.ask('c')).toBe('T05thread:01;');
    expect(t.get('ecx')).toBe(3); // stopped at once, nothing executed
    expect(t.get('eip')).toBe(0x1010);
  });

  it('interrupts a running guest with a raw 0x03', async () => {
    const t = makeFake();
    t.load(0x1000, [0xeb, 0xfe]); // jmp $
    const { c, port } = await start(t);
    c.send('c');
    expect(await c.ack()).toBe('+');
    await new Promise((r) => setTimeout(r, 50));
    expect(stub!.isRunning).toBe(true);
    expect(c.buf).toBe(''); // no reply while running
    const before = t.icount;
    expect(before).toBeGreaterThan(500); // several slices ran: the event loop turned
    c.raw('\x03');
    expect(await c.packet()).toBe('T02thread:01;');
    expect(stub!.isRunning).toBe(false);
    const n = t.icount;
    await new Promise((r) => setTimeout(r, 30));
    expect(t.icount).toBe(n); // really stopped
    expect(await c.ask('?')).toBe('T02thread:01;');
    // The next debugger is told plainly that the guest is stopped.
    c.close();
    await new Promise((r) => setTimeout(r, 30));
    client = await Client.connect(port);
    expect(await client.ask('?')).toBe('T05thread:01;');
  });

  it('detach removes the breakpoints it inserted and lets the guest run on', async () => {
    const { c, t } = await start();
    expect(await c.ask('Z0,1018,1')).toBe('OK');
    expect(await c.ask('Z2,2000,4')).toBe('OK');
    expect(t.points.breakpointAt(0x1018)).toBe('sw');
    expect(await c.ask('D')).toBe('OK');
    await new Promise((r) => setTimeout(r, 50));
    expect(t.points.anyBreakpoint).toBe(false);
    expect(t.points.anyWatchpoint).toBe(false);
    expect(t.exited).toBe(true);
  });

  it('kills on k and vKill', async () => {
    let killed = 0;
    const { c } = await start(makeFake(), { onKill: () => killed++ });
    c.send('k');
    await c.until((b) => (b === '+' ? { value: 0, used: 1 } : null)).catch(() => 0);
    await new Promise((r) => setTimeout(r, 30));
    expect(killed).toBe(1);
    await stub!.close();
    const t2 = makeFake();
    await start(t2, { onKill: () => killed++ });
    expect(await client!.ask('vKill;1')).toBe('OK');
    await new Promise((r) => setTimeout(r, 30));
    expect(killed).toBe(2);
    expect(client!.closed).toBe(true);
  });

  it('a second connection waits its turn; a new gdb finds a free-running guest stopped', async () => {
    const t = makeFake();
    t.load(0x1000, [0xeb, 0xfe]);
    stub = new GdbStub(t, { sliceInstructions: 500, runWhenDetached: true });
    const port = await stub.listen(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.icount).toBeGreaterThan(0);
    client = await Client.connect(port);
    expect(await client.ask('?')).toBe('T05thread:01;');
    expect(stub.isRunning).toBe(false);
    const second = await Client.connect(port);
    await second.until((b) => (second.closed ? { value: 0, used: b.length } : null)).catch(() => 0);
    expect(second.closed).toBe(true);
    client.close();
    await new Promise((r) => setTimeout(r, 30));
    expect(stub.isRunning).toBe(true); // gdb went away: the guest runs on
  });
});
