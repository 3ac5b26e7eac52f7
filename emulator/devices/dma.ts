// The two 8237A DMA controllers of the AT and their page registers.
//
// DMA1 (channels 0-3, byte transfers): ports 00h-0Fh. DMA2 (channels 4-7, word
// transfers; channel 4 is the cascade): ports C0h-DFh, one register every other port.
// Page registers: 87h ch0, 83h ch1, 81h ch2, 82h ch3, 8Fh ch4, 8Bh ch5, 89h ch6, 8Ah ch7;
// the spare page registers 84h-86h, 88h, 8Ch-8Eh are plain storage (80h is the POST-code
// port, see debug-ports.ts).
//
// Registers per controller: base/current address and count (16-bit through the byte
// pointer flip-flop), status (read clears the terminal-count bits), command, request,
// single mask (0Ah), mode (0Bh: bits 3-2 = 01 write to memory, 10 read from memory, 00
// verify; bit 4 auto-initialise; bit 5 address decrement), clear flip-flop (0Ch), master
// clear (0Dh), clear masks (0Eh), write all masks (0Fh). Reset masks every channel.
//
// Devices transfer with `writeToMemory` (device → memory, "write" mode) and
// `readFromMemory` (memory → device, "read" mode). The address counter wraps inside its
// 64 KB page (128 KB for word channels), as the real chip does; at terminal count the
// status bit is set and the channel is masked unless auto-initialise reloads it. A masked
// channel or a disabled controller transfers nothing.

import type { IoBus } from './io-bus';

/** Physical memory as the machine supplies it to DMA (byte accessors, physical addresses). */
export interface PhysicalMemory {
  read8(addr: number): number;
  write8(addr: number, value: number): void;
}

export const DMA_VERIFY = 0;
export const DMA_WRITE = 1; // device → memory
export const DMA_READ = 2; // memory → device

class DmaChannel {
  baseAddress = 0;
  currentAddress = 0;
  baseCount = 0;
  currentCount = 0;
  mode = 0;
  page = 0;

  get transferType(): number {
    return (this.mode >> 2) & 3;
  }
}

class Dma8237 {
  readonly channels = [new DmaChannel(), new DmaChannel(), new DmaChannel(), new DmaChannel()];
  flipFlop = false;
  mask = 0x0f;
  status = 0;
  command = 0;
  request = 0;
  temp = 0;

  reset(): void {
    this.flipFlop = false;
    this.mask = 0x0f;
    this.status = 0;
    this.command = 0;
    this.request = 0;
  }

  read(reg: number): number {
    if (reg < 8) {
      const ch = this.channels[reg >> 1];
      const v = reg & 1 ? ch.currentCount : ch.currentAddress;
      const b = this.flipFlop ? (v >> 8) & 0xff : v & 0xff;
      this.flipFlop = !this.flipFlop;
      return b;
    }
    switch (reg) {
      case 8: {
        const v = this.status | (this.request << 4);
        this.status = 0;
        return v;
      }
      case 0x0d:
        return this.temp;
      case 0x0f:
        return this.mask | 0xf0;
      default:
        return 0xff;
    }
  }

  write(reg: number, v: number): void {
    if (reg < 8) {
      const ch = this.channels[reg >> 1];
      const hi = this.flipFlop;
      this.flipFlop = !this.flipFlop;
      if (reg & 1) {
        ch.baseCount = hi ? (ch.baseCount & 0xff) | (v << 8) : (ch.baseCount & 0xff00) | v;
        ch.currentCount = ch.baseCount;
      } else {
        ch.baseAddress = hi ? (ch.baseAddress & 0xff) | (v << 8) : (ch.baseAddress & 0xff00) | v;
        ch.currentAddress = ch.baseAddress;
      }
      return;
    }
    switch (reg) {
      case 8:
        this.command = v;
        break;
      case 9:
        if (v & 4) this.request |= 1 << (v & 3);
        else this.request &= ~(1 << (v & 3));
        break;
      case 0x0a:
        if (v & 4) this.mask |= 1 << (v & 3);
        else this.mask &= ~(1 << (v & 3));
        break;
      case 0x0b:
        this.channels[v & 3].mode = v & 0xfc;
        break;
      case 0x0c:
        this.flipFlop = false;
        break;
      case 0x0d:
        this.reset();
        break;
      case 0x0e:
        this.mask = 0;
        break;
      case 0x0f:
        this.mask = v & 0x0f;
        break;
      default:
        break;
    }
  }
}

const PAGE_PORTS: Record<number, number> = { 0x87: 0, 0x83: 1, 0x81: 2, 0x82: 3, 0x8f: 4, 0x8b: 5, 0x89: 6, 0x8a: 7 };

