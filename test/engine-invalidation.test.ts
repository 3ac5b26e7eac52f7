// Compiled code is dropped whenever the code it came from changes, and what it does mid-block
// is seen exactly as the interpreter shows it. Each program runs on both engines (the jit
// compiling every block on its first run) and must give the value worked out by hand:
// self-modifying code within a block and across blocks (and pages), a copy-on-write split
// of a code page (the same linear page remapped to a patched copy, then back), DMA into a
// code page, a far jump into the middle of a compiled block, and the instruction count a
// memory-mapped device and a port see in the middle of compiled blocks. And the same for
// compiled regions (a loop's blocks in one function): a write that rewrites a later block of
// the running region, a run that stops at the exact budget inside one, interrupts taken at
// the same counts, a page fault in the 3rd iteration of a compiled loop.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu, type Engine } from '../emulator/cpu/cpu';
import { IoBus } from '../emulator/devices/io-bus';
import { DmaController } from '../emulator/devices/dma';
import { assemble, formatError } from '../tools/asm/index';
import { enterFlatProtectedMode } from '../tools/fuzz-engines';
import { compilerStats } from '../emulator/cpu/jit/compiler';
import { runToHalt } from './cpu-run';

const ENGINES: Engine[] = ['interp', 'jit'];
const ORG = 0x10000, GDT = 0x1000, PD = 0x2000, PT = 0x3000;

function asm(src: string): Uint8Array {
  const out = assemble(`bits 32\norg ${ORG}\n${src}`);
  if (out.errors.length) throw new Error(out.errors.map(formatError).join('\n'));
  return out.bytes;
}

/** A flat 32-bit ring-0 CPU (CS 08h, data 10h) at ORG, interrupts off; paging when asked
 *  (the first 8 MB identity-mapped, page table at PT). */
function flatCpu(engine: Engine, code: Uint8Array, o: { paging?: boolean; io?: IoBus; mem?: PhysicalMemory } = {}): Cpu {
  const mem = o.mem ?? new PhysicalMemory(16 << 20);
  mem.write32(GDT + 8, 0x0000ffff);
  mem.write32(GDT + 12, 0x00cf9a00);
  mem.write32(GDT + 16, 0x0000ffff);
  mem.write32(GDT + 20, 0x00cf9200);
  mem.load(ORG, code);
  const cpu = new Cpu(mem, o.io, null, { engine, jitThreshold: 1 });
  enterFlatProtectedMode(cpu, GDT, 0x17);
  cpu.eip = ORG;
  cpu.regs[4] = 0x9000;
  if (o.paging) {
    mem.write32(PD, PT | 3);
    mem.write32(PD + 4, (PT + 0x1000) | 3);
    for (let p = 0; p < 2048; p++) mem.write32(PT + p * 4, (p << 12) | 3);
    cpu.setCr3(PD);
    cpu.setCr0(0x80000001);
  }
  cpu.setFlags(2, 0xffff);
  return cpu;
}

/** Runs `code` on each engine; `check` sees the halted CPU; both end in the same state (and
 *  the jit compiled blocks, and regions when `regions` says so). */
/** What must be equal after a run on each engine. */
function snapshot(cpu: Cpu): object {
  return { ...cpu.state(), flags: cpu.getFlags(), icount: cpu.icount, cr2: cpu.cr2 };
}

function onBoth(code: Uint8Array, check: (cpu: Cpu) => void, o: { paging?: boolean; regions?: boolean } = {}): void {
  const states = ENGINES.map((engine) => {
    const cpu = flatCpu(engine, code, o);
    runToHalt(cpu, 5_000_000);
    check(cpu);
    if (engine === 'jit') expect(cpu.codeCache.added).toBeGreaterThan(0);
    else expect(cpu.codeCache.added).toBe(0);
    if (engine === 'jit' && o.regions) expect(cpu.codeCache.regions).toBeGreaterThan(0);
    return snapshot(cpu);
  });
  expect(states[1]).toEqual(states[0]);
}

