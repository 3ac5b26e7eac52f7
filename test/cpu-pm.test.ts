// Protected-mode mechanisms of the i386, one guest program each (assembled with NASM):
// privilege transitions (IRET to ring 3, INT through a DPL-3 gate with the TSS stack switch,
// call gates with parameters, RETF to an outer level), IOPL and the I/O bitmap, privileged
// instructions, page faults (CR2 and error code for each cause, A/D bits, the i386
// supervisor-write rule, optional CR0.WP), hardware task switches (JMP, CALL/IRET with NT and
// the back link, nested), double and triple faults, TF single-step, DR0-DR3 breakpoints,
// the absent x87, and the stack-size corners test386 found (POP SS, ENTER, ARPL's write).
// The machine they run on is test/cpu-env.ts.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { DS, ES, SS } from '../emulator/cpu/consts';
import {
  HAS_NASM, nasm, env, expectHalted, TO_RING3, desc, gate, GDT, IDT, TSS_B, TSS_C, LOG, CODE, PD, PT, type Env,
} from './cpu-env';

describe.runIf(HAS_NASM)('protected mode: privilege transitions', () => {
  it('IRET to ring 3, INT 0x80 through a DPL-3 gate switches to the TSS stack, IRET returns', () => {
    const e = env(`
    ${TO_RING3('user')}
user:
    mov eax, 42
    mov ebp, esp
    int 0x80
    mov [${LOG + 0x20}], eax
    mov [${LOG + 0x24}], esp
    mov ax, cs
    mov [${LOG + 0x28}], eax
    int 0x81
sys80:
    mov ecx, [esp]
    mov [${LOG}], ecx
    mov ecx, [esp+4]
    mov [${LOG + 4}], ecx
    mov ecx, [esp+12]
    mov [${LOG + 8}], ecx
    mov ecx, [esp+16]
    mov [${LOG + 12}], ecx
    mov [${LOG + 16}], esp
    mov cx, cs
    mov [${LOG + 0x2c}], ecx
    inc eax
    iretd
sys81:
    hlt`, { handlers: { 0x80: 'sys80', 0x81: 'sys81' }, dpl3: [0x80, 0x81], symbols: ['user'] });
    expectHalted(e, e.run());
    expect(e.log(1)).toBe(0x1b); // pushed CS
    expect(e.log(2)).toBe(0x8000); // pushed ESP
    expect(e.log(3)).toBe(0x23); // pushed SS
    expect(e.log(4)).toBe(0x9800 - 20); // ring-0 ESP from the TSS, 5 dwords pushed
    expect(e.log(0)).toBe(e.sym('user') + 9); // return EIP after int 0x80
    expect(e.log(8)).toBe(43);
    expect(e.log(9)).toBe(0x8000);
    expect(e.log(10) & 0xffff).toBe(0x1b);
    expect(e.log(11) & 0xffff).toBe(0x08);
  });

  it('a hardware interrupt in ring 3 switches to the TSS stack; a bad IDT gate gives #GP with EXT set', () => {
    const e = env(`
    ${TO_RING3('user', 0x202)}
user:
    jmp user
irq:
    mov eax, [esp+4]
    mov [${LOG}], eax            ; interrupted CS
    mov [${LOG + 4}], esp
    mov eax, [esp+8]
    mov [${LOG + 8}], eax        ; EFLAGS image (IF set)
    pushfd
    pop eax
    mov [${LOG + 12}], eax       ; IF clear inside an interrupt gate
    hlt
gp:
    mov eax, [esp]
    mov [${LOG + 16}], eax
    hlt`, { handlers: { 0x20: 'irq', 13: 'gp' } });
    let pending = false;
    let vector = 0x20;
    e.cpu.irq = { hasInterrupt: () => pending, acknowledge: () => ((pending = false), vector) };
    expect(e.run(200)).toBe('budget'); // spinning in ring 3
    expect(e.cpu.cpl).toBe(3);
    pending = true;
    expectHalted(e, e.run(1000));
    expect(e.log(0) & 0xffff).toBe(0x1b);
    expect(e.log(1)).toBe(0x9800 - 20);
    expect(e.log(2) & 0x200).toBe(0x200);
    expect(e.log(3) & 0x200).toBe(0);
    // an external interrupt whose vector lies beyond the IDT limit
    const f = env(`
    sti
spin:
    jmp spin
gp:
    mov eax, [esp]
    mov [${LOG + 16}], eax
    hlt`, { handlers: { 13: 'gp' }, idtLimit: 0xff });
    f.cpu.irq = { hasInterrupt: () => pending, acknowledge: () => ((pending = false), vector) };
    vector = 0x40;
    pending = true;
    expectHalted(f, f.run(1000));
    expect(f.log(4)).toBe(0x40 * 8 + 2 + 1); // IDT, external
  });

  it('INT from ring 3 through a DPL-0 gate raises #GP(vector*8+2)', () => {
    const e = env(`
    ${TO_RING3('user')}
user:
    int 0x82
gp:
    mov eax, [esp]
    mov [${LOG}], eax
    mov eax, [esp+4]
    mov [${LOG + 4}], eax
    hlt`, { handlers: { 13: 'gp' }, symbols: ['user'] });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x82 * 8 + 2);
    expect(e.log(1)).toBe(e.sym('user')); // a fault: the INT instruction itself
  });

  it('a call gate copies parameters to the inner stack and RETF returns to ring 3', () => {
    const e = env(`
    ${TO_RING3('user')}
user:
    push dword 0x1111
    push dword 0x2222
    call 0x3b:0
    mov [${LOG + 16}], esp
    mov [${LOG + 20}], eax
    mov ax, cs
    mov [${LOG + 24}], eax
    int 0x81
gated:
    mov eax, [esp+8]
    mov [${LOG}], eax
    mov eax, [esp+12]
    mov [${LOG + 4}], eax
    mov eax, [esp+16]
    mov [${LOG + 8}], eax
    mov [${LOG + 12}], esp
    mov eax, 0x77
    retf 8
sys81:
    hlt`, { handlers: { 0x81: 'sys81' }, dpl3: [0x81], callGate: { label: 'gated', params: 2 } });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x2222); // the parameters, in order
    expect(e.log(1)).toBe(0x1111);
    expect(e.log(2)).toBe(0x8000 - 8); // caller's ESP (after the two pushes)
    expect(e.log(3)).toBe(0x9800 - 24); // SS, ESP, 2 params, CS, EIP
    expect(e.log(4)).toBe(0x8000); // RETF 8 popped the parameters on the outer stack
    expect(e.log(5)).toBe(0x77);
    expect(e.log(6) & 0xffff).toBe(0x1b);
  });

  it('a far call to conforming code keeps CPL 3; to non-conforming ring-0 code it is #GP(sel)', () => {
    const e = env(`
    ${TO_RING3('user')}
user:
    call 0x68:conf
    mov [${LOG}], eax
    call 0x08:conf               ; non-conforming DPL 0 from CPL 3
    int 0x81
conf:
    mov ax, cs
    retf
gp:
    mov eax, [esp]
    mov [${LOG + 4}], eax
    int 0x81
sys81:
    hlt`, { handlers: { 13: 'gp', 0x81: 'sys81' }, dpl3: [0x81] });
    desc(e.mem, 0x68, 0, 0xfffff, 0x9e, 0xc); // conforming, readable, DPL 0
    e.cpu.gdtLimit = 0x6f;
    expectHalted(e, e.run());
    expect(e.log(0) & 0xffff).toBe(0x6b); // CS = 0x68 | CPL 3
    expect(e.log(1)).toBe(0x08);
  });

  it('RETF to an outer level nulls data segment registers the outer level may not use', () => {
    const e = env(`
    ${TO_RING3('user')}
user:
    call 0x3b:0
    mov ax, ds
    mov [${LOG}], eax
    mov ax, es
    mov [${LOG + 4}], eax
    int 0x81
gated:
    mov ax, 0x10
    mov es, ax
    retf
sys81:
    hlt`, { handlers: { 0x81: 'sys81' }, dpl3: [0x81], callGate: { label: 'gated', params: 0 } });
    expectHalted(e, e.run());
    expect(e.log(0) & 0xffff).toBe(0x23); // DS (DPL 3) kept
    expect(e.log(1) & 0xffff).toBe(0); // ES (DPL 0 data, loaded in ring 0) became null on the return to ring 3
  });

  it('privileged instructions and I/O at ring 3: #GP(0), except ports the TSS bitmap allows', () => {
    const e = env(`
    ${TO_RING3('user', 0x202)}
user:
    out 0x80, al
    mov dword [${LOG + 0x40}], 1
    in al, 0x60
    cli
    hlt
    mov eax, cr0
    lgdt [0]
    int 0x81
gp:
    mov eax, [esp+4]
    mov ecx, [${LOG + 0x44}]
    mov [${LOG} + ecx*4], eax
    mov eax, [esp]
    mov [${LOG + 0x20} + ecx*4], eax
    inc dword [${LOG + 0x44}]
    movzx eax, byte [lens + ecx] ; skip the faulting instruction
    add [esp+4], eax
    add esp, 4                   ; the error code
    iretd
lens: db 2, 1, 1, 3, 7
sys81:
    hlt`, { handlers: { 13: 'gp', 0x81: 'sys81' }, dpl3: [0x81], symbols: ['user'] });
    expectHalted(e, e.run());
    expect(e.log(0x10)).toBe(1); // OUT to port 0x80 allowed by the bitmap
    expect(e.log(0x11)).toBe(5); // five #GPs: in, cli, hlt, mov cr0, lgdt
    for (let k = 0; k < 5; k++) expect(e.log(8 + k)).toBe(0); // error code 0
    const u = e.sym('user');
    expect([0, 1, 2, 3, 4].map((k) => e.log(k) - u)).toEqual([12, 14, 15, 16, 19]);
  });
});

