// Debug exceptions and NMI (Intel 80386 Programmer's Reference Manual, chapters 9 and 12):
// RF in fault frames and how long it lasts, DR7.GD with DR6.BD, the TSS T bit with DR6.BT,
// DR6 bits accumulating until the handler clears them, and NMI (regardless of IF, held off
// until the handler's IRET, masked by bit 7 of port 70h).

import { describe, expect, it } from 'vitest';
import { Machine } from '../emulator/machine';
import { HAS_NASM, env, expectHalted, nasm, LOG, TSS_B } from './cpu-env';

const RF = 0x10000;

describe.runIf(HAS_NASM)('debug exceptions', () => {
  it('a fault frame has RF, a software interrupt frame does not; RF lasts one instruction', () => {
    const e = env(`
    db 0x0f, 0x0b                ; an invalid opcode: #UD, a fault
after_ud:
    nop
    int 0x40                     ; a software interrupt
    hlt
ud:
    mov eax, [esp+8]
    mov [${LOG}], eax
    add dword [esp], 2           ; skip it
    iretd                        ; RF = 1 for one instruction
int40:
    mov eax, [esp+8]
    mov [${LOG + 4}], eax
    iretd`, { handlers: { 6: 'ud', 0x40: 'int40' }, symbols: ['after_ud'] });
    // stop at after_ud: RF is set (restored by IRETD), then gone after one instruction
    let steps = 0;
    while (e.cpu.eip !== e.sym('after_ud') && steps++ < 100) e.cpu.step();
    expect(e.cpu.getFlags() & RF).toBe(RF);
    e.cpu.step(); // nop: RF cleared after it
    expectHalted(e, e.run());
    expect(e.log(0) & RF).toBe(RF);
    expect(e.log(1) & RF).toBe(0);
    expect(e.cpu.getFlags() & RF).toBe(0);
  });

  it('RF in the frame lets IRET resume at an instruction breakpoint without hitting it again', () => {
    const e = env(`
    mov eax, target
    mov dr0, eax
    mov eax, 0x2                 ; G0, execute
    mov dr7, eax
target:
    inc ecx
    hlt
db1:
    inc dword [${LOG}]
    iretd                        ; RF from the frame: no second #DB at target`, { handlers: { 1: 'db1' } });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(1);
    expect(e.cpu.regs[1]).toBe(1);
  });

  it('DR7.GD: MOV to or from a debug register is a #DB fault with DR6.BD, and GD is cleared', () => {
    const e = env(`
    mov eax, 0x2000              ; GD
    mov dr7, eax
access:
    mov ebx, dr0
    hlt
db1:
    mov eax, [esp]
    mov [${LOG}], eax            ; EIP: the MOV itself (a fault)
    mov eax, dr7                 ; allowed: GD is clear in the handler
    mov [${LOG + 4}], eax
    mov eax, dr6
    mov [${LOG + 8}], eax
    hlt`, { handlers: { 1: 'db1' }, symbols: ['access'] });
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(e.sym('access'));
    expect(e.log(1) & 0x2000).toBe(0);
    expect(e.log(2) & 0xe00f).toBe(0x2000);
  });

  it('a task switch to a TSS with the T bit raises #DB with DR6.BT before the task\'s first instruction', () => {
    const e = env(`
    mov ax, 0x28
    ltr ax
    jmp 0x30:0
taskB:
    mov dword [${LOG + 12}], 1
    hlt
db1:
    mov eax, [esp]
    mov [${LOG}], eax
    mov eax, dr6
    mov [${LOG + 4}], eax
    str ax
    mov [${LOG + 8}], eax
    cmp dword [${LOG + 12}], 0   ; task B has not run yet
    jne .out
    iretd
.out:
    hlt`, { handlers: { 1: 'db1' }, taskB: 'taskB', symbols: ['taskB'] });
    e.mem.write16(TSS_B + 0x64, 1); // T
    expectHalted(e, e.run());
    expect(e.log(0)).toBe(e.sym('taskB'));
    expect(e.log(1) & 0xe00f).toBe(0x8000);
    expect(e.log(2) & 0xffff).toBe(0x30);
    expect(e.log(3)).toBe(1);
  });

  it('DR6 status bits accumulate until the handler clears them (TF: BS, then a DR0 hit)', () => {
    const e = env(`
    mov eax, target
    mov dr0, eax
    mov eax, 0x2
    mov dr7, eax
    pushfd
    or dword [esp], 0x100        ; TF
    popfd
    nop
target:
    hlt
db1:
    mov eax, dr6
    mov ebx, [${LOG + 0x40}]
    mov [${LOG} + ebx*4], eax
    inc dword [${LOG + 0x40}]
    and dword [esp+8], ~0x100    ; stop single-stepping
    iretd`, { handlers: { 1: 'db1' } });
    expectHalted(e, e.run());
    // the single-step trap after popfd's next instruction, then (DR6 not cleared) the hit at target
    expect(e.log(0x10)).toBeGreaterThanOrEqual(2);
    expect(e.log(0) & 0x4000).toBe(0x4000);
    const last = e.log(e.log(0x10) - 1);
    expect(last & 0x4001).toBe(0x4001);
  });
});

describe.runIf(HAS_NASM)('NMI', () => {
  /** A 64 KB ROM: NMIs unmasked or masked through port 70h, IVT[2] → a handler that counts
   *  on port E9h; the main loop halts with interrupts off. */
  function machine(mask: boolean): { m: Machine; out: () => string } {
    const rom = nasm(`
bits 16
org 0
start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7000
    mov word [2*4], nmi
    mov word [2*4+2], 0xf000
    mov al, ${mask ? '0x8d' : '0x0d'}
    out 0x70, al
    cli
idle:
    hlt
    mov al, 'h'
    out 0xe9, al
    jmp idle
nmi:
    mov al, 'N'
    out 0xe9, al
    mov al, [0x500]
    inc byte [0x500]
    cmp al, 0
    jne .done
    mov al, 'w'                  ; first NMI: spin a little; a second NMI waits for IRET
    out 0xe9, al
    mov cx, 100
.spin:
    loop .spin
.done:
    iret
times 0xfff0 - ($ - $$) db 0
    jmp 0xf000:start
times 0x10000 - ($ - $$) db 0`);
    let text = '';
    const m = new Machine({ firmware: rom, onDebugcon: (b) => (text += String.fromCharCode(b)) });
    return { m, out: () => text };
  }

  it('an NMI wakes HLT with IF clear; a second one waits for the handler\'s IRET', () => {
    const { m, out } = machine(false);
    expect(m.run(10_000).kind).toBe('halted');
    expect(m.nmi()).toBe(true);
    m.run(20); // into the handler, spinning
    expect(out()).toBe('Nw');
    expect(m.nmi()).toBe(true); // held: the first handler has not returned
    m.run(50);
    expect(out()).toBe('Nw');
    expect(m.run(10_000).kind).toBe('halted');
    expect(out()).toBe('NwNh'); // the held NMI comes right after the IRET
  });

  it('bit 7 of port 70h masks NMI', () => {
    const { m, out } = machine(true);
    expect(m.run(10_000).kind).toBe('halted');
    expect(m.nmi()).toBe(false);
    expect(m.run(10_000).kind).toBe('halted');
    expect(out()).toBe('');
  });
});
