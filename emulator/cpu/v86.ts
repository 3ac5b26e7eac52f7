// Virtual-8086 mode (EFLAGS.VM = 1 in protected mode), Intel 80386 Programmer's Reference
// Manual chapter 15: segment registers are paragraph numbers as in real mode (base =
// selector * 16, limit 64 KB), CPL is 3, and CLI, STI, LOCK, PUSHF, POPF, INT n and IRET
// are IOPL-sensitive (#GP(0) below IOPL 3, section 15.4); port I/O always goes through the
// TSS bitmap.
// Entered by IRET from ring 0 with VM in the EFLAGS image, or by a task switch to a TSS
// whose EFLAGS has VM; left by an interrupt or exception through a ring-0 gate
// (deliverProtected in interrupts.ts pushes the V86 frame and zeroes DS ES FS GS).

import type { Cpu } from './cpu';
import type { Handler } from './handlers';
import { CS, SS, ES, DS, FS, GS, ESP, VM, IF, TF, NT, RF, IOPL } from './consts';

/** A segment load in virtual-8086 mode: a present, writable, DPL-3 64 KB segment at
 *  selector * 16 (CS too: as in real mode, code is readable and writable through CS). */
export function loadSegV86(c: Cpu, s: number, v: number): void {
  c.setSegCache(s, v & 0xffff, (v & 0xffff) << 4, 0xffff, s === CS ? 0xfb : 0xf3);
  if (s === CS) c.segEndR[CS] = c.segEndW[CS] = 0x10000;
}

/** The IOPL-sensitive instructions fault with #GP(0) in virtual-8086 mode below IOPL 3. */
export function v86IoplCheck(c: Cpu): void {
  if ((c.flagsVal & VM) !== 0 && (c.flagsVal & IOPL) !== IOPL) c.gp(0);
}

/** A LOCK-prefixed instruction: LOCK is IOPL-sensitive in virtual-8086 mode (80386
 *  Programmer's Reference Manual 15.4, "Additional Sensitive Instructions"). */
export function lockChecked(h: Handler): Handler {
  return (c, i) => {
    v86IoplCheck(c);
    h(c, i);
  };
}

/** IRET executed in virtual-8086 mode: at IOPL 3 a real-mode return that cannot change
 *  IOPL or VM. */
export function iretInV86(c: Cpu, op32: boolean): void {
  v86IoplCheck(c);
  const ip = op32 ? c.peek32(0) >>> 0 : c.peek16(0);
  const cs = op32 ? c.peek32(4) & 0xffff : c.peek16(2);
  const fl = op32 ? c.peek32(8) : c.peek16(4);
  if (ip > 0xffff) c.gp(0);
  c.addSp(op32 ? 12 : 6);
  loadSegV86(c, CS, cs);
  c.eip = ip;
  c.setFlags(fl, op32 ? 0x4dd5 | TF | IF | NT | RF : 0x4dd5 | TF | IF | NT);
}

/** IRET at CPL 0 whose 32-bit EFLAGS image has VM: pops EIP, CS, EFLAGS, ESP, SS, ES, DS,
 *  FS, GS and resumes the virtual-8086 program at CPL 3. */
export function iretToV86(c: Cpu): void {
  const eip = c.peek32(0) >>> 0;
  const cs = c.peek32(4);
  const fl = c.peek32(8);
  const esp = c.peek32(12);
  const ss = c.peek32(16), es = c.peek32(20), ds = c.peek32(24), fs = c.peek32(28), gs = c.peek32(32);
  if (eip > 0xffff) c.gp(0);
  c.setFlags(fl, 0x277fd5);
  enterV86(c, es, cs, ss, ds, fs, gs);
  c.regs[ESP] = esp;
  c.eip = eip;
}

/** Loads the six segment registers of a virtual-8086 task and drops to CPL 3 (IRET to
 *  V86, task switch to a TSS with VM); EFLAGS.VM is already set. */
export function enterV86(c: Cpu, es: number, cs: number, ss: number, ds: number, fs: number, gs: number): void {
  loadSegV86(c, ES, es);
  loadSegV86(c, CS, cs);
  loadSegV86(c, SS, ss);
  loadSegV86(c, DS, ds);
  loadSegV86(c, FS, fs);
  loadSegV86(c, GS, gs);
  c.setCpl(3);
}