describe.runIf(HAS_NASM)('paging', () => {
  // pages: 0x200000 not present, 0x201000 supervisor-only, 0x202000 read-only user,
  // 0x203000 fresh (A/D clear)
  function pagingEnv(body: string, allowWP = false): Env {
    const e = env(body, { handlers: { 14: 'pf', 0x81: 'sys81' }, dpl3: [0x81], paging: true, allowWP });
    const pte = (a: number) => PT + (a >>> 12) * 4;
    e.mem.write32(pte(0x200000), 0x200000 | 0); // not present
    e.mem.write32(pte(0x201000), 0x201000 | 3); // supervisor read/write
    e.mem.write32(pte(0x202000), 0x202000 | 5); // user read-only
    e.mem.write32(pte(0x203000), 0x203000 | 7);
    return e;
  }
  // the #PF handler logs CR2 and the error code, then makes the page present, user and
  // writable, reloads CR3 (the i386 has no INVLPG) and retries
  const PF = `
pf:
    push eax
    push ecx
    push edx
    mov ecx, [${LOG + 0x80}]
    mov eax, cr2
    mov [${LOG} + ecx*8], eax
    mov edx, [esp+12]
    mov [${LOG + 4} + ecx*8], edx
    inc dword [${LOG + 0x80}]
    shr eax, 12
    or dword [${PT} + eax*4], 7
    mov eax, cr3
    mov cr3, eax
    pop edx
    pop ecx
    pop eax
    add esp, 4
    iretd
sys81:
    hlt`;

  it('reports CR2 and the error code for each cause; supervisor writes ignore R/W (i386)', () => {
    const e = pagingEnv(`
    mov eax, [0x200010]          ; not present, supervisor read: err 0
    mov dword [0x202020], 5      ; read-only page, supervisor write: no fault on the i386
    ${TO_RING3('user')}
user:
    mov eax, [0x201004]          ; supervisor page from ring 3: err 5
    mov dword [0x202008], 9      ; read-only page from ring 3: err 7 (fixed by the handler)
    int 0x81
${PF}`);
    const before = e.mem.read32(PT + 0x202 * 4);
    expect(before & 2).toBe(0);
    expectHalted(e, e.run());
    expect(e.log(0x20)).toBe(3);
    expect([e.log(0), e.log(1)]).toEqual([0x200010, 0]);
    expect([e.log(2), e.log(3)]).toEqual([0x201004, 5]);
    expect([e.log(4), e.log(5)]).toEqual([0x202008, 7]);
    expect(e.mem.read32(0x202020)).toBe(5);
    expect(e.mem.read32(0x202008)).toBe(9);
    expect(e.cpu.cr2).toBe(0x202008);
  });

  it('write to a not-present page from ring 3: error code 6; user read of not-present: 4', () => {
    const e = pagingEnv(`
    ${TO_RING3('user')}
user:
    mov dword [0x200000], 1
    mov eax, [0x204ffe]
    int 0x81
${PF}`);
    e.mem.write32(PT + 0x204 * 4, 0x204000 | 6); // user, writable, not present
    expectHalted(e, e.run());
    expect([e.log(0), e.log(1)]).toEqual([0x200000, 6]);
    expect([e.log(2), e.log(3)]).toEqual([0x204ffe, 4]);
  });

  it('an access that straddles two pages faults on the second page', () => {
    const e = pagingEnv(`
    mov eax, [0x1ffffe]
    int 0x81
${PF}`);
    expectHalted(e, e.run());
    expect([e.log(0), e.log(1)]).toEqual([0x200000, 0]);
  });

  it('sets Accessed on reads and Dirty on writes, in the directory and table entries', () => {
    const e = pagingEnv(`
    mov eax, [0x203000]
    mov eax, [0x205000]
    mov dword [0x205004], 1
    int 0x81
${PF}`);
    e.mem.write32(PD, PT | 7); // A clear in the directory
    expectHalted(e, e.run());
    expect(e.mem.read32(PT + 0x203 * 4) & 0x60).toBe(0x20);
    expect(e.mem.read32(PT + 0x205 * 4) & 0x60).toBe(0x60);
    expect(e.mem.read32(PD) & 0x20).toBe(0x20);
  });

  it('with the optional CR0.WP (486) set, a supervisor write to a read-only page faults (err 3)', () => {
    const e = pagingEnv(`
    mov eax, cr0
    or eax, 0x10000
    mov cr0, eax
    mov dword [0x202020], 5
    int 0x81
${PF}`, true);
    expectHalted(e, e.run());
    expect([e.log(0), e.log(1)]).toEqual([0x202020, 3]);
  });

  it('the TLB is flushed by a CR3 write', () => {
    const e = pagingEnv(`
    mov eax, [0x203000]          ; cache the translation
    mov dword [${PT + 0x203 * 4}], 0x206007   ; remap 0x203000 → 0x206000
    mov ebx, [0x203000]          ; still the old page (stale TLB, as on the i386)
    mov eax, cr3
    mov cr3, eax
    mov ecx, [0x203000]          ; the new page
    int 0x81
${PF}`);
    e.mem.write32(0x203000, 0x1111);
    e.mem.write32(0x206000, 0x2222);
    expectHalted(e, e.run());
    expect(e.cpu.regs[3]).toBe(0x1111);
    expect(e.cpu.regs[1]).toBe(0x2222);
  });
});

