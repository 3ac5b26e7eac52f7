// The 8259A programmable interrupt controller pair of the PC/AT: master at 20h/21h (IRQ 0-7),
// slave at A0h/A1h (IRQ 8-15) cascaded on the master's IR2. It is the only path from
// devices to the CPU (DESIGN decision 7): devices call raiseIrq/lowerIrq, the CPU asks
// hasInterrupt() at instruction boundaries (when IF=1) and calls acknowledge() to run the
// INTA sequence, which returns the vector.
//
// Behaviour (from the 8259A data sheet):
// - ICW1 (even port, bit 4) starts initialisation: clears IMR and ISR, resets the edge
//   detectors (IRR), priority back to IR0 highest, special mask off, reads select IRR.
//   Bit 0 IC4 (ICW4 follows), bit 1 SNGL (no ICW3), bit 3 LTIM (level-triggered inputs).
//   Then ICW2 (vector base, bits 7-3), ICW3 if cascaded, ICW4 if IC4 (bit 1 AEOI, bit 4 SFNM).
// - OCW1 (odd port) is the mask register; reading the odd port returns it.
// - OCW2: non-specific EOI (0x20), specific EOI (0x60|n), rotate on non-specific EOI (0xA0),
//   rotate on specific EOI (0xE0|n), set priority (0xC0|n), rotate in AEOI set/clear (0x80/0x00).
// - OCW3: read IRR (0x0A) / ISR (0x0B) on the even port, poll (bit 2), special mask mode
//   set/reset (0x68/0x48).
// - Inputs are edge-triggered by default, as on the AT's ISA bus: a rising edge sets the
//   request in IRR; a line held high does not request again after it is acknowledged (it
//   must go low and high again). As the data sheet requires, the line must stay high until
//   INTA: a request whose line falls first is withdrawn (IRR cleared), so a device raises
//   its line and lowers it when serviced (e.g. when the guest reads its status), and to
//   signal a new event while the line is high it lowers and raises it again. In level
//   mode (ICW1 LTIM) IRR follows the line and a held line requests again after EOI.
// - acknowledge(): the highest-priority unmasked request that beats everything in service
//   moves from IRR to ISR (not with AEOI) and its vector is returned. With no request left
//   (it went away) the chip answers a spurious IRQ7 vector without setting ISR; a spurious
//   request on the slave still sets the master's ISR bit 2, as real hardware does.
// - The slave's INT output drives the master's IR2 as a level.
// - raiseIrq(2) is routed to IRQ9, as the AT's ISA bus wires its IRQ2 pin.

export interface IrqSink {
  raiseIrq(irq: number): void;
  lowerIrq(irq: number): void;
}

import type { IoBus } from './io-bus';

/** One 8259A chip. Use PicPair for the PC's master/slave pair. */
export class Pic8259 {
  irr = 0;
  isr = 0;
  imr = 0;
  /** Current levels of the eight input lines. */
  lines = 0;
  vectorBase = 0;
  icw1 = 0;
  icw3 = 0;
  icw4 = 0;
  /** Which initialisation word comes next on the odd port: 0 = none (OCW1), else 2, 3 or 4. */
  initStep = 0;
  readIsr = false;
  pollNext = false;
  specialMask = false;
  rotateInAutoEoi = false;
  /** The IR line with the lowest priority (7 after initialisation: IR0 highest). */
  lowestPriority = 7;

  constructor(readonly isMaster: boolean) {}

  get levelTriggered(): boolean {
    return (this.icw1 & 0x08) !== 0;
  }

  get autoEoi(): boolean {
    return (this.icw4 & 0x02) !== 0;
  }

  get specialFullyNested(): boolean {
    return (this.icw4 & 0x10) !== 0;
  }

  /** Priority rank of a line: 0 is the highest. */
  private rank(irq: number): number {
    return (irq - this.lowestPriority - 1) & 7;
  }

  /** The line with the highest priority among the set bits of `bits`, or -1. */
  highest(bits: number): number {
    if ((bits & 0xff) === 0) return -1;
    for (let i = 1; i <= 8; i++) {
      const irq = (this.lowestPriority + i) & 7;
      if (bits & (1 << irq)) return irq;
    }
    return -1;
  }