describe('engines: compiled code follows the code it came from', () => {
  it('self-modifying code within a block: the next instruction sees the new immediate', () => {
    const code = asm(`
      mov ecx, 100
      xor ebx, ebx
top:  mov [patch + 1], cl
patch: mov al, 0
      movzx eax, al
      add ebx, eax
      dec ecx
      jnz top
      hlt`);
    onBoth(code, (cpu) => expect(cpu.regs[3]).toBe(5050));
  });

  it('self-modifying code across blocks and pages: a compiled function rewritten between calls', () => {
    const code = asm(`
      mov ecx, 50
      xor ebx, ebx
lp:   call near_fn
      call far_fn
      mov [near_fn + 1], cl
      mov [far_fn + 1], cl
      dec ecx
      jnz lp
      hlt
      times 64 nop
near_fn: mov al, 7
      movzx eax, al
      add ebx, eax
      ret
      times 0x1000 - ($ - $$) nop
far_fn: mov al, 9
      movzx eax, al
      shl eax, 8
      add ebx, eax
      ret`);
    // the first calls add 7 and 9 << 8, each later one the previous iteration's ECX (50..2)
    const later = 1275 - 1;
    onBoth(code, (cpu) => expect(cpu.regs[3]).toBe(7 + later + ((9 + later) << 8)));
  });

  it('copy-on-write split of a code page: the linear page remapped to a patched copy, then back', () => {
    // fn lives at linear 400000h; its page is first physical 200000h, then a copy at 201000h
    // whose ADD immediate the program changes, then the original again
    const code = asm(`
      mov dword [${PT} + 0x400 * 4], 0x200000 | 3
      mov esi, fn_src
      mov edi, 0x200000
      mov ecx, fn_end - fn_src
      rep movsb
      mov eax, cr3
      mov cr3, eax
      xor ebx, ebx
      mov ecx, 30
a:    call 0x400000
      dec ecx
      jnz a
      mov esi, 0x200000
      mov edi, 0x201000
      mov ecx, 0x1000
      rep movsb
      mov byte [0x201000 + 2], 5
      mov dword [${PT} + 0x400 * 4], 0x201000 | 3
      mov eax, cr3
      mov cr3, eax
      mov ecx, 30
b:    call 0x400000
      dec ecx
      jnz b
      mov dword [${PT} + 0x400 * 4], 0x200000 | 3
      mov eax, cr3
      mov cr3, eax
      mov ecx, 30
c:    call 0x400000
      dec ecx
      jnz c
      hlt
fn_src: add ebx, byte 1
      ret
fn_end:`);
    onBoth(code, (cpu) => expect(cpu.regs[3]).toBe(30 * 1 + 30 * 5 + 30 * 1), { paging: true });
  });

  it('DMA into a code page: a compiled function replaced by a device transfer', () => {
    // the guest calls fn, programs DMA channel 2 (write to memory at fn) and halts; the
    // "floppy controller" then delivers new code for fn; the guest calls it again
    const code = asm(`
      xor ebx, ebx
      mov ecx, 20
a:    call fn
      dec ecx
      jnz a
      mov al, 0x06
      out 0x0a, al
      mov al, 0x46
      out 0x0b, al
      out 0x0c, al
      mov eax, fn
      out 0x04, al
      mov al, ah
      out 0x04, al
      shr eax, 16
      out 0x81, al
      mov al, 2
      out 0x05, al
      xor al, al
      out 0x05, al
      mov al, 0x02
      out 0x0a, al
      hlt
      mov ecx, 20
b:    call fn
      dec ecx
      jnz b
      hlt
      align 64
fn:   add ebx, byte 1
      ret`);
    const fnAt = ORG + code.length - 4;
    const results = ENGINES.map((engine) => {
      const mem = new PhysicalMemory(16 << 20);
      const io = new IoBus();
      const dma = new DmaController(mem, io);
      const cpu = flatCpu(engine, code, { io, mem });
      runToHalt(cpu, 5_000_000);
      expect(cpu.regs[3]).toBe(20);
      // add ebx, byte 3 (83 C3 03): three bytes through the DMA channel
      expect(dma.writeToMemory(2, Uint8Array.from([0x83, 0xc3, 0x03]), 0, 3)).toBe(3);
      expect(mem.read8(fnAt + 2)).toBe(3);
      cpu.halted = false;
      runToHalt(cpu, 5_000_000);
      expect(cpu.regs[3]).toBe(20 + 20 * 3);
      return cpu.icount;
    });
    expect(results[1]).toBe(results[0]);
  });

  it('a far jump into the middle of a compiled block runs from there', () => {
    const code = asm(`
      xor ebx, ebx
      mov ecx, 20
lp:   call blk
      dec ecx
      jnz lp
      jmp 0x08:mid
blk:  inc ebx
mid:  add ebx, 100
      test ecx, ecx
      jz done
      ret
done: hlt`);
    onBoth(code, (cpu) => expect(cpu.regs[3]).toBe(20 * 101 + 100));
  });
});