describe.runIf(HAS_NASM)('an instruction that crosses a page', () => {
  it('is decoded once and cached; a write to its second page or a remap of that page is seen', () => {
    const e = env(`
    mov ecx, 1000
again:
    call cross
    loop again
    mov [${LOG}], eax
    mov byte [0x12001], 0x99     ; a byte of the immediate, in the second page
    call cross
    mov [${LOG + 4}], eax
    mov esi, 0x12000             ; linear 0x12000 → a copy at 0x13000 with another byte
    mov edi, 0x13000
    mov ecx, 16
    rep movsb
    mov byte [0x13002], 0x77
    mov dword [${PT + 0x12 * 4}], 0x13007
    mov eax, cr3
    mov cr3, eax
    call cross
    mov [${LOG + 8}], eax
    hlt
    times 0x1ffe - ($ - $$) nop
cross:                           ; at 0x11ffe: B8 78 | 56 34 12, then RET
    mov eax, 0x12345678
    ret`, { paging: true, symbols: ['cross'] });
    expect(e.sym('cross')).toBe(0x11ffe);
    let slowFetches = 0;
    const fetch = e.cpu.fetchByteSlow.bind(e.cpu);
    e.cpu.fetchByteSlow = (o: number) => {
      slowFetches++;
      return fetch(o);
    };
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x12345678);
    expect(e.log(1)).toBe(0x12995678);
    expect(e.log(2)).toBe(0x77995678);
    expect(slowFetches).toBe(0); // never through the byte-by-byte slow decoder
  });
});