  /** The request the chip would deliver now, or -1 (its INT output is high iff >= 0). */
  pending(): number {
    const req = this.irr & ~this.imr & 0xff;
    if (req === 0) return -1;
    const irq = this.highest(req);
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.isMaster && this.specialFullyNested && (this.icw3 & (1 << irq)) !== 0) inService &= ~(1 << irq);
    const top = this.highest(inService);
    if (top >= 0 && this.rank(top) <= this.rank(irq)) return -1;
    return irq;
  }

  setLine(line: number, level: boolean): void {
    const bit = 1 << line;
    if (level) {
      if ((this.lines & bit) === 0) {
        this.lines |= bit;
        this.irr |= bit; // rising edge (or level) latches the request
      }
    } else {
      this.lines &= ~bit;
      this.irr &= ~bit; // the request is withdrawn
    }
  }

  /** INTA for `irq` (already chosen by pending()): move it from IRR to ISR. */
  acceptIrq(irq: number): void {
    const bit = 1 << irq;
    this.irr &= ~bit;
    if (this.levelTriggered) this.irr |= this.lines & bit; // a held level requests again
    if (this.autoEoi) {
      if (this.rotateInAutoEoi) this.lowestPriority = irq;
    } else {
      this.isr |= bit;
    }
  }

  /** Non-specific EOI: clear the highest-priority in-service bit; returns it or -1. */
  private nonSpecificEoi(): number {
    const irq = this.highest(this.isr);
    if (irq >= 0) this.isr &= ~(1 << irq);
    return irq;
  }

  writeCommand(v: number): void {
    if (v & 0x10) {
      // ICW1
      this.icw1 = v;
      this.imr = 0;
      this.isr = 0;
      this.irr = this.levelTriggered ? this.lines : 0;
      this.lowestPriority = 7;
      this.specialMask = false;
      this.readIsr = false;
      this.pollNext = false;
      this.rotateInAutoEoi = false;
      if ((v & 0x01) === 0) this.icw4 = 0;
      this.initStep = 2;
      return;
    }
    if (v & 0x08) {
      // OCW3
      if (v & 0x04) this.pollNext = true;
      if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
      if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
      return;
    }
    // OCW2
    const level = v & 7;
    switch (v >> 5) {
      case 1: // non-specific EOI
        this.nonSpecificEoi();
        break;
      case 3: // specific EOI
        this.isr &= ~(1 << level);
        break;
      case 5: {
        // rotate on non-specific EOI
        const irq = this.nonSpecificEoi();
        if (irq >= 0) this.lowestPriority = irq;
        break;
      }
      case 4:
        this.rotateInAutoEoi = true;
        break;
      case 0:
        this.rotateInAutoEoi = false;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.lowestPriority = level;
        break;
      case 6: // set priority
        this.lowestPriority = level;
        break;
      default: // 2: no operation
        break;
    }
  }

  writeData(v: number): void {
    switch (this.initStep) {
      case 2:
        this.vectorBase = v & 0xf8;
        if ((this.icw1 & 0x02) === 0) this.initStep = 3;
        else this.initStep = this.icw1 & 0x01 ? 4 : 0;
        return;
      case 3:
        this.icw3 = v;
        this.initStep = this.icw1 & 0x01 ? 4 : 0;
        return;
      case 4:
        this.icw4 = v;
        this.initStep = 0;
        return;
      default:
        this.imr = v;
    }
  }

  readData(): number {
    return this.imr;
  }
}

export class PicPair implements IrqSink {
  readonly master = new Pic8259(true);
  readonly slave = new Pic8259(false);
  private intr = false;

  constructor(bus?: IoBus) {
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('pic-master', 0x20, 2, {
      read8: (p) => this.readPort(this.master, p),
      write8: (p, v) => this.writePort(this.master, p, v),
    });
    bus.register('pic-slave', 0xa0, 2, {
      read8: (p) => this.readPort(this.slave, p),
      write8: (p, v) => this.writePort(this.slave, p, v),
    });
  }

  raiseIrq(irq: number): void {
    if (irq === 2) irq = 9;
    if (irq < 8) this.master.setLine(irq, true);
    else this.slave.setLine(irq - 8, true);
    this.update();
  }

  lowerIrq(irq: number): void {
    if (irq === 2) irq = 9;
    if (irq < 8) this.master.setLine(irq, false);
    else this.slave.setLine(irq - 8, false);
    this.update();
  }

  /** True when the master's INT output is asserted (the CPU takes it if IF=1). */
  hasInterrupt(): boolean {
    return this.intr;
  }

  /** The INTA sequence: returns the vector and updates IRR/ISR on both chips. */
  acknowledge(): number {
    const m = this.master;
    const irq = m.pending();
    if (irq < 0) {
      this.update();
      return m.vectorBase | 7; // spurious IRQ7
    }
    m.acceptIrq(irq);
    let vector: number;
    if ((m.icw1 & 0x02) === 0 && (m.icw3 & (1 << irq)) !== 0) {
      // Cascade: the slave whose ID matches supplies the vector.
      const s = this.slave;
      if (irq !== 2 || (s.icw3 & 7) !== 2) {
        vector = 0xff; // no slave answers: the data bus floats
      } else {
        const sirq = s.pending();
        if (sirq < 0) {
          vector = s.vectorBase | 7; // spurious IRQ15
        } else {
          s.acceptIrq(sirq);
          vector = s.vectorBase + sirq;
        }
      }
    } else {
      vector = m.vectorBase + irq;
    }
    this.update();
    return vector;
  }

  /** Recompute the slave→IR2 cascade level and the INT output. */
  private update(): void {
    const slaveInt = this.slave.pending() >= 0;
    const m = this.master;
    // IR2 follows the slave's INT as a level, whatever the master's trigger mode.
    if (slaveInt) {
      m.lines |= 4;
      m.irr |= 4;
    } else {
      m.lines &= ~4;
      m.irr &= ~4;
    }
    this.intr = m.pending() >= 0;
  }

  private readPort(chip: Pic8259, port: number): number {
    if (port & 1) return chip.readData();
    if (chip.pollNext) {
      chip.pollNext = false;
      const irq = chip.pending();
      if (irq < 0) return 0;
      chip.acceptIrq(irq);
      this.update();
      return 0x80 | irq;
    }
    return chip.readIsr ? chip.isr : chip.irr;
  }

  private writePort(chip: Pic8259, port: number, v: number): void {
    if (port & 1) chip.writeData(v);
    else chip.writeCommand(v);
    this.update();
  }
}