describe('engines: what observers see in the middle of compiled blocks', () => {
  it('a memory-mapped device and a port see the same instruction counts and values', () => {
    const code = asm(`
      mov ecx, 40
      xor ebx, ebx
lp:   mov eax, [0xa0000]
      add ebx, eax
      mov [0xa0004], ebx
      inc edx
      mov eax, [0xa0008]
      dec ecx
      jnz lp
      in al, 0x80
      mov [0xa000c], eax
      hlt`);
    const logs = ENGINES.map((engine) => {
      const mem = new PhysicalMemory(16 << 20);
      const io = new IoBus();
      const log: string[] = [];
      let cpu: Cpu | null = null;
      mem.mapMmio(0xa0000, 0xa1000, {
        read8: (a) => {
          log.push(`r ${a.toString(16)} @${cpu!.icount}`);
          return cpu!.icount & 0xff;
        },
        write8: (a, v) => log.push(`w ${a.toString(16)}=${v} @${cpu!.icount}`),
      });
      io.register('probe', 0x80, 1, { read8: () => (log.push(`in @${cpu!.icount}`), 0x5a), write8: () => {} });
      cpu = flatCpu(engine, code, { io, mem });
      runToHalt(cpu, 5_000_000);
      return log;
    });
    // every access: 40 × (4 + 4 + 4 bytes) and the last store, plus the port read
    expect(logs[0].length).toBe(40 * 12 + 4 + 1);
    expect(logs[1]).toEqual(logs[0]);
  });
});

/** An interrupt gate for `vector` to `handler` in the IDT at 0 (CS 08h, 32-bit). */
function gate(mem: PhysicalMemory, vector: number, handler: number): void {
  mem.write32(vector * 8, (0x08 << 16) | (handler & 0xffff));
  mem.write32(vector * 8 + 4, (handler & 0xffff0000) | 0x8e00);
}
/** Runs `code` on each engine with paging, page 800h not mapped and #PF handled by its last
 *  byte (a HLT), to that HLT: CR2 is 800000h, `check` sees the CPU, the jit ran regions and
 *  both end in the same state. */
function pageFaultOnBoth(code: Uint8Array, check: (cpu: Cpu) => void): void {
  const cpus = ENGINES.map((engine) => {
    const cpu = flatCpu(engine, code, { paging: true });
    cpu.mem.write32(PT + 0x800 * 4, 0);
    gate(cpu.mem, 14, ORG + code.length - 1);
    runToHalt(cpu, 5_000_000);
    expect(cpu.cr2 >>> 0).toBe(0x800000);
    check(cpu);
    if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
    return snapshot(cpu);
  });
  expect(cpus[1]).toEqual(cpus[0]);
}

