// The debug target: what a debugger (the GDB remote stub, later the built-in debugger)
// needs from a machine, and nothing more. The CPU/machine side implements it; the debug
// side drives it. DESIGN decision 8, "observers do not steer": nothing here may change what
// the guest does. Reading memory through this interface sets no Accessed/Dirty bit, fills
// no TLB entry and raises no fault; breakpoints and watchpoints never patch guest memory.
//
// emulator/debug/cpu-target.ts implements this over our Cpu (its observer hooks plus
// DebugPoints); a machine passes its run function so devices and time advance.
//
// What the CPU side must provide (the contract, precisely):
//
// Registers
//   readRegister(name) returns the architectural value as an unsigned 32-bit number
//   (segment registers: the 16-bit selector; eflags: the full 32-bit EFLAGS with lazy flags
//   materialised; eip: EIP, not CS.base+EIP). writeRegister(name, value) sets it:
//   - general registers, eip, eflags: plain assignment (eflags: reserved bits forced as the
//     CPU forces them; lazy flag state replaced).
//   - segment registers: in real mode (and v86) the selector is loaded and the base set to
//     selector << 4; in protected mode the descriptor is loaded from the GDT/LDT without
//     privilege checks. Return false when that is impossible (selector out of the table or
//     descriptor not present): the register is then unchanged.
//   - cr0/cr2/cr3: set as a MOV to CRn would (cr3 and paging changes flush the TLB).
//   Return true on success. The decoded-block cache must stay coherent.
//
// Memory
//   translateLinear(linear) walks segmentation-free LINEAR → PHYSICAL exactly as the CPU
//   would for a supervisor read (paging off: identity, A20 mask applied), but without
//   side effects: no A/D bits set, no TLB fill, no fault. It returns the physical address,
//   or -1 when the page (directory or table entry) is not present.
//   readPhysical(addr, dst) fills dst from physical memory starting at addr (RAM, ROM, and
//   memory-mapped regions such as the VGA window as the CPU would read them, but with no
//   device side effect); it returns false when any byte lies outside everything the bus
//   decodes. writePhysical(addr, src) stores bytes (RAM, and ROM too: a debugger may patch
//   ROM), invalidates decoded blocks of the pages it touches, and returns false (writing
//   nothing) when any byte lies outside memory. The debug side splits linear accesses at 4 KiB page
//   boundaries itself, so physical calls never cross a page boundary from a linear access.
//
// Run control
//   run(maxInstructions) executes up to maxInstructions guest instructions (interrupts are
//   delivered and devices advance exactly as without a debugger) and returns why it stopped
//   (see StopReason). Before EVERY instruction, the first one included, it checks the
//   breakpoints against the linear address CS.base+EIP of the instruction about to execute
//   and stops without executing it (`breakpoint`). After an instruction that read or wrote
//   a byte inside a watchpoint of a matching kind completes, it stops (`watchpoint`) with
//   EIP after it. (A REP string instruction may instead stop after the iteration that
//   accessed, EIP still at the REP and ECX updated, as a real CPU's data breakpoint does;
//   our CPU finishes the whole REP first.) If the guest stops for
//   good it returns `exited`, `triple-fault`, `failed`, or `halted` (HLT with IF=0 and no NMI
//   pending: nothing can wake it). Otherwise, after maxInstructions, it returns `budget`.
//   A caller that wants to continue past a breakpoint at the current EIP calls step() first.
//   step() executes exactly one instruction (an instruction that faults counts as executed:
//   EIP then points at the handler) and returns `step`, or a `watchpoint`/`exited`/
//   `triple-fault` reason if that happened during it. step() ignores breakpoints. While in
//   HLT, step()/run() advance time to the next interrupt as the machine would.
//   The stop reason objects may be reused by the target (the caller reads them before the
//   next call); run() itself must not allocate per instruction.
//
// Breakpoints and watchpoints
//   Breakpoints are keyed by linear address; `sw` (gdb Z0) and `hw` (gdb Z1) behave the same
//   (neither patches memory) and are reported with the kind that was inserted. Inserting the
//   same address twice is idempotent per kind. Watchpoints are keyed by (linear, length,
//   kind); a hit is any guest data access overlapping [addr, addr+len) of a matching kind
//   ('write' = writes, 'read' = reads, 'access' = either). Instruction fetches never trigger
//   watchpoints. Watchpoints cost nothing when none are set (DESIGN decision 8).

