// The interpreter's decoded blocks: chained to their successors (a block remembers the block
// that followed it at each exit) and continued through direct JMP/CALL within the page. What
// a link or a continued block depends on must be checked again: code written since it was
// decoded (self-modifying code), the page map (a CR3 switch, a copy-on-write split of a code
// page), and interrupts must still be taken where the one-at-a-time path takes them.

import { describe, expect, it } from 'vitest';
import { HAS_NASM, desc, env, expectHalted, LOG, PD, PT, type Env } from './cpu-env';

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Guest code: calls `fn` 100 times in a loop (so its block gets chained), then stores EAX
 *  at `log`. */
function callLoop(label: string, fn: string, log: number): string {
  return `mov ecx, 100\n${label}: call ${fn}\n dec ecx\n jnz ${label}\n mov [${log}], eax`;
}

/** Guest code: a page of its own whose code returns 1 (mov eax, imm32: B8 id; ret). */
const FAR_PAGE = `
        align 4096
    far_page:
        mov eax, 1
        ret`;

/** Copies far_page's code to the frame `copy`, returning `value` there instead. */
function copyFarPage(e: Env, copy: number, value: number): number {
  const page = e.sym('far_page');
  expect(page & 0xfff).toBe(0);
  for (let k = 0; k < 16; k++) e.mem.write8(copy + k, e.mem.read8(page + k));
  e.mem.write32(copy + 1, value);
  return page;
}

/** Runs the guest to its HLT in slices of `slice` instructions (the machine's way); a guest
 *  still running after 20 million instructions fails the test. */
function runSliced(e: Env, slice: number): void {
  let r = e.cpu.run(slice);
  while (r === 'budget' && e.cpu.icount < 20_000_000) r = e.cpu.run(slice);
  expectHalted(e, r);
}

