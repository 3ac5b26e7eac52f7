// Debug exceptions beyond the breakpoint match itself (Intel 80386 Programmer's Reference
// Manual, chapter 12): the DR6 status bits, DR7.GD (general detect: the next MOV to or
// from a debug register is a #DB fault with DR6.BD, and GD is cleared so the handler can
// use them), the TSS T bit (a #DB trap with DR6.BT once a task switch to that task is
// complete), and RF (set in the EFLAGS image of every fault, so that IRET to the faulting
// instruction does not hit its instruction breakpoint again; it lasts one instruction).
// The processor never clears DR6 bits (12.2.3): the handler does.

import type { Cpu } from './cpu';
import { DB } from './consts';

/** DR6: breakpoint conditions B0-B3, then BD, BS, BT. */
export const DR6_BD = 0x2000, DR6_BS = 0x4000, DR6_BT = 0x8000;
/** DR7.GD: general detect. */
export const DR7_GD = 0x2000;
/** Offset of the T (debug trap) bit in a 32-bit TSS. */
export const TSS_TRAP_WORD = 0x64;

/** MOV to or from a debug register with DR7.GD set: #DB fault with BD. */
export function checkGeneralDetect(c: Cpu): void {
  if ((c.dr[7] & DR7_GD) === 0) return;
  c.dr[6] |= DR6_BD;
  c.dr[7] &= ~DR7_GD;
  c.fault(DB);
}

/** A task switch loaded a 32-bit TSS whose T bit is set: ask for the #DB trap after the
 *  instruction (or event) that switched, before the new task's first instruction. */
export function noteTaskTrap(c: Cpu, tssBase: number): void {
  if (c.sysRead16((tssBase + TSS_TRAP_WORD) | 0) & 1) {
    c.taskTrap = true;
    c.blockBreak = true;
  }
}