/** Registers the debugger can name; the first 16 are gdb's i386 general registers in gdb
 *  order, the control registers follow (served to gdb after gs). */
export const GDB_CORE_REGISTERS = [
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi',
  'eip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs',
] as const;
export const CONTROL_REGISTERS = ['cr0', 'cr2', 'cr3'] as const;

export type RegisterName = (typeof GDB_CORE_REGISTERS)[number] | (typeof CONTROL_REGISTERS)[number];

export type BreakpointKind = 'sw' | 'hw';
export type WatchKind = 'write' | 'read' | 'access';

export type StopReason =
  /** step() finished its one instruction. */
  | { kind: 'step' }
  /** run() used up its instruction budget; the guest is still running. */
  | { kind: 'budget' }
  /** About to execute the instruction at `address` (linear), a breakpoint of this type. */
  | { kind: 'breakpoint'; address: number; type: BreakpointKind }
  /** A data access hit a watchpoint. `address` is the first accessed byte inside the
   *  watched range; `watch` the watchpoint's own address. */
  | { kind: 'watchpoint'; type: WatchKind; address: number; watch: number }
  /** HLT with interrupts disabled: nothing can wake the CPU. */
  | { kind: 'halted' }
  /** The guest asked the machine to power off or exit (e.g. a debug exit port). */
  | { kind: 'exited'; code: number }
  /** Triple fault: the machine stopped (DESIGN decision 5). */
  | { kind: 'triple-fault'; message: string }
  /** The machine stopped for good for another reason (e.g. the BIOS found nothing to boot). */
  | { kind: 'failed'; message: string };

export interface DebugTarget {
  readRegister(name: RegisterName): number;
  writeRegister(name: RegisterName, value: number): boolean;
  /** CR0.PE = 0. (gdb then gets the i8086 architecture.) */
  isRealMode(): boolean;

  /** Linear → physical without side effects; -1 when not present. */
  translateLinear(linear: number): number;
  readPhysical(addr: number, dst: Uint8Array): boolean;
  writePhysical(addr: number, src: Uint8Array): boolean;

  step(): StopReason;
  run(maxInstructions: number): StopReason;

  addBreakpoint(linear: number, type: BreakpointKind): void;
  removeBreakpoint(linear: number, type: BreakpointKind): void;
  addWatchpoint(linear: number, length: number, type: WatchKind): void;
  removeWatchpoint(linear: number, length: number, type: WatchKind): void;
  /** Remove every breakpoint and watchpoint (gdb detach). */
  clearAllBreakpoints(): void;

  /** Optional: a few lines describing state gdb cannot show (segment bases and limits,
   *  GDTR/IDTR, LDTR/TR, CPL) for `monitor state`. */
  describeState?(): string;
}

const PAGE = 4096;

/**
 * Reads `length` bytes at a linear address through the side-effect-free page walk. Returns
 * the bytes, or fewer (possibly zero) when a page is not present or memory ends: the bytes
 * up to the first unreadable page.
 */
export function readLinear(t: DebugTarget, linear: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const lin = (linear + done) >>> 0;
    const chunk = Math.min(length - done, PAGE - (lin & (PAGE - 1)));
    const phys = t.translateLinear(lin);
    if (phys < 0) break;
    if (!t.readPhysical(phys, out.subarray(done, done + chunk))) break;
    done += chunk;
  }
  return done === length ? out : out.slice(0, done);
}

/** Writes bytes at a linear address; false (with nothing written) when any page is absent. */
export function writeLinear(t: DebugTarget, linear: number, data: Uint8Array): boolean {
  const parts: [number, number, number][] = [];
  let done = 0;
  while (done < data.length) {
    const lin = (linear + done) >>> 0;
    const chunk = Math.min(data.length - done, PAGE - (lin & (PAGE - 1)));
    const phys = t.translateLinear(lin);
    if (phys < 0) return false;
    parts.push([phys, done, chunk]);
    done += chunk;
  }
  for (const [phys, off, len] of parts) {
    if (!t.writePhysical(phys, data.subarray(off, off + len))) return false;
  }
  return true;
}

/** Reads physical memory; fewer bytes when memory ends (checked page by page). */
export function readPhysicalPartial(t: DebugTarget, addr: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const a = addr + done;
    const chunk = Math.min(length - done, PAGE - (a & (PAGE - 1)));
    if (!t.readPhysical(a, out.subarray(done, done + chunk))) break;
    done += chunk;
  }
  return done === length ? out : out.slice(0, done);
}
