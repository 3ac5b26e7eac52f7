// The CPU's connections to the rest of the machine (DESIGN decision 7): an I/O port bus and
// one interrupt-request line. The machine (emulator/machine.ts) implements them with its
// devices; tests implement them with a few lines.

/** Port I/O. Values are unsigned; reads of unanswered ports should return all ones. */
export interface IoBus {
  in8(port: number): number;
  in16(port: number): number;
  in32(port: number): number;
  out8(port: number, value: number): void;
  out16(port: number, value: number): void;
  out32(port: number, value: number): void;
}

/** The INTR line, as the 8259 PIC drives it. The CPU asks `hasInterrupt()` at instruction
 *  boundaries while IF=1; when it takes the interrupt it calls `acknowledge()` (the INTA
 *  cycle) and uses the returned vector (0-255). */
export interface InterruptLine {
  hasInterrupt(): boolean;
  acknowledge(): number;
}

/** An I/O bus where nothing answers: reads return all ones, writes vanish. */
export const NULL_IO: IoBus = {
  in8: () => 0xff,
  in16: () => 0xffff,
  in32: () => 0xffffffff,
  out8: () => {},
  out16: () => {},
  out32: () => {},
};

/** Observer hooks (DESIGN decision 8). They see what the guest does and never steer it.
 *  When none is attached the CPU runs its fast loop; attaching any selects a slower loop
 *  (or slow memory path) that calls them, so absent hooks cost nothing. */
export interface CpuHooks {
  /** Before each instruction (linear address of CS:EIP). Return true to stop `run()`
   *  before the instruction executes (reason 'hook'). */
  beforeInstruction?(linear: number): boolean | void;
  /** After each data access (not instruction fetch): kind 'r' or 'w', linear address,
   *  size in bytes, value. */
  memoryAccess?(kind: 'r' | 'w', linear: number, size: number, value: number): void;
  /** An interrupt or exception is being delivered. */
  interrupt?(vector: number, software: boolean, errorCode: number): void;
  /** After each port access: direction, port, size in bytes, value read or written. */
  portIo?(dir: 'in' | 'out', port: number, size: number, value: number): void;
}
