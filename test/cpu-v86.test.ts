// Virtual-8086 mode (Intel 80386 Programmer's Reference Manual, chapter 15), one guest
// program each under a small ring-0 monitor: entry by IRET and by a task switch, paragraph
// segments, INT from V86 through a ring-0 gate with the V86 frame checked word by word and
// IRET back, the IOPL-sensitive instructions, the I/O bitmap, the #GP for a gate that would
// not reach ring 0, and a DOS-style program calling an INT 21h-like service.

import { describe, expect, it } from 'vitest';
import { HAS_NASM, env, expectHalted, gate, IDT, LOG, CODE, TSS_B } from './cpu-env';

/** V86 code runs with CS = 0x1000: IP = label - 0x10000 (the program is assembled at 0x10000). */
const V86_CS = CODE >>> 4;

/** From ring 0: ltr, then IRETD into virtual-8086 mode at `label` with the given EFLAGS
 *  (VM is added) and the V86 segment registers. */
const TO_V86 = (label: string, eflags: number, segs = { es: 0x2222, ds: 0x3333, fs: 0x4444, gs: 0x5555, ss: 0x0800, sp: 0x0ff0 }) => `
    mov ax, 0x28
    ltr ax
    push dword ${segs.gs}
    push dword ${segs.fs}
    push dword ${segs.ds}
    push dword ${segs.es}
    push dword ${segs.ss}
    push dword ${segs.sp}
    push dword ${eflags | 0x20000}
    push dword ${V86_CS}
    push dword ${label} - ${CODE}
    iretd`;

