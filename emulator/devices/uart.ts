// A 16550A UART (COM1 at 3F8h/IRQ4, COM2 at 2F8h/IRQ3).
//
// Registers (offset from base; DLAB = LCR bit 7):
//   0  RBR (read) / THR (write) / DLL (DLAB=1)     4  MCR: DTR, RTS, OUT1, OUT2, LOOP
//   1  IER / DLM (DLAB=1)                          5  LSR: DR OE PE FE BI THRE TEMT FIFOERR
//   2  IIR (read) / FCR (write)                    6  MSR: deltas and CTS DSR RI DCD
//   3  LCR                                         7  SCR scratch
//
// Transmission is instantaneous in emulated time (as in QEMU): a byte written to THR goes
// to `sink` at once (or back to the receiver in loopback), THR and the shift register are
// empty again straight away, so LSR reads THRE|TEMT and a THRE interrupt becomes pending
// if enabled. Baud rate and line format are stored and reported but do not pace anything.
//
// Interrupts, by priority as IIR reports them: receiver line status (06h: OE/PE/FE/BI),
// received data available (04h: RBR full, or FIFO at its trigger level) and character
// timeout (0Ch: FIFO holds data below the trigger level and no more input is queued),
// THR empty (02h: cleared by reading IIR when it is the reported source, or by writing THR;
// set again when IER's THRE bit goes 0→1 with THR empty), modem status (00h). IIR bits 7-6
// are 11b with FIFOs enabled. The PC gates the IRQ line with MCR OUT2 (bit 3), as its
// serial cards do: the line is raised only while an interrupt is pending and OUT2 is set.
//
// Input: `receive(bytes)` queues host bytes; they enter the RBR/FIFO (16 bytes with FIFOs
// on, 1 without) as room appears, so host input is never lost to overruns. The modem
// inputs are CTS, DSR and DCD asserted (a connected null-modem), RI off; in loopback they
// follow RTS, DTR, OUT1 and OUT2.

import type { IoBus } from './io-bus';
import type { IrqSink } from './pic';

const FIFO_SIZE = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14];

export interface UartOptions {
  /** Receives each transmitted byte (not called in loopback mode). */
  sink?: (byte: number) => void;
}

export class Uart16550 {
  sink: ((byte: number) => void) | null;

  ier = 0;
  lcr = 0;
  mcr = 0;
  scr = 0;
  dll = 0x0c; // 9600 baud
  dlm = 0;
  fcr = 0;
  private lsrErrors = 0; // OE/PE/FE/BI bits pending report
  private msrDeltas = 0;
  private msrInputs = 0xb0; // DCD, DSR, CTS
  private thrEmpty = true;
  private thriPending = false; // THRE interrupt latch

  // Receive FIFO (ring buffer).
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  // Host input waiting for room in the FIFO (grows only when the host sends input).
  private input = new Uint8Array(256);
  private inHead = 0;
  private inCount = 0;

  private irqLevel = false;

  constructor(
    readonly base: number,
    readonly irqNumber: number,
    private readonly irq: IrqSink,
    bus?: IoBus,
    options: UartOptions = {},
  ) {
    this.sink = options.sink ?? null;
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register(`uart-${this.base.toString(16)}`, this.base, 8, {
      read8: (p) => this.read(p - this.base),
      write8: (p, v) => this.write(p - this.base, v),
    });
  }

  get fifoEnabled(): boolean {
    return (this.fcr & 1) !== 0;
  }

  get divisor(): number {
    return (this.dlm << 8) | this.dll || 0x10000;
  }

  /** Baud rate from the divisor latch (1.8432 MHz / 16 / divisor). */
  get baud(): number {
    return 115200 / this.divisor;
  }

  private get loopback(): boolean {
    return (this.mcr & 0x10) !== 0;
  }

