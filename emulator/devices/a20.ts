// The A20 gate and the CPU reset line, shared by port 92h ("fast A20", PS/2 system control
// port A) and the 8042 keyboard controller's output port. A20 is enabled when either
// source enables it. The machine sets `onA20Change` (to mask address bit 20) and `onReset`
// (to reset the CPU); both are called synchronously from the port write that causes them.
// A20 is disabled at power-on, as on a PC.

import type { IoBus } from './io-bus';

export class A20Gate {
  onA20Change: ((enabled: boolean) => void) | null = null;
  onReset: (() => void) | null = null;
  private fast = false;
  private kbc = false;
  /** Number of reset requests seen (for tests and reports). */
  resets = 0;

  get enabled(): boolean {
    return this.fast || this.kbc;
  }

  get fastEnabled(): boolean {
    return this.fast;
  }

  setFast(on: boolean): void {
    const before = this.enabled;
    this.fast = on;
    if (this.enabled !== before) this.onA20Change?.(this.enabled);
  }

  setKbc(on: boolean): void {
    const before = this.enabled;
    this.kbc = on;
    if (this.enabled !== before) this.onA20Change?.(this.enabled);
  }

  requestReset(): void {
    this.resets++;
    this.onReset?.();
  }
}

/** Port 92h: bit 1 = fast A20, bit 0 = fast reset (a 0→1 write resets the CPU). */
export class Port92 {
  private value = 0;

  constructor(
    private readonly gate: A20Gate,
    bus?: IoBus,
  ) {
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('port92', 0x92, 1, {
      read8: () => (this.value & ~3) | (this.gate.fastEnabled ? 2 : 0),
      write8: (_p, v) => this.write(v),
    });
  }

  write(v: number): void {
    const old = this.value;
    this.value = v & 0xfe; // bit 0 reads back 0 once the reset has happened
    this.gate.setFast((v & 2) !== 0);
    if ((v & 1) && !(old & 1)) this.gate.requestReset();
  }
}