export class DmaController {
  readonly dma1 = new Dma8237();
  readonly dma2 = new Dma8237();
  /** Spare page registers (storage only), indexed by port - 0x80. */
  private readonly spare = new Uint8Array(16);

  constructor(
    public memory: PhysicalMemory,
    bus?: IoBus,
  ) {
    if (bus) this.attach(bus);
  }

  attach(bus: IoBus): void {
    bus.register('dma1', 0x00, 16, { read8: (p) => this.dma1.read(p), write8: (p, v) => this.dma1.write(p, v) });
    bus.register('dma2', 0xc0, 32, {
      read8: (p) => (p & 1 ? 0xff : this.dma2.read((p - 0xc0) >> 1)),
      write8: (p, v) => {
        if ((p & 1) === 0) this.dma2.write((p - 0xc0) >> 1, v);
      },
    });
    bus.register('dma-page', 0x81, 15, { read8: (p) => this.readPage(p), write8: (p, v) => this.writePage(p, v) });
  }

  private channel(n: number): DmaChannel {
    return n < 4 ? this.dma1.channels[n] : this.dma2.channels[n - 4];
  }

  private readPage(port: number): number {
    const ch = PAGE_PORTS[port];
    return ch === undefined ? this.spare[port - 0x80] : this.channel(ch).page;
  }

  private writePage(port: number, v: number): void {
    const ch = PAGE_PORTS[port];
    if (ch === undefined) this.spare[port - 0x80] = v;
    else this.channel(ch).page = v;
  }

  /** The programmed transfer type of channel `n`: DMA_VERIFY, DMA_WRITE or DMA_READ (3 = illegal). */
  transferType(n: number): number {
    return this.channel(n).transferType;
  }

  /** Whether channel `n` would transfer now (unmasked, controller enabled). */
  ready(n: number): boolean {
    const c = n < 4 ? this.dma1 : this.dma2;
    return (c.mask & (1 << (n & 3))) === 0 && (c.command & 4) === 0;
  }

  /** Bytes channel `n` can still transfer before terminal count. */
  remaining(n: number): number {
    const ch = this.channel(n);
    return (ch.currentCount + 1) * (n < 4 ? 1 : 2);
  }

  /** Terminal count was reached on channel `n` since the status register was last read. */
  terminalCount(n: number): boolean {
    const c = n < 4 ? this.dma1 : this.dma2;
    return (c.status & (1 << (n & 3))) !== 0;
  }

  /** Current physical address of channel `n`. */
  address(n: number): number {
    const ch = this.channel(n);
    return n < 4 ? (ch.page << 16) | ch.currentAddress : ((ch.page & 0xfe) << 16) | (ch.currentAddress << 1);
  }

  /**
   * Device → memory on channel `n`: move up to `length` bytes of `src` from `offset`.
   * Returns the bytes moved; stops at terminal count. In verify mode nothing is written
   * but the counters advance.
   */
  writeToMemory(n: number, src: Uint8Array, offset: number, length: number): number {
    return this.transfer(n, src, offset, length, true);
  }

  /** Memory → device on channel `n`: fill `dst` from `offset` with up to `length` bytes. */
  readFromMemory(n: number, dst: Uint8Array, offset: number, length: number): number {
    return this.transfer(n, dst, offset, length, false);
  }

  private transfer(n: number, buf: Uint8Array, offset: number, length: number, toMemory: boolean): number {
    if (!this.ready(n)) return 0;
    const ctl = n < 4 ? this.dma1 : this.dma2;
    const ch = this.channel(n);
    const type = ch.transferType;
    const word = n >= 4;
    const step = ch.mode & 0x20 ? -1 : 1;
    const mem = this.memory;
    let done = 0;
    while (done < length) {
      if (word) {
        const addr = ((ch.page & 0xfe) << 16) | (ch.currentAddress << 1);
        for (let k = 0; k < 2 && done < length; k++, done++) {
          if (toMemory) {
            if (type === DMA_WRITE) mem.write8(addr + k, buf[offset + done]);
          } else buf[offset + done] = type === DMA_READ ? mem.read8(addr + k) : 0;
        }
      } else {
        const addr = (ch.page << 16) | ch.currentAddress;
        if (toMemory) {
          if (type === DMA_WRITE) mem.write8(addr, buf[offset + done]);
        } else buf[offset + done] = type === DMA_READ ? mem.read8(addr) : 0;
        done++;
      }
      ch.currentAddress = (ch.currentAddress + step) & 0xffff;
      ch.currentCount = (ch.currentCount - 1) & 0xffff;
      if (ch.currentCount === 0xffff) {
        ctl.status |= 1 << (n & 3);
        if (ch.mode & 0x10) {
          ch.currentAddress = ch.baseAddress;
          ch.currentCount = ch.baseCount;
        } else {
          ctl.mask |= 1 << (n & 3);
        }
        break;
      }
    }
    return done;
  }
}