describe.runIf(HAS_NASM)('task switching', () => {
  it('JMP to a TSS and back: state saved and restored, busy bits, CR0.TS', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    mov ebx, 0x1234
    jmp 0x30:0
back:
    mov [${LOG}], ebx
    mov [${LOG + 4}], ecx
    hlt
taskB:
    mov ecx, 0x5678
    mov eax, [${GDT + 0x2c}]
    mov [${LOG + 8}], eax       ; TSS A descriptor (busy bit clear while B runs)
    mov eax, [${GDT + 0x34}]
    mov [${LOG + 12}], eax
    mov eax, cr0
    mov [${LOG + 16}], eax
    str ax
    mov [${LOG + 20}], eax
    clts
    jmp 0x28:0
`, { taskB: 'taskB' });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x1234); // EBX restored from TSS A
    expect(e.log(1)).toBe(0); // ECX is task A's (0), not B's
    expect((e.log(2) >>> 8) & 0xf).toBe(9); // A available while B runs
    expect((e.log(3) >>> 8) & 0xf).toBe(11); // B busy
    expect(e.log(4) & 8).toBe(8); // CR0.TS set by the switch
    expect(e.log(5) & 0xffff).toBe(0x30);
    expect(e.mem.read32(TSS_B + 0x2c)).toBe(0x5678); // B's ECX saved in its TSS
    expect((e.mem.read32(GDT + 0x34) >>> 8) & 0xf).toBe(9); // B available again
    expect(e.cpu.trSel).toBe(0x28);
  });

  it('nested CALLs to tasks set NT and the back link; IRET returns through them', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    call 0x30:0
    pushfd
    pop eax
    mov [${LOG}], eax
    hlt
taskB:
    mov eax, [${TSS_B}]
    mov [${LOG + 4}], eax
    pushfd
    pop eax
    mov [${LOG + 8}], eax
    call 0x40:0
    mov dword [${LOG + 12}], 0xb0b
    iretd
taskC:
    mov eax, [${TSS_C}]
    mov [${LOG + 16}], eax
    iretd
`, { taskB: 'taskB', taskC: 'taskC' });
    expectHalted(e, e.run());
    expect(e.log(1) & 0xffff).toBe(0x28); // B's back link = A
    expect(e.log(2) & 0x4000).toBe(0x4000); // NT in B
    expect(e.log(4) & 0xffff).toBe(0x30); // C's back link = B
    expect(e.log(3)).toBe(0xb0b); // B resumed after C's IRET
    expect(e.log(0) & 0x4000).toBe(0); // NT clear back in A
    expect((e.mem.read32(GDT + 0x34) >>> 8) & 0xf).toBe(9);
    expect((e.mem.read32(GDT + 0x44) >>> 8) & 0xf).toBe(9);
    expect((e.mem.read32(GDT + 0x2c) >>> 8) & 0xf).toBe(11);
  });

  it('switches to a 16-bit TSS and back (286 layout)', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    mov ebx, 0xabcd1234
    jmp 0x30:0
    mov [${LOG}], ebx
    hlt
taskB16:
bits 16
    mov word [${LOG + 4}], 0x1616
    mov [${LOG + 8}], ebx         ; the upper half a 386 loads from a 16-bit TSS: ones
    mov bx, 0x2222
    jmp 0x28:0
bits 32
`, { symbols: ['taskB16'] });
    desc(e.mem, 0x30, TSS_B, 0x2b, 0x81, 0); // available 16-bit TSS
    desc(e.mem, 0x60, CODE, 0xffff, 0x9a, 0); // 16-bit code at 0x10000
    e.cpu.gdtLimit = 0x67;
    e.mem.write16(TSS_B + 0x0e, e.sym('taskB16') - CODE); // IP
    e.mem.write16(TSS_B + 0x10, 2); // FLAGS
    e.mem.write16(TSS_B + 0x12 + 4 * 2, 0xb000); // SP
    e.mem.write16(TSS_B + 0x22, 0x10); // ES
    e.mem.write16(TSS_B + 0x24, 0x60); // CS
    e.mem.write16(TSS_B + 0x26, 0x10); // SS
    e.mem.write16(TSS_B + 0x28, 0x10); // DS
    expectHalted(e, e.run());
    expect(e.log(1) & 0xffff).toBe(0x1616);
    expect(e.log(2)).toBe(0xffff0000); // test386 stage 0x22 checks this 386 behaviour
    expect(e.log(0) >>> 0).toBe(0xabcd1234); // A's full 32-bit EBX restored from its 32-bit TSS
    expect(e.mem.read16(TSS_B + 0x12 + 3 * 2)).toBe(0x2222); // B's BX saved in the 16-bit layout
    expect(e.mem.read16(TSS_B + 0x24)).toBe(0x60);
    expect((e.mem.read32(GDT + 0x34) >>> 8) & 0xf).toBe(1); // B available again (286 TSS)
  });

  it('a task switch to a TSS with a bad CS raises #TS with the selector', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    jmp 0x30:0
ts:
    mov eax, [esp]
    mov [${LOG}], eax
    hlt
taskB:
    hlt
`, { taskB: 'taskB', handlers: { 10: 'ts' } });
    e.mem.write16(TSS_B + 0x4c, 0x10); // CS = a data segment
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x10);
  });
});