  private get rxCapacity(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  /** Queue bytes from the host (keyboard, stdin, a test). */
  receive(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.pushInput(bytes[i] & 0xff);
    this.fillRx();
    this.update();
  }

  /** Bytes received (in the FIFO or queued) that the guest has not read yet. */
  get pendingInput(): number {
    return this.rxCount + this.inCount;
  }

  private pushInput(b: number): void {
    if (this.inCount === this.input.length) {
      const bigger = new Uint8Array(this.input.length * 2);
      for (let i = 0; i < this.inCount; i++) bigger[i] = this.input[(this.inHead + i) % this.input.length];
      this.input = bigger;
      this.inHead = 0;
    }
    this.input[(this.inHead + this.inCount) % this.input.length] = b;
    this.inCount++;
  }

  private fillRx(): void {
    while (this.inCount > 0 && this.rxCount < this.rxCapacity) {
      this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = this.input[this.inHead];
      this.rxCount++;
      this.inHead = (this.inHead + 1) % this.input.length;
      this.inCount--;
    }
  }

  /** A byte arriving from the line (loopback): overruns when there is no room. */
  private receiveFromLine(b: number): void {
    if (this.rxCount < this.rxCapacity) {
      this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = b;
      this.rxCount++;
    } else {
      this.lsrErrors |= 0x02; // overrun
    }
  }

  private readRbr(): number {
    if (this.rxCount === 0) return 0;
    const b = this.rx[this.rxHead];
    this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
    this.rxCount--;
    this.fillRx();
    return b;
  }

  private transmit(b: number): void {
    if (this.loopback) this.receiveFromLine(b);
    else this.sink?.(b);
    // Instantaneous: THR and the shift register are empty again.
    this.thrEmpty = true;
    this.thriPending = true;
  }

  private rxInterrupt(): number {
    if (this.rxCount === 0 || (this.ier & 1) === 0) return 0;
    if (!this.fifoEnabled) return 0x04;
    const trigger = TRIGGER_LEVELS[this.fcr >> 6];
    if (this.rxCount >= trigger) return 0x04;
    return this.inCount === 0 ? 0x0c : 0x04;
  }

  /** The interrupt identification code (IIR bits 3-0), 1 = none pending. */
  private interruptId(): number {
    if ((this.ier & 4) && (this.lsrErrors & 0x1e)) return 0x06;
    const rx = this.rxInterrupt();
    if (rx) return rx;
    if ((this.ier & 2) && this.thriPending && this.thrEmpty) return 0x02;
    if ((this.ier & 8) && (this.msrDeltas & 0x0f)) return 0x00;
    return 0x01;
  }

  private modemInputs(): number {
    if (!this.loopback) return this.msrInputs;
    const m = this.mcr;
    return ((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4);
  }

  private setModemInputs(newInputs: number, old: number): void {
    const changed = newInputs ^ old;
    if (changed & 0x10) this.msrDeltas |= 1;
    if (changed & 0x20) this.msrDeltas |= 2;
    if (changed & 0x40 && !(newInputs & 0x40)) this.msrDeltas |= 4; // trailing edge of RI
    if (changed & 0x80) this.msrDeltas |= 8;
  }

  /** Host side: set the modem status inputs (bits as MSR 4-7: CTS, DSR, RI, DCD). */
  setModemStatus(bits: number): void {
    const old = this.modemInputs();
    this.msrInputs = bits & 0xf0;
    if (!this.loopback) this.setModemInputs(this.msrInputs, old);
    this.update();
  }

  private dropLine(): void {
    if (!this.irqLevel) return;
    this.irqLevel = false;
    this.irq.lowerIrq(this.irqNumber);
  }

  private update(): void {
    const level = this.interruptId() !== 0x01 && (this.mcr & 0x08) !== 0;
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    if (level) this.irq.raiseIrq(this.irqNumber);
    else this.irq.lowerIrq(this.irqNumber);
  }

  read(reg: number): number {
    let v: number;
    switch (reg) {
      case 0:
        if (this.lcr & 0x80) v = this.dll;
        else {
          v = this.readRbr();
          // The next byte "arrives" after this read: drop the line so the edge-triggered
          // PIC sees a fresh request for it.
          this.dropLine();
        }
        break;
      case 1:
        v = this.lcr & 0x80 ? this.dlm : this.ier;
        break;
      case 2: {
        const id = this.interruptId();
        if (id === 0x02) this.thriPending = false; // reading IIR clears a THRE interrupt
        v = id | (this.fifoEnabled ? 0xc0 : 0);
        break;
      }
      case 3:
        v = this.lcr;
        break;
      case 4:
        v = this.mcr;
        break;
      case 5: {
        v =
          (this.rxCount > 0 ? 0x01 : 0) |
          this.lsrErrors |
          (this.thrEmpty ? 0x60 : 0) |
          (this.fifoEnabled && this.lsrErrors & 0x1e ? 0x80 : 0);
        this.lsrErrors = 0;
        break;
      }
      case 6:
        v = this.modemInputs() | this.msrDeltas;
        this.msrDeltas = 0;
        break;
      default:
        v = this.scr;
    }
    this.update();
    return v;
  }

  write(reg: number, v: number): void {
    switch (reg) {
      case 0:
        if (this.lcr & 0x80) this.dll = v;
        else {
          this.thrEmpty = false;
          this.thriPending = false;
          this.update(); // THRE clears: the line may drop before the byte is sent
          this.transmit(v);
        }
        break;
      case 1:
        if (this.lcr & 0x80) this.dlm = v;
        else {
          const old = this.ier;
          this.ier = v & 0x0f;
          // Enabling the THRE interrupt with THR empty raises it (16550 behaviour drivers rely on).
          if ((v & 2) && !(old & 2) && this.thrEmpty) this.thriPending = true;
        }
        break;
      case 2:
        if ((v & 1) !== (this.fcr & 1)) {
          this.rxCount = 0; // switching FIFO mode clears the FIFOs
          this.rxHead = 0;
        }
        if (v & 2) {
          this.rxCount = 0;
          this.rxHead = 0;
        }
        this.fcr = v & 0xc9;
        this.fillRx();
        break;
      case 3:
        this.lcr = v;
        break;
      case 4: {
        const old = this.modemInputs();
        this.mcr = v & 0x1f;
        this.setModemInputs(this.modemInputs(), old);
        break;
      }
      case 5:
      case 6:
        break; // LSR and MSR are read-only (factory test writes ignored)
      default:
        this.scr = v;
    }
    this.update();
  }
}