describe.runIf(HAS_NASM)('virtual-8086 mode', () => {
  it('IRET enters V86; INT goes through a ring-0 gate with the V86 frame; IRET returns to V86', () => {
    const e = env(`
    ${TO_V86('v86', 0x3202)}
bits 16
v86:
    mov ax, 0x2000               ; paragraph segments: DS base 0x20000
    mov ds, ax
    mov word [0x10], 0xbeef
    mov ax, 0x3333
    mov ds, ax
    mov bx, 0x1234
    int 0x40
back:
    mov ax, 0x2000
    mov ds, ax
    mov [0x12], bx               ; BX as the monitor changed it
    mov ax, es
    mov [0x14], ax               ; ES restored from the frame
    mov ax, ss
    mov [0x16], ax
    mov [0x18], sp
    int 0x41
bits 32
sys40:
    mov ecx, 0
copy:
    mov eax, [esp + ecx*4]
    mov [ss:${LOG} + ecx*4], eax    ; the nine dwords of the V86 frame
    inc ecx
    cmp ecx, 9
    jne copy
    mov [ss:${LOG + 0x40}], esp
    mov ax, ds
    mov [ss:${LOG + 0x44}], ax      ; DS ES FS GS are null in the handler
    mov ax, es
    mov [ss:${LOG + 0x48}], ax
    mov ax, fs
    mov [ss:${LOG + 0x4c}], ax
    mov ax, gs
    mov [ss:${LOG + 0x50}], ax
    pushfd
    pop eax
    mov [ss:${LOG + 0x54}], eax     ; VM clear inside
    mov ax, cs
    mov [ss:${LOG + 0x58}], ax
    mov bx, 0x5678
    iretd
sys41:
    hlt`, { handlers: { 0x40: 'sys40', 0x41: 'sys41' }, dpl3: [0x40, 0x41], symbols: ['back'] });
    expectHalted(e, e.run());
    expect(e.mem.read16(0x20010)).toBe(0xbeef);
    // the frame, word by word: EIP CS EFLAGS ESP SS ES DS FS GS
    expect(e.log(0)).toBe(e.sym('back') - CODE);
    expect(e.log(1)).toBe(V86_CS);
    expect(e.log(2) & 0x23200).toBe(0x23200); // VM, IOPL 3, IF
    expect(e.log(3)).toBe(0x0ff0);
    expect(e.log(4)).toBe(0x0800);
    expect([5, 6, 7, 8].map((k) => e.log(k))).toEqual([0x2222, 0x3333, 0x4444, 0x5555]);
    expect(e.log(0x10)).toBe(0x9800 - 36); // ring-0 stack from the TSS
    expect([0x11, 0x12, 0x13, 0x14].map((k) => e.log(k) & 0xffff)).toEqual([0, 0, 0, 0]);
    expect(e.log(0x15) & 0x20000).toBe(0);
    expect(e.log(0x16) & 0xffff).toBe(0x08);
    // back in V86 after IRETD
    expect(e.mem.read16(0x20012)).toBe(0x5678);
    expect(e.mem.read16(0x20014)).toBe(0x2222);
    expect(e.mem.read16(0x20016)).toBe(0x0800);
    expect(e.mem.read16(0x20018)).toBe(0x0ff0);
  });

  it('at IOPL 0, CLI STI PUSHF POPF PUSHFD POPFD INT n IRET HLT and LOCK raise #GP(0)', () => {
    const e = env(`
    ${TO_V86('v86', 0x0202)}
bits 16
v86:
    cli
    sti
    pushf
    popf
    pushfd
    popfd
    int 0x40
    iret
    hlt
    lock inc word [0x10]
    int3                         ; not IOPL-sensitive: through its DPL-3 gate
bits 32
gp:
    push dword 0x10
    pop ds
    mov ecx, [${LOG + 0x7c}]
    mov eax, [esp]
    mov [${LOG} + ecx*4], eax    ; error code
    mov eax, [esp+4]
    mov [${LOG + 0x40} + ecx*4], eax ; faulting IP
    inc dword [${LOG + 0x7c}]
    movzx eax, byte [lens + ecx]
    add [esp+4], eax             ; skip it
    add esp, 4
    iretd
lens: db 1, 1, 1, 1, 2, 2, 2, 1, 1, 5
brk:
    hlt`, { handlers: { 13: 'gp', 3: 'brk', 0x40: 'brk' }, dpl3: [3, 0x40], symbols: ['v86'] });
    expectHalted(e, e.run());
    expect(e.log(0x1f)).toBe(10);
    for (let k = 0; k < 10; k++) expect(e.log(k), `#${k}`).toBe(0);
    const ip = e.sym('v86') - CODE;
    expect([...Array(10).keys()].map((k) => e.log(0x10 + k) - ip)).toEqual([0, 1, 2, 3, 4, 6, 8, 10, 11, 12]);
  });

  it('at IOPL 3, CLI STI PUSHF POPF LOCK and IRET run as in real mode, and IOPL cannot be changed', () => {
    const e = env(`
    ${TO_V86('v86', 0x3202)}
bits 16
v86:
    cli
    pushf
    pop ax
    mov [0], ax                  ; DS 0x3333: linear 0x33330 (IF clear, IOPL 3)
    push word 0x0200             ; try IOPL 0 with IF set
    popf
    pushf
    pop ax
    mov [2], ax
    lock inc word [4]
    pushf
    push cs
    push word after - ${CODE}
    iret
after:
    int 0x41
bits 32
sys41:
    hlt`, { handlers: { 0x41: 'sys41' }, dpl3: [0x41] });
    // DS is 0x3333 in V86; the stores above go through DS: linear 0x33330
    expectHalted(e, e.run());
    expect(e.mem.read16(0x33330) & 0x3200).toBe(0x3000);
    expect(e.mem.read16(0x33332) & 0x3200).toBe(0x3200);
    expect(e.mem.read16(0x33334)).toBe(1); // LOCK allowed at IOPL 3
  });

  it('port I/O in V86 follows the TSS bitmap whatever IOPL is', () => {
    const e = env(`
    ${TO_V86('v86', 0x3202)}
bits 16
v86:
    out 0x80, al                 ; allowed by the bitmap
    mov byte [cs:done - ${CODE}], 1
    in al, 0x60                  ; denied: #GP(0) although IOPL = 3
    hlt
done: db 0
bits 32
gp:
    push dword 0x10
    pop ds
    mov eax, [esp]
    mov [${LOG}], eax
    mov eax, [esp+4]
    mov [${LOG + 4}], eax
    hlt`, { handlers: { 13: 'gp' }, symbols: ['v86', 'done'] });
    expectHalted(e, e.run());
    expect(e.mem.read8(e.sym('done'))).toBe(1);
    expect(e.log(0)).toBe(0);
    expect(e.log(1)).toBe(e.sym('v86') - CODE + 8);
  });

  it('INT from V86 through a gate to ring-3 or conforming code is #GP(code selector)', () => {
    const e = env(`
    ${TO_V86('v86', 0x3202)}
bits 16
v86:
    int 0x42
bits 32
target:
    hlt
gp:
    push dword 0x10
    pop ds
    mov eax, [esp]
    mov [${LOG}], eax
    mov eax, [esp+12]
    mov [${LOG + 4}], eax        ; EFLAGS image: VM (the #GP itself left V86)
    hlt`, { handlers: { 13: 'gp' }, symbols: ['target'] });
    gate(e.mem, IDT + 0x42 * 8, 0x18, e.sym('target'), 14, 3); // ring-3 code
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(0x18);
    expect(e.log(1) & 0x20000).toBe(0x20000);
  });

  it('a task switch to a TSS whose EFLAGS has VM starts a V86 task; its INT uses that TSS ring-0 stack', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    jmp 0x30:0
bits 16
task:
    mov ax, cs
    mov bx, 0x1000
    int 0x41
bits 32
sys41:
    push dword 0x10
    pop ds
    mov eax, [esp+8]
    mov [${LOG}], eax            ; EFLAGS image
    mov [${LOG + 4}], esp
    mov eax, [esp+4]
    mov [${LOG + 8}], eax        ; CS
    mov eax, [esp+24]
    mov [${LOG + 12}], eax       ; DS
    mov [${LOG + 16}], ebx
    hlt`, { handlers: { 0x41: 'sys41' }, dpl3: [0x41], symbols: ['task'] });
    const m = e.mem;
    m.write32(TSS_B + 4, 0xb800); // ESP0
    m.write32(TSS_B + 8, 0x10); // SS0
    m.write32(TSS_B + 0x20, e.sym('task') - CODE);
    m.write32(TSS_B + 0x24, 0x23202);
    m.write32(TSS_B + 0x38, 0x0ff0);
    const segs: Record<number, number> = { 0x48: 0x2222, 0x4c: V86_CS, 0x50: 0x0800, 0x54: 0x3333, 0x58: 0, 0x5c: 0 };
    for (const [off, v] of Object.entries(segs)) m.write32(TSS_B + Number(off), v);
    expectHalted(e, e.run());
    expect(e.log(0) & 0x20000).toBe(0x20000);
    expect(e.log(1)).toBe(0xb800 - 36);
    expect(e.log(2)).toBe(V86_CS);
    expect(e.log(3)).toBe(0x3333);
    expect(e.log(4)).toBe(0x1000);
  });

  it('a DOS-style program prints through an INT 21h service of a ring-0 monitor and exits', () => {
    const e = env(`
    ${TO_V86('prog', 0x3202, { es: 0, ds: V86_CS, fs: 0, gs: 0, ss: 0x0800, sp: 0x0ff0 })}
bits 16
prog:
    mov dx, hello - ${CODE}
    mov ah, 0x09
    int 0x21
    mov dx, world - ${CODE}
    mov ah, 0x09
    int 0x21
    mov ax, 0x4c07
    int 0x21
hello: db 'Hello, $'
world: db 'V86!$'
bits 32
; the monitor: the V86 caller's registers are live; its DS is in the frame at [esp+24]
int21:
    push dword 0x10
    pop ds
    cmp ah, 0x09
    je .print
    cmp ah, 0x4c
    je .exit
    iretd
.print:
    push eax
    push esi
    push edi
    movzx esi, word [esp+12+24]  ; V86 DS
    shl esi, 4
    movzx eax, dx
    add esi, eax
    mov edi, [${LOG + 0x7c}]
.next:
    mov al, [esi]
    cmp al, '$'
    je .done
    mov [${LOG} + edi], al
    inc esi
    inc edi
    jmp .next
.done:
    mov [${LOG + 0x7c}], edi
    pop edi
    pop esi
    pop eax
    iretd
.exit:
    mov [${LOG + 0x78}], al
    hlt`, { handlers: { 0x21: 'int21' }, dpl3: [0x21] });
    expectHalted(e, e.run());
    const n = e.log(0x1f);
    expect(Buffer.from(e.mem.u8.subarray(LOG, LOG + n)).toString('latin1')).toBe('Hello, V86!');
    expect(e.mem.read8(LOG + 0x78)).toBe(7);
  });
});