describe.runIf(HAS_NASM)('decoded blocks: chaining and continued blocks', () => {
  it('code written after its block was chained runs as written (across blocks and within one)', () => {
    const e = env(`
        mov ecx, 200
        xor ebx, ebx
    l1: call f                   ; the loop's blocks and f's are chained
        add ebx, eax
        cmp ecx, 100
        jne skip
        mov dword [f + 1], 7     ; halfway: patch f's immediate (mov eax, imm32: B8 id); the
    skip:                        ; write is to another page, so the chain goes on
        dec ecx
        jnz l1
        mov [${LOG}], ebx        ; 101 x 1 (ECX 200..100) + 99 x 7
        ; within one block: the write and then a direct JMP the block goes on through
        mov byte [t + 1], 9
        jmp t
        nop
    t:  mov eax, 5
        mov [${LOG + 8}], eax
        hlt
        align 4096
    f:  mov eax, 1
        ret`);
    runSliced(e, 1_000_000);
    expect(e.log(0)).toBe(794);
    expect(e.log(2)).toBe(9);
  });

  it('a block kept after a write to its page that left its bytes as they were still sees a later write to its code', () => {
    // every round rewrites g's RET with itself: the page's decoded code is dropped, and f's
    // block is kept when its bytes did not change (compared again); patching f halfway
    // must be seen (a write beside decoded code, as the counter's, no longer drops it)
    const e = env(`
        call g                    ; (g decoded: its byte is code)
        mov ecx, 100
        xor ebx, ebx
    l1: call f
        add ebx, eax
        mov byte [g], 0xc3
        cmp ecx, 50
        jne skip
        mov byte [f + 1], 4       ; halfway through: f now returns 4
    skip:
        dec ecx
        jnz l1
        mov [${LOG}], ebx         ; 51 x 3 (ECX 100..50) + 49 x 4
        mov eax, [counter]
        mov [${LOG + 4}], eax
        hlt
    f:  mov eax, 3
        inc dword [counter]
        ret
    g:  ret
    counter: dd 0`);
    runSliced(e, 1_000_000);
    expect(e.log(1)).toBe(100);
    expect(e.log(0)).toBe(51 * 3 + 49 * 4);
  });

  it('a page map change seen by a TLB refill in the middle of a chain is followed by the next block', () => {
    // far_page's PTE is pointed at a copy (returning 2) without a TLB flush; the first write
    // to the page re-walks (the entry came from a read: no dirty bit yet) and refills the TLB
    // with the copy, as a lookup of the next block would see: so must a chained block
    const e = env(`
        ${callLoop('l1', 'far_page', LOG)}
        mov eax, [pte]
        mov dword [eax], 0x200000 | 7
        mov ecx, 100
    l2: call far_page             ; the chain goes on; the write below refills the TLB
        cmp ecx, 50
        jne skip
        mov dword [far_page + 8], 0
    skip:
        dec ecx
        jnz l2
        mov [${LOG + 4}], eax
        hlt
    pte: dd 0${FAR_PAGE}`, { paging: true, symbols: ['far_page', 'pte'] });
    const page = copyFarPage(e, 0x200000, 2);
    e.mem.write32(e.sym('pte'), PT + (page >>> 12) * 4);
    runSliced(e, 1_000_000);
    expect(e.log(0)).toBe(1);
    expect(e.log(1)).toBe(2);
    expect(e.mem.read32(0x200000 + 8)).toBe(0);
  });

  it('a CR3 switch between chained blocks runs the code the new page map shows', () => {
    const e = env(`
        ${callLoop('l1', 'far_page', LOG)} ; chained: returns 1 under the first page map
        mov eax, [pd2]
        mov cr3, eax
        call far_page             ; the same linear code now maps to the copy that returns 2
        mov [${LOG + 4}], eax
        hlt
    pd2: dd 0${FAR_PAGE}`, { paging: true, symbols: ['far_page', 'pd2'] });
    // a second page directory and table: the same identity map but far_page's page → 0x200000
    const PD2 = 0x102000, PT2 = 0x103000, COPY = 0x200000;
    const page = copyFarPage(e, COPY, 2);
    for (let k = 0; k < 1024; k++) e.mem.write32(PT2 + k * 4, e.mem.read32(PT + k * 4));
    e.mem.write32(PD2, PT2 | 7);
    e.mem.write32(PT2 + (page >>> 12) * 4, COPY | 7);
    e.mem.write32(e.sym('pd2'), PD2);
    expect(e.mem.read32(PD) & ~0xfff).toBe(PT);
    runSliced(e, 1_000_000);
    expect(e.log(0)).toBe(1);
    expect(e.log(1)).toBe(2);
  });

  it('a copy-on-write split of a code page: the write faults, the handler copies and remaps, the copy runs', () => {
    // `code` is mapped read-only; the guest writes to it (a new return value), the #PF handler
    // gives the page its own frame (a copy) with write access, reloads CR3 and returns; the
    // write then lands in the copy, and the chained calls run the copy. The original frame
    // keeps the old code.
    const COPY = 0x200000;
    const e = env(`
        ${callLoop('l1', 'code', LOG)}
        mov dword [code + 1], 3   ; copy-on-write split
        ${callLoop('l2', 'code', LOG + 4)}
        hlt
    pf: push eax
        push ecx
        push esi
        push edi
        mov esi, cr2
        and esi, 0xfffff000
        mov edi, ${COPY}
        mov ecx, 1024
        rep movsd                 ; (paging maps COPY onto itself)
        mov eax, cr2
        shr eax, 12
        mov dword [${PT} + eax * 4], ${COPY} | 7
        mov eax, cr3
        mov cr3, eax
        inc dword [${LOG + 8}]
        pop edi
        pop esi
        pop ecx
        pop eax
        add esp, 4                ; error code
        iretd
        align 4096
    code:
        mov eax, 1
        ret`, { paging: true, handlers: { 14: 'pf' }, symbols: ['code'], allowWP: true });
    const code = e.sym('code');
    e.mem.write32(PT + (code >>> 12) * 4, code | 5); // present, user, read-only
    e.cpu.setCr0(e.cpu.cr0 | 0x10000); // WP: a ring-0 write to a read-only page faults (486 rule)
    runSliced(e, 1_000_000);
    expect(e.log(0)).toBe(1);
    expect(e.log(2)).toBe(1); // one fault
    expect(e.log(1)).toBe(3);
    expect(e.mem.read32(code + 1)).toBe(1);
    expect(e.mem.read32(COPY + 1)).toBe(3);
  });

  it('a continued 16-bit JMP that wraps IP when the same bytes run at another EIP ends the block there', () => {
    // w's block is first decoded under a code segment based at 10000h (EIP < 10000h: the o16
    // JMP to t is continued in the block); run again under the flat CS (EIP > FFFFh), the same
    // block's JMP wraps IP to t - 10000h, a low address, as the CPU does
    const e = env(`
        jmp 0x58:(w - 0x10000)
    back:
        mov eax, w
        jmp eax                   ; (indirect: w's own block is looked up, not continued into)
    w:  jmp word t
        nop
    t:  mov dword [${LOG}], 1
        jmp 0x08:back`, { symbols: ['t'] });
    desc(e.mem, 0x58, 0x10000, 0xfffff, 0x9a, 0xc); // 32-bit ring-0 code based at 10000h
    const low = e.sym('t') & 0xffff;
    // at the wrapped target: mov dword [LOG+4], 2; cli; hlt
    e.mem.load(low, new Uint8Array([0xc7, 0x05, ...le32(LOG + 4), ...le32(2), 0xfa, 0xf4]));
    runSliced(e, 1_000_000);
    expect(e.log(0)).toBe(1);
    expect(e.log(1)).toBe(2);
    expect(e.cpu.eip).toBe(low + 12);
  });

  it('an interrupt raised while blocks are chained is taken at the same instruction as one at a time', () => {
    const body = `
        sti
        xor ebx, ebx
    l1: call f
        add ebx, eax
        cmp dword [${LOG}], 0
        je l1
        mov [${LOG + 4}], ebx
        cli
        hlt
    f:  mov eax, 1
        jmp g                     ; a block that goes on through a JMP
        nop
    g:  ret
    irq: mov dword [${LOG}], 1
        iretd`;
    // the line goes up between two run() slices (as the machine raises a device's IRQ); the
    // CPU takes it before the next instruction, with or without an instruction hook
    const take = (hooked: boolean) => {
      const e = env(body, { handlers: { 0x20: 'irq' } });
      let up = false;
      const acks: [number, number][] = [];
      e.cpu.irq = {
        hasInterrupt: () => up,
        acknowledge: () => {
          up = false;
          acks.push([e.cpu.icount, e.cpu.eip]);
          return 0x20;
        },
      };
      if (hooked) e.cpu.setHooks({ beforeInstruction: () => false });
      for (let k = 0; k < 7; k++) expect(e.cpu.run(1000)).toBe('budget');
      up = true;
      runSliced(e, 1000);
      return { acks, ebx: e.log(1), icount: e.cpu.icount };
    };
    const chained = take(false), single = take(true);
    expect(chained.acks.length).toBe(1);
    expect(chained.acks[0][0]).toBe(7000);
    expect(chained).toEqual(single);
  });
});