describe.runIf(HAS_NASM)('segment loads and descriptor instructions', () => {
  it('#GP(sel) for a selector beyond the GDT, #NP(sel) for a not-present segment, #GP for SS with a bad DPL', () => {
    const e = env(`
    mov ax, 0x98                 ; beyond the GDT limit
    mov ds, ax
    mov ax, 0x48                 ; a not-present data segment
    mov es, ax
    mov ax, 0x23                 ; DPL-3 data as SS at CPL 0
    mov ss, ax
    hlt
log:
    mov ecx, [${LOG + 0x40}]
    mov eax, [esp]
    mov [${LOG} + ecx*4], eax
    inc dword [${LOG + 0x40}]
    add dword [esp+4], 2         ; skip the 2-byte mov sreg
    add esp, 4
    iretd`, { handlers: { 11: 'log', 13: 'log' } });
    desc(e.mem, 0x48, 0, 0xfffff, 0x12, 0xc); // data, present bit clear
    e.cpu.gdtLimit = 0x8f;
    expectHalted(e, e.run());
    expect(e.log(0x10)).toBe(3);
    expect([e.log(0), e.log(1), e.log(2)]).toEqual([0x98, 0x48, 0x20]);
  });

  it('LSL and LAR report limit and access rights; an invisible selector clears ZF', () => {
    const e = env(`
    mov eax, 0x23
    lsl ebx, eax
    setz cl
    lar edx, eax
    mov eax, 0x98
    lsl esi, eax
    setz ch
    hlt`);
    e.cpu.gdtLimit = 0x8f;
    expectHalted(e, e.run());
    expect(e.cpu.regs[3] >>> 0).toBe(0xffffffff);
    expect(e.cpu.regs[1] & 0xffff).toBe(0x0001);
    expect((e.cpu.regs[2] & 0x00f0ff00) >>> 0).toBe(0x00c0f200); // bits 16-19 undefined; not yet accessed
  });

  it('LSL LAR VERR VERW of an LDT selector while LDTR is null clear ZF and go on (no #GP)', () => {
    const e = env(`
    xor eax, eax
    lldt ax                      ; LDTR null
    mov ebx, 0x1234
    mov eax, 0x14                ; LDT selector
    mov cl, 0xff
    cmp eax, eax                 ; ZF = 1 before each
    lsl ebx, eax
    setz cl
    cmp eax, eax
    lar ebx, eax
    setz ch
    cmp eax, eax
    verr ax
    setz dl
    cmp eax, eax
    verw ax
    setz dh
    hlt
gp:
    hlt`, { handlers: { 13: 'gp' } });
    expectHalted(e, e.run());
    expect(e.cpu.lastException).toBe(-1);
    expect(e.cpu.regs[1] & 0xffff).toBe(0); // CL, CH
    expect(e.cpu.regs[2] & 0xffff).toBe(0); // DL, DH
    expect(e.cpu.regs[3]).toBe(0x1234); // destination unchanged
  });

  it('INT through an IDT task gate runs the task; its IRET returns through the back link', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    mov ebx, 5
    int 0x40
    mov [${LOG}], ebx
    hlt
taskB:
    mov eax, [${TSS_B}]
    mov [${LOG + 4}], eax
    mov ebx, 99                  ; task B's EBX: not task A's
    iretd
    jmp taskB
`, { taskB: 'taskB', taskGates: { 0x40: 0x30 } });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(5);
    expect(e.log(1) & 0xffff).toBe(0x28);
  });
});

describe.runIf(HAS_NASM)('exceptions', () => {
  it('an interrupt that ends HLT runs before the next instruction, even right after STI', () => {
    const e = env(`
    sti
    hlt
    mov dword [${LOG}], 1
    hlt
irq:
    mov eax, [${LOG}]
    mov [${LOG + 4}], eax        ; 0: the handler ran before the instruction after HLT
    mov dword [${LOG + 8}], 1
    iretd`, { handlers: { 0x20: 'irq' } });
    let pending = false;
    e.cpu.irq = { hasInterrupt: () => pending, acknowledge: () => ((pending = false), 0x20) };
    expect(e.run()).toBe('waiting');
    pending = true;
    expect(e.run()).toBe('waiting');
    expect(e.log(2)).toBe(1);
    expect(e.log(1)).toBe(0);
    expect(e.log(0)).toBe(1);
  });

  it('a fault while delivering a contributory fault becomes a double fault (error code 0)', () => {
    const e = env(`
    xor edx, edx
    xor ecx, ecx
    div ecx
df:
    mov eax, [esp]
    mov [${LOG}], eax
    mov dword [${LOG + 4}], 1
    hlt`, { handlers: { 8: 'df' } });
    e.mem.write8(IDT + 0 * 8 + 5, 0x0e); // #DE gate not present → #NP → double fault
    expectHalted(e, e.run());
    expect(e.log(1)).toBe(1);
    expect(e.log(0)).toBe(0);
  });

  it('a fault while delivering a double fault shuts the CPU down (triple fault)', () => {
    const e = env(`
    mov eax, [0x10000000]
    hlt`, { idtLimit: 0 });
    e.mem.write32(PT, 0); // unused: no paging; the access is beyond nothing, so force #GP:
    e.cpu.setSegCache(DS, 0x10, 0, 0xffff, 0x93); // 64 KB limit → #GP at 0x10000000
    const r = e.run();
    expect(r).toBe('triple-fault');
    expect(e.cpu.shutdownReport).toMatch(/triple fault/);
    expect(e.cpu.run(10)).toBe('triple-fault');
  });

  it('invalid opcodes and LOCK on a non-lockable instruction raise #UD', () => {
    const e = env(`
    db 0x0f, 0xff
    db 0xf0, 0x89, 0xd8     ; lock mov eax, ebx
    db 0xf0, 0x01, 0xc0     ; lock add eax, eax (register destination)
    lock add [${LOG + 0x40}], eax
    mov [${LOG + 0x44}], ecx
    hlt
ud:
    inc ecx
    mov eax, [esp]
    mov [${LOG} + ecx*4], eax
    mov eax, [esp]
    cmp byte [eax], 0xf0
    jne .two
    add dword [esp], 1
.two:
    add dword [esp], 2
    iretd`, { handlers: { 6: 'ud' }, symbols: ['start'] });
    expectHalted(e, e.run());
    expect(e.log(0x11)).toBe(3);
  });

  it('TF single-steps: one #DB (DR6.BS) after each instruction', () => {
    const e = env(`
    pushfd
    or dword [esp], 0x100
    popfd
    nop
    nop
    nop
    pushfd
    and dword [esp], ~0x100
    popfd
    mov ecx, [${LOG + 0x40}]
    hlt
db1:
    inc dword [${LOG + 0x40}]
    mov eax, dr6
    mov [${LOG}], eax
    iretd`, { handlers: { 1: 'db1' } });
    expectHalted(e, e.run());
    // traps after: nop nop nop pushfd and popfd (the popfd clearing TF still traps)
    expect(e.log(0x10)).toBe(6);
    expect(e.log(0) & 0x4000).toBe(0x4000);
  });

  it('DR0 execution breakpoint (fault, RF resumes) and DR1 data write breakpoint (trap)', () => {
    const e = env(`
    mov eax, target
    mov dr0, eax
    mov eax, var
    mov dr1, eax
    mov eax, 0x00d0000a          ; L0 (exec, len 1), L1 write len 4
    mov dr7, eax
    nop
target:
    mov ecx, 1
    mov dword [var], 7
after:
    mov edx, 2
    xor eax, eax
    mov dr7, eax
    hlt
db1:
    mov ebx, [${LOG + 0x40}]
    mov eax, [esp]
    mov [${LOG} + ebx*8], eax
    mov eax, dr6
    mov [${LOG + 4} + ebx*8], eax
    mov eax, [esp+8]
    mov [${LOG + 0x20} + ebx*4], eax ; EFLAGS image: RF set for the fault only
    xor eax, eax
    mov dr6, eax                 ; the CPU never clears DR6: the handler does
    inc dword [${LOG + 0x40}]
    iretd
var: dd 0`, { handlers: { 1: 'db1' }, symbols: ['target', 'after', 'var'] });
    expectHalted(e, e.run());
    expect(e.log(0x10)).toBe(2);
    expect(e.log(0)).toBe(e.sym('target')); // fault: before the instruction
    expect(e.log(1) & 0xf).toBe(1);
    expect(e.log(2)).toBe(e.sym('after')); // trap: after the write
    expect(e.log(3) & 0xf).toBe(2);
    expect(e.log(8) & 0x10000).toBe(0x10000); // the breakpoint fault's frame has RF: IRET resumes past it
    expect(e.log(9) & 0x10000).toBe(0); // the data trap's does not
    expect(e.mem.read32(e.sym('var'))).toBe(7);
    expect(e.cpu.regs[1]).toBe(1);
    expect(e.cpu.regs[2]).toBe(2);
  });

  it('no x87: fninit/fnstsw leave AX unchanged; with CR0.EM an ESC raises #NM', () => {
    const e = env(`
    mov eax, 0x1234
    fninit
    fnstsw ax
    mov [${LOG}], eax
    mov eax, cr0
    or eax, 4
    mov cr0, eax
    fninit
    hlt
nm:
    mov dword [${LOG + 4}], 7
    hlt`, { handlers: { 7: 'nm' } });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x1234);
    expect(e.log(1)).toBe(7);
  });
});

describe('real mode', () => {
  function real(bytes: number[]): Cpu {
    const mem = new PhysicalMemory(1 << 20);
    const cpu = new Cpu(mem);
    mem.load(0x1000, Uint8Array.from(bytes));
    cpu.setRealMode(0, 0x1000);
    for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0);
    cpu.regs[4] = 0x8000;
    // IVT: vectors 12 and 13 → F4 (hlt) at 0x500 / 0x510
    mem.write16(12 * 4, 0x500);
    mem.write16(13 * 4, 0x510);
    mem.write8(0x500, 0xf4);
    mem.write8(0x510, 0xf4);
    return cpu;
  }
  it('a word access at offset 0xFFFF raises #GP (13); through SS, #SS (12)', () => {
    const c1 = real([0xa1, 0xff, 0xff]); // mov ax, [0xffff]
    expect(c1.run(10)).toBe('halted');
    expect(c1.eip).toBe(0x511);
    expect(c1.lastException).toBe(13);
    const c2 = real([0xbd, 0xff, 0xff, 0x8b, 0x46, 0x00]); // mov bp, 0xffff; mov ax, [bp]
    expect(c2.run(10)).toBe('halted');
    expect(c2.lastException).toBe(12);
    expect(c2.mem.read16(0x8000 - 6)).toBe(0x1003); // the faulting IP was pushed
  });
  it('the A20 mask wraps physical addresses at 1 MB when disabled', () => {
    const cpu = real([0xb8, 0xff, 0xff, 0x8e, 0xd8, 0xc6, 0x06, 0x10, 0x00, 0x55, 0xf4]); // ds=ffff; mov byte [0x10],0x55
    cpu.mem.setA20(false);
    expect(cpu.run(10)).toBe('halted');
    expect(cpu.mem.read8(0)).toBe(0x55);
  });
});

describe.runIf(HAS_NASM)('mode switches', () => {
  it('a real-mode far jump straight from 32-bit code gives CS 16-bit access rights', () => {
    const code = nasm(`
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm
bits 32
pm:
    mov eax, cr0
    and al, 0xfe
    mov cr0, eax
    jmp 0x0000:rm               ; still 32-bit code here: ptr16:32
bits 16
rm:
    mov ax, 0x1234              ; decoded as 16-bit code: B8 34 12
    hlt
align 8
gdt: dq 0
    dq 0x00cf9a000000ffff
gdtr: dw 15
    dd gdt
`);
    const mem = new PhysicalMemory(1 << 20);
    const cpu = new Cpu(mem);
    mem.load(0x7c00, code);
    cpu.setRealMode(0, 0x7c00);
    for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0);
    cpu.regs[4] = 0x7c00;
    expect(cpu.run(1000)).toBe('halted');
    // as 32-bit code, B8 would have taken four immediate bytes (the HLT among them)
    expect(cpu.regs[0] >>> 0).toBe(0x1234);
    expect(cpu.csBig).toBe(false);
  });

  it('real mode → protected mode with LMSW and a far jump (as Linux setup.s), paging on, and back to real mode', () => {
    const code = nasm(`
bits 16
org 0x7c00
    cli
    xor ax, ax
    mov ds, ax
    lgdt [gdtr]
    mov ax, 1
    lmsw ax                     ; PE = 1: still running on the real-mode CS cache
    jmp 0x08:pm
bits 32
pm:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x9000
    mov dword [0x6000], 0x11111111
    ; identity-map 4 MB: directory at 0x20000, table at 0x21000
    mov edi, 0x21000
    mov eax, 7
.fill:
    stosd
    add eax, 0x1000
    cmp edi, 0x22000
    jne .fill
    mov dword [0x20000], 0x21007
    mov eax, 0x20000
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp .flush
.flush:
    mov dword [0x6004], 0x22222222
    ; back to real mode the documented way: paging off, then a 16-bit code segment with a
    ; 64 KB limit and 64 KB data segments, then PE off and a far jump
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    jmp 0x18:pm16
bits 16
pm16:
    mov ax, 0x20
    mov ds, ax
    mov ss, ax
    mov eax, cr0
    and eax, 0xfffffffe
    mov cr0, eax
    jmp 0x0000:rm
rm:
    xor ax, ax
    mov ds, ax
    mov word [0x6008], 0x3333
    hlt
align 8
gdt: dq 0
    dq 0x00cf9a000000ffff
    dq 0x00cf92000000ffff
    dq 0x00009a000000ffff
    dq 0x000092000000ffff
gdtr: dw 39
    dd gdt
`);
    const mem = new PhysicalMemory(4 << 20);
    const cpu = new Cpu(mem);
    mem.load(0x7c00, code);
    cpu.setRealMode(0, 0x7c00);
    for (const s of [DS, ES, SS]) cpu.loadSeg(s, 0);
    cpu.regs[4] = 0x7c00;
    expect(cpu.run(100000)).toBe('halted');
    expect(mem.read32(0x6000)).toBe(0x11111111);
    expect(mem.read32(0x6004)).toBe(0x22222222);
    expect(mem.read16(0x6008)).toBe(0x3333);
    expect(mem.read32(0x21000 + 6 * 4) & 0x60).toBe(0x60); // page 6 written through paging (A, D)
    expect(mem.read32(0x21000 + 5 * 4) & 0x60).toBe(0); // never touched
    expect(cpu.cr0 & 0x80000001).toBe(0);
  });
});

describe.runIf(HAS_NASM)('stack-size corners and operand writes (test386 stages 0x09, 0x17, 0x1A)', () => {
  /** GDT 0x60: a 16-bit stack (B = 0) at 0x20000; 0x68: flat read-only data; 0x70: a 32-bit
   *  stack limited to 1 MB. */
  const extra = (e: Env) => {
    desc(e.mem, 0x60, 0x20000, 0xffff, 0x92, 0x0);
    desc(e.mem, 0x68, 0, 0xfffff, 0x90, 0xc);
    desc(e.mem, 0x70, 0, 0xfffff, 0x92, 0x4);
    e.cpu.gdtLimit = 0x77;
  };

  it('POP SS steps SP or ESP by the old stack size, not the new one', () => {
    const e = env(`
    mov ax, 0x60                 ; to the 16-bit stack
    mov ss, ax
    mov esp, 0x10000             ; SP = 0 with a high half
    push dword 0x10
    pop ss                       ; old stack 16-bit: SP wraps to 0, ESP keeps its high half
    mov [${LOG}], esp
    mov esp, 0x1fffc             ; flat 32-bit stack
    mov dword [esp], 0x60
    pop ss                       ; old stack 32-bit: ESP + 4 though SS is now 16-bit
    mov eax, esp
    mov bx, 0x10
    mov ss, bx
    mov esp, 0xa000
    mov [${LOG + 4}], eax
    hlt`);
    extra(e);
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x00010000);
    expect(e.log(1)).toBe(0x00020000);
  });

  it('PUSH ESP pushes the value before the push, POP ESP keeps the popped value, LEAVE uses BP on a 16-bit stack', () => {
    const e = env(`
    mov esp, 0x9000
    push esp
    pop eax                      ; 0x9000
    mov dword [0x8ffc], 0x1234
    mov esp, 0x8ffc
    pop esp                      ; ESP = the value popped, not 0x9000
    mov ebx, esp
    mov di, 0x60                 ; 16-bit stack at 0x20000
    mov ss, di
    mov esp, 0x5550100
    mov ebp, 0x7770200
    mov dword [0x20200], 0xabcd
    o32 leave                    ; SP = BP (high half of ESP kept), then EBP = [SS:SP]
    mov ecx, esp
    mov edx, ebp
    mov si, 0x10
    mov ss, si
    mov esp, 0xa000
    mov [${LOG}], eax
    mov [${LOG + 4}], ebx
    mov [${LOG + 8}], ecx
    mov [${LOG + 12}], edx
    hlt`);
    extra(e);
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x9000);
    expect(e.log(1)).toBe(0x1234);
    expect(e.log(2)).toBe(0x5550204);
    expect(e.log(3)).toBe(0xabcd);
  });

  it('ARPL writes its destination only when the RPL changes', () => {
    const e = env(`
    mov word [0x7000], 0x0013
    mov ax, 0x68                 ; read-only DS
    mov ds, ax
    mov bx, 0x0002
    arpl [0x7000], bx            ; RPL 3 >= 2: ZF = 0, no write, no fault
    setz [ss:${LOG}]
    mov bx, 0x0003
    mov word [ss:0x7002], 0x0010
    arpl [0x7002], bx            ; would change the RPL: the write faults
    hlt
gp:
    mov eax, [esp]
    mov [ss:${LOG + 4}], eax
    hlt`, { handlers: { 13: 'gp' } });
    extra(e);
    expectHalted(e, e.run());
    expect(e.log(0) & 0xff).toBe(0);
    expect(e.mem.read16(0x7000)).toBe(0x0013);
    expect(e.log(1)).toBe(0);
    expect(e.mem.read16(0x7002)).toBe(0x0010);
  });

  it('o32 ENTER on a 16-bit stack keeps the high half of ESP in the frame pointer', () => {
    const e = env(`
    mov ax, 0x60
    mov ss, ax
    mov esp, 0x10000
    mov ebp, 0x12345678
    o32 enter 8, 1
    mov eax, esp
    mov ebx, ebp
    movzx edi, sp
    mov ecx, [ss:edi+8]          ; the frame pointer pushed by level 1
    mov dx, 0x10
    mov ss, dx
    mov esp, 0xa000
    mov [${LOG}], eax
    mov [${LOG + 4}], ebx
    mov [${LOG + 8}], ecx
    hlt`);
    extra(e);
    expectHalted(e, e.run());
    expect(e.log(1)).toBe(0x1fffc); // EBP = ESP after pushing EBP (SP wrapped, high half kept)
    expect(e.log(2)).toBe(0x1fffc);
    expect(e.log(0)).toBe(0x1fff0); // SP - 4 (frame) - 8
  });

  it('ENTER faults before committing when the final stack pointer is not writable', () => {
    const e = env(`
    mov ax, 0x70                 ; 32-bit stack, limit 1 MB
    mov ss, ax
    mov esp, 0x1004
    mov ebp, 0x55
    enter 0x2000, 0              ; final ESP 0xfffff000: beyond the limit
    hlt
ss_fault:
    mov eax, [esp]
    mov [${LOG}], eax
    mov [${LOG + 4}], ebp
    lea eax, [esp+16]            ; ESP before the fault (error code, EIP, CS, EFLAGS pushed)
    mov [${LOG + 8}], eax
    hlt`, { handlers: { 12: 'ss_fault' } });
    extra(e);
    expectHalted(e, e.run());
    expect(e.cpu.lastException).toBe(12);
    expect(e.log(0)).toBe(0);
    expect(e.log(1)).toBe(0x55); // EBP unchanged
    expect(e.log(2)).toBe(0x1004); // ESP as before ENTER
  });
});