describe('engines: compiled regions (a loop in one function)', () => {
  it('a write in the running region rewrites a later block of it: the next run of that block sees it', () => {
    // every iteration stores AL through EDI: to data in another page, but when ECX = 50 into
    // the MOV AL immediate at patch, a block the region runs later in the same iteration.
    // (Entered at patch: the block at top, compiled after it, is a region holding it, and
    // is kept when the page is written since its own bytes are unchanged.)
    const code = asm(`
      mov ecx, 101
      xor ebx, ebx
      xor edx, edx
      test ecx, ecx
      jnz patch
top:  mov edi, ecx
      sub edi, 50
      neg edi
      sbb edi, edi
      and edi, 0x20000 - (patch + 1)
      add edi, patch + 1
      mov al, 3
      mov [edi], al
      test ecx, ecx
      jnz patch
      hlt
patch: mov al, 1
      movzx eax, al
      add ebx, eax
      dec ecx
      jnz top
      hlt`);
    onBoth(code, (cpu) => {
      // ECX 101..51 add 1, 50..1 add 3
      expect(cpu.regs[3]).toBe(51 * 1 + 50 * 3);
    }, { regions: true });
  });

  it('a region outlives writes next to its code (a counter in its page), and runs as the interpreter', () => {
    // each iteration stores ECX into cnt and rewrites the loop's first byte with itself (code
    // is tracked byte by byte: only a write to a decoded byte makes the page's code be
    // checked again); the region, whose bytes are unchanged, is kept (it was dropped and
    // compiled again, then block by block: 8)
    const code = asm(`
      mov ecx, 200
      xor ebx, ebx
lp:   add ebx, ecx
      mov [cnt], ecx
      mov byte [lp], 0x01
      test ecx, 1
      jz skip
      inc ebx
skip: dec ecx
      jnz lp
      hlt
cnt:  dd 0`);
    const jit = flatCpu('jit', code);
    runToHalt(jit, 5_000_000);
    // the loop's two regions (entered at lp, and at the INC it leaves lp's region for, on the
    // 2nd iteration, before that block was decoded), each compiled once
    expect(jit.codeCache.regions).toBe(2);
    onBoth(code, (cpu) => {
      expect(cpu.regs[3]).toBe((200 * 201) / 2 + 100);
      expect(cpu.mem.read32(ORG + code.length - 4)).toBe(1);
    }, { regions: true });
  });

  it('LOOP runs inline in a region, with CX or ECX as its counter', () => {
    const code = asm(`
      mov ecx, 0x10005
      xor ebx, ebx
lp:   add ebx, ecx
      loop lp
      mov ecx, 0x30004
lp16: inc ebx
      a16 loop lp16
      hlt`);
    onBoth(code, (cpu) => {
      expect(cpu.regs[3]).toBe(((0x10005 * 0x10006) / 2 + 4) | 0);
      expect(cpu.regs[1]).toBe(0x30000);
    }, { regions: true });
  });

  const LOOP = `
      mov ecx, 300
      xor ebx, ebx
      mov esi, 0x9100
lp:   mov eax, [esi]
      add eax, ecx
      mov [esi + 4], eax
      call fn
      test ecx, 3
      jz skip
      add edi, 3
skip: dec ecx
      jnz lp
      hlt
fn:   push ebp
      add ebx, eax
      shl ebx, 1
      pop ebp
      ret`;
  const loop = asm(LOOP);

  it('a run that ends inside a region stops at the exact instruction count, in the same state', () => {
    const slices = [1, 37, 5, 53, 2, 101, 13, 64];
    const stops = ENGINES.map((engine) => {
      const cpu = flatCpu(engine, loop);
      const seen: string[] = [];
      let expected = 0;
      for (let k = 0; ; k++) {
        const n = slices[k % slices.length];
        const r = cpu.run(n);
        if (r === 'halted') break;
        expect(r).toBe('budget');
        expected += n;
        expect(cpu.icount).toBe(expected);
        seen.push(`${cpu.icount} ${cpu.eip.toString(16)} ${cpu.getFlags()} ${Array.from(cpu.regs).join(',')}`);
      }
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      return seen;
    });
    expect(stops[0].length).toBeGreaterThan(100);
    expect(stops[1]).toEqual(stops[0]);
  });

  it('interrupts are taken at the same instruction counts while a region loops', () => {
    // an interrupt becomes pending every 97 instructions; its handler counts itself
    const withInt = asm(`sti\n${LOOP.replace('hlt', 'cli\nhlt')}\nirq: inc dword [0x9200]\niretd`);
    const handler = ORG + withInt.length - 7;
    const runs = ENGINES.map((engine) => {
      const cpu = flatCpu(engine, withInt);
      gate(cpu.mem, 0x20, handler);
      const taken: number[] = [];
      let next = 97;
      cpu.irq = {
        hasInterrupt: () => cpu.icount >= next,
        acknowledge: () => {
          taken.push(cpu.icount);
          next = cpu.icount + 97;
          return 0x20;
        },
      };
      runToHalt(cpu, 5_000_000);
      expect(cpu.mem.read32(0x9200)).toBe(taken.length);
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      return { taken, state: snapshot(cpu) };
    });
    expect(runs[0].taken.length).toBeGreaterThan(20);
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a page fault right after a flag-setting instruction leaves the interpreter\'s flags and lazy-flag fields', () => {
    // the SUB's flags are in the region's locals when the MOV faults (3rd iteration)
    const code = asm(`
      mov esi, 0x7fe000
      xor ebx, ebx
      xor edx, edx
      mov ecx, 10
lp:   add ebx, ecx
      sub edx, ecx
      mov eax, [esi]
      add esi, 0x1000
      dec ecx
      jnz lp
      hlt
pf:   hlt`);
    const lazy = ENGINES.map((engine) => {
      const cpu = flatCpu(engine, code, { paging: true });
      cpu.mem.write32(PT + 0x800 * 4, 0);
      gate(cpu.mem, 14, ORG + code.length - 1);
      runToHalt(cpu, 5_000_000);
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      // -19 - 8: SF; not ZF, CF, OF (in the #PF frame's EFLAGS image)
      const pushed = cpu.mem.read32((cpu.regs[4] >>> 0) + 12);
      expect(pushed & 0x8c1).toBe(0x80);
      expect(cpu.regs[2]).toBe(-27);
      return { pushed, flags: cpu.getFlags(), lz: [cpu.lzOp, cpu.lzA, cpu.lzB, cpu.lzRes, cpu.lzTop, cpu.lazy], state: snapshot(cpu) };
    });
    expect(lazy[1]).toEqual(lazy[0]);
  });

  it('a handler in the middle of a region reads the flags an inline instruction just set', () => {
    // PUSHFD (a handler call) after a SUB whose flags the region keeps in locals
    const code = asm(`
      mov ecx, 50
      xor ebx, ebx
lp:   mov eax, ecx
      sub eax, 25
      pushfd
      pop edx
      and edx, 0x8d5
      add ebx, edx
      dec ecx
      jnz lp
      hlt`);
    let sum = 0;
    for (let n = 50; n >= 1; n--) {
      const r = (n - 25) & 0xff;
      let bits = 0;
      for (let b = 0; b < 8; b++) bits += (r >> b) & 1;
      sum += (n < 25 ? 1 : 0) | (bits % 2 === 0 ? 4 : 0) | ((n ^ 25 ^ r) & 0x10) | (n === 25 ? 0x40 : 0) | (n < 25 ? 0x80 : 0);
    }
    onBoth(code, (cpu) => expect(cpu.regs[3]).toBe(sum), { regions: true });
  });

  it('a memory-mapped device read in the middle of a region sees the interpreter\'s instruction count', () => {
    // (a port read ends the chain, and so a region: IN is the last instruction a region has)
    const code = asm(`
      mov ecx, 30
      xor ebx, ebx
lp:   add ebx, ecx
      mov al, [0xa0000]
      movzx eax, al
      add ebx, eax
      dec ecx
      jnz lp
      hlt`);
    const runs = ENGINES.map((engine) => {
      const mem = new PhysicalMemory(16 << 20);
      const seen: number[] = [];
      let cpu: Cpu | null = null;
      mem.mapMmio(0xa0000, 0xa1000, { read8: () => (seen.push(cpu!.icount), cpu!.icount & 0xff), write8: () => {} });
      cpu = flatCpu(engine, code, { mem });
      runToHalt(cpu, 5_000_000);
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      return { seen, state: snapshot(cpu) };
    });
    // 2 setup instructions, then 6 per iteration: the read is the 2nd
    expect(runs[0].seen).toEqual(Array.from({ length: 30 }, (_, k) => 2 + 6 * k + 1));
    expect(runs[1]).toEqual(runs[0]);
  });

  it('a REP MOVSD that faults half-way in a compiled loop leaves ECX, ESI, EDI where it stopped', () => {
    // each iteration copies 4 KB to EDI; the 3rd reaches page 800h (not mapped) half-way
    const code = asm(`
      mov edi, 0x7fd800
      xor ebx, ebx
      mov edx, 5
lp:   mov esi, 0x100000
      mov ecx, 0x400
      add ebx, edx
      rep movsd
      dec edx
      jnz lp
      hlt
pf:   hlt`);
    pageFaultOnBoth(code, (cpu) => {
      expect(cpu.regs[1]).toBe(0x200);
      expect(cpu.regs[6]).toBe(0x100800);
      expect(cpu.regs[7]).toBe(0x800000);
      expect(cpu.regs[3]).toBe(5 + 4 + 3);
      // the #PF frame: error code 2 (not present, write), EIP of the REP MOVSD
      expect(cpu.mem.read32(cpu.regs[4] >>> 0)).toBe(2);
      expect(cpu.mem.read32((cpu.regs[4] >>> 0) + 4)).toBe(ORG + 5 + 2 + 5 + 5 + 5 + 2);
    });
  });

  it('a segment limit fault in a compiled loop that began with flat segments: DS loaded with an 8 KB limit in the loop', () => {
    // the region runs its accesses without limit tests while DS and SS are flat; each
    // iteration loads DS (POP DS: a handler in the region), from the 3rd with a limited
    // segment (18h: base 0, limit 1FFFh), so the read at ESI + 1000h right after it is out of
    // DS in the 3rd iteration (#GP(0), whose handler halts). (Page 2 is in the TLB from the
    // first read: the fast path would take the read, only the limit test can refuse it.)
    const code = asm(`
      xor esi, esi
      xor ebx, ebx
      mov ecx, 10
      mov edx, 0x10
      mov eax, [0x2000]
lp:   add ebx, ecx
      call fn
      mov eax, [esi]
      push edx
      pop ds
      mov eax, [esi + 0x1000]
      mov [esi + 0x7fc], eax
      cmp ecx, 9
      jne same
      mov dx, 0x18
same: add esi, 0x800
      dec ecx
      jnz lp
      hlt
fn:   inc edi
      ret
gp:   hlt`);
    const faultAt = ORG + 2 + 2 + 5 + 5 + 5 + 2 + 5 + 2 + 1 + 1; // the MOV EAX, [ESI + 1000h]
    const cpus = ENGINES.map((engine) => {
      const cpu = flatCpu(engine, code);
      cpu.mem.write32(GDT + 24, 0x00001fff);
      cpu.mem.write32(GDT + 28, 0x00409200);
      cpu.gdtLimit = 0x1f;
      cpu.mem.write32(0x1800, 0x12345678);
      gate(cpu.mem, 13, ORG + code.length - 1);
      runToHalt(cpu, 5_000_000);
      expect(cpu.eip).toBe(ORG + code.length);
      const esp = cpu.regs[4] >>> 0;
      // the #GP frame: error code 0, EIP of the MOV; DS is the limited segment
      expect(esp).toBe(0x9000 - 16);
      expect(cpu.mem.read32(esp)).toBe(0);
      expect(cpu.mem.read32(esp + 4)).toBe(faultAt);
      expect(cpu.sel[3]).toBe(0x18);
      expect(cpu.regs[6]).toBe(0x1000);
      expect(cpu.regs[3]).toBe(10 + 9 + 8);
      // the 2nd iteration's store
      expect(cpu.mem.read32(0x800 + 0x7fc)).toBe(0x12345678);
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      return snapshot(cpu);
    });
    expect(cpus[1]).toEqual(cpus[0]);
  });

  it('a segment limit fault in a compiled loop entered with a limited DS: the region runs with its limit tests', () => {
    // DS is 18h (base 0, limit 1FFFh) before the loop: the 5th (word) read, at 2000h, is out of it
    const code = asm(`
      mov eax, [0x2000]
      mov dx, 0x18
      mov ds, dx
      xor esi, esi
      mov ecx, 10
lp:   call fn
      movzx eax, word [esi]
      add ebx, eax
      add esi, 0x800
      dec ecx
      jnz lp
      hlt
fn:   inc edi
      ret
gp:   hlt`);
    const faultAt = ORG + 5 + 4 + 2 + 2 + 5 + 5; // the MOV EAX, [ESI]
    const cpus = ENGINES.map((engine) => {
      const cpu = flatCpu(engine, code);
      cpu.mem.write32(GDT + 24, 0x00001fff);
      cpu.mem.write32(GDT + 28, 0x00409200);
      cpu.gdtLimit = 0x1f;
      gate(cpu.mem, 13, ORG + code.length - 1);
      const made = compilerStats.functions;
      runToHalt(cpu, 5_000_000);
      expect(cpu.mem.read32((cpu.regs[4] >>> 0) + 4)).toBe(faultAt);
      expect(cpu.regs[6]).toBe(0x2000);
      expect(cpu.regs[1]).toBe(6);
      if (engine === 'jit') expect(cpu.codeCache.regions).toBeGreaterThan(0);
      // each region made one function: the variant with the limit tests only (at most one per
      // compiled block or region: some may be found already made)
      expect(compilerStats.functions - made).toBeLessThanOrEqual(cpu.codeCache.added);
      return snapshot(cpu);
    });
    expect(cpus[1]).toEqual(cpus[0]);
  });

  it('a write to the page a region last wrote, and then to the next page (not mapped): the #PF as the interpreter', () => {
    // each iteration writes [ESI] (its page is then known to the region without the TLB),
    // a push and a pop (the stack's page), and [ESI + 800h]: the same page in even
    // iterations, the next in odd ones; the 4th reaches page 800h (#PF, whose handler halts)
    const code = asm(`
      mov esi, 0x7fe000
      mov ecx, 10
lp:   mov [esi], ecx
      push ecx
      mov [esi + 0x800], esi
      pop edx
      add esi, 0x800
      dec ecx
      jnz lp
      hlt
pf:   hlt`);
    const faultAt = ORG + 5 + 5 + 2 + 1; // the MOV [ESI + 800h], ESI
    pageFaultOnBoth(code, (cpu) => {
      const esp = cpu.regs[4] >>> 0;
      // the #PF frame: error code 2 (not present, write), EIP of the MOV, above it ECX pushed
      expect(esp).toBe(0x9000 - 4 - 16);
      expect(cpu.mem.read32(esp)).toBe(2);
      expect(cpu.mem.read32(esp + 4)).toBe(faultAt);
      expect(cpu.mem.read32(esp + 16)).toBe(7);
      expect(cpu.regs[6]).toBe(0x7ff800);
      // the 3rd and 4th iterations' first writes
      expect(cpu.mem.read32(0x7ff000)).toBe(8);
      expect(cpu.mem.read32(0x7ff800)).toBe(7);
    });
  });

  it('a page fault in the 3rd iteration of a compiled loop leaves the interpreter\'s state', () => {
    // ESI walks pages 7FEh, 7FFh, 800h: the last is not mapped (#PF, whose handler halts)
    const code = asm(`
      mov esi, 0x7fe000
      xor ebx, ebx
      mov ecx, 10
lp:   add ebx, ecx
      call fn
      mov eax, [esi]
      mov [0x9100], esi
      add esi, 0x1000
      dec ecx
      jnz lp
      hlt
fn:   inc edx
      ret
pf:   hlt`);
    const faultAt = ORG + 5 + 2 + 5 + 2 + 5; // the MOV EAX, [ESI]
    pageFaultOnBoth(code, (cpu) => {
      expect(cpu.eip).toBe(ORG + code.length);
      const esp = cpu.regs[4] >>> 0;
      // the #PF frame: error code 0 (not present, read, ring 0), EIP of the MOV
      expect(esp).toBe(0x9000 - 16);
      expect(cpu.mem.read32(esp)).toBe(0);
      expect(cpu.mem.read32(esp + 4)).toBe(faultAt);
      // two whole iterations and the 3rd up to the MOV: the stores done so far
      expect(cpu.mem.read32(0x9100)).toBe(0x7ff000);
      expect(cpu.regs[3]).toBe(10 + 9 + 8);
      // 3 setup, 2 × 9, then ADD CALL INC RET, the faulting MOV (counted), the handler's HLT
      expect(cpu.icount).toBe(3 + 2 * 9 + 4 + 1 + 1);
    });
  });

  it('a second machine running the same code runs the regions the first compiled; one whose code differs only in a prefix gets its own', () => {
    // the same loop with REPE CMPSB, then with REPNE CMPSB (which prefix it is is no part of
    // the region's source, only of the Insn its handler reads): over equal bytes, one compares
    // all 3 each time, the other stops after the first
    const loop = (cmps: string) => asm(`
      mov ebx, 50
      mov esi, 0x20000
      mov edi, 0x30000
lp:   mov ecx, 3
      ${cmps}
      dec ebx
      jnz lp
      hlt`);
    const run = (code: Uint8Array) => {
      const cpu = flatCpu('jit', code);
      const made = compilerStats.regionFunctions;
      runToHalt(cpu, 1_000_000);
      expect(cpu.codeCache.regions).toBeGreaterThan(0);
      return { cpu, made: compilerStats.regionFunctions - made };
    };
    const first = run(loop('repe cmpsb'));
    const again = run(loop('repe cmpsb'));
    const other = run(loop('repne cmpsb'));
    expect(first.made).toBeGreaterThan(0);
    expect(again.made).toBe(0);
    expect(other.made).toBeGreaterThan(0);
    expect(again.cpu.regs[6]).toBe(0x20000 + 150);
    expect(other.cpu.regs[6]).toBe(0x20000 + 50);
    onBoth(loop('repne cmpsb'), (cpu) => expect(cpu.regs[6]).toBe(0x20000 + 50), { regions: true });
  });
});
