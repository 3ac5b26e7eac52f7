// The I/O bus (DESIGN decision 7): devices register the ports they answer; the CPU's
// IN/OUT/INS/OUTS call in8/in16/in32 and out8/out16/out32.
//
// Lookup is by a 65536-entry table of registration numbers (a Uint16Array: a new bus is one
// zeroed 128 KB allocation, where seven 65536-entry arrays of closures took half the time a
// Machine took to build) and, per registration, its handlers; registration 0 is "nobody".
// An access is two array reads and one call; nothing is allocated per access. A 16- or
// 32-bit access to a port whose device only has byte handlers is split into byte accesses at
// consecutive ports (low byte first), as the PC's ISA bus does; a 32-bit access to a device
// with 16-bit handlers becomes two 16-bit accesses. Ports nobody answers read all ones (0xFF,
// 0xFFFF, 0xFFFFFFFF) and ignore writes.
//
// Observers (DESIGN decision 8): `setObserver(o)` swaps the six entry points for observed
// versions; `setObserver(null)` swaps the plain ones back, so with no observer the access
// path has no extra test at all. Observers see every access after it happened and cannot
// change its value.

export type PortReader = (port: number) => number;
export type PortWriter = (port: number, value: number) => void;

export interface PortHandlers {
  read8?: PortReader;
  write8?: PortWriter;
  read16?: PortReader;
  write16?: PortWriter;
  read32?: PortReader;
  write32?: PortWriter;
}

/** Watches port I/O. `size` is 1, 2 or 4; `value` is what was read or written. */
export interface IoObserver {
  onPortRead?(port: number, size: 1 | 2 | 4, value: number): void;
  onPortWrite?(port: number, size: 1 | 2 | 4, value: number): void;
}

const PORTS = 0x10000;

const unclaimedRead8: PortReader = () => 0xff;
const ignoreWrite: PortWriter = () => {};

export class IoBus {
  /** Per port: the registration answering it (0: none). */
  private readonly slot = new Uint16Array(PORTS);
  // Per registration, its handlers; wide ones null when they are composed from narrower.
  private readonly r8: PortReader[] = [unclaimedRead8];
  private readonly w8: PortWriter[] = [ignoreWrite];
  private readonly r16: (PortReader | null)[] = [null];
  private readonly w16: (PortWriter | null)[] = [null];
  private readonly r32: (PortReader | null)[] = [null];
  private readonly w32: (PortWriter | null)[] = [null];
  /** Owner name per registration, for error messages and `owner()`. */
  private readonly owners: (string | null)[] = [null];

  private observer: IoObserver | null = null;

  // The entry points the CPU calls. Plain versions unless an observer is attached.
  // They are bound once here, so `const inb = bus.in8` works too.
  private readonly plain = {
    in8: this.plainIn8.bind(this),
    in16: this.plainIn16.bind(this),
    in32: this.plainIn32.bind(this),
    out8: this.plainOut8.bind(this),
    out16: this.plainOut16.bind(this),
    out32: this.plainOut32.bind(this),
  };
  private readonly observed = {
    in8: this.observedIn8.bind(this),
    in16: this.observedIn16.bind(this),
    in32: this.observedIn32.bind(this),
    out8: this.observedOut8.bind(this),
    out16: this.observedOut16.bind(this),
    out32: this.observedOut32.bind(this),
  };
  in8: (port: number) => number = this.plain.in8;
  in16: (port: number) => number = this.plain.in16;
  in32: (port: number) => number = this.plain.in32;
  out8: (port: number, value: number) => void = this.plain.out8;
  out16: (port: number, value: number) => void = this.plain.out16;
  out32: (port: number, value: number) => void = this.plain.out32;

  /**
   * Claim `count` consecutive ports starting at `first` for device `name`. Every port in the
   * range gets the same handlers (they receive the port number). Claiming a port that
   * another device already owns is a wiring error and throws.
   */
  register(name: string, first: number, count: number, handlers: PortHandlers): void {
    for (let p = first; p < first + count; p++) {
      if (p < 0 || p >= PORTS) throw new Error(`${name}: port ${p} out of range`);
      const prev = this.slot[p];
      if (prev !== 0) throw new Error(`${name}: port 0x${p.toString(16)} already claimed by ${this.owners[prev]}`);
    }
    if (count <= 0) return;
    const s = this.owners.length;
    // A registration claims at least one port: only 65,536 one-port ones could get here.
    if (s >= PORTS) throw new Error(`${name}: more than ${PORTS - 1} port registrations`);
    this.owners.push(name);
    this.r8.push(handlers.read8 ?? unclaimedRead8);
    this.w8.push(handlers.write8 ?? ignoreWrite);
    this.r16.push(handlers.read16 ?? null);
    this.w16.push(handlers.write16 ?? null);
    this.r32.push(handlers.read32 ?? null);
    this.w32.push(handlers.write32 ?? null);
    this.slot.fill(s, first, first + count);
  }

  /** Name of the device answering `port`, or null. */
  owner(port: number): string | null {
    return this.owners[this.slot[port & 0xffff]];
  }

  setObserver(observer: IoObserver | null): void {
    this.observer = observer;
    const e = observer === null ? this.plain : this.observed;
    this.in8 = e.in8;
    this.in16 = e.in16;
    this.in32 = e.in32;
    this.out8 = e.out8;
    this.out16 = e.out16;
    this.out32 = e.out32;
  }

  private plainIn8(port: number): number {
    port &= 0xffff;
    return this.r8[this.slot[port]](port) & 0xff;
  }

  private plainIn16(port: number): number {
    port &= 0xffff;
    const f = this.r16[this.slot[port]];
    if (f !== null) return f(port) & 0xffff;
    const hi = (port + 1) & 0xffff;
    return (this.r8[this.slot[port]](port) & 0xff) | ((this.r8[this.slot[hi]](hi) & 0xff) << 8);
  }

  private plainIn32(port: number): number {
    port &= 0xffff;
    const f = this.r32[this.slot[port]];
    if (f !== null) return f(port) >>> 0;
    const hi = (port + 2) & 0xffff;
    return (this.plainIn16(port) | (this.plainIn16(hi) << 16)) >>> 0;
  }

  private plainOut8(port: number, value: number): void {
    port &= 0xffff;
    this.w8[this.slot[port]](port, value & 0xff);
  }

  private plainOut16(port: number, value: number): void {
    port &= 0xffff;
    const f = this.w16[this.slot[port]];
    if (f !== null) {
      f(port, value & 0xffff);
      return;
    }
    const hi = (port + 1) & 0xffff;
    this.w8[this.slot[port]](port, value & 0xff);
    this.w8[this.slot[hi]](hi, (value >>> 8) & 0xff);
  }

  private plainOut32(port: number, value: number): void {
    port &= 0xffff;
    const f = this.w32[this.slot[port]];
    if (f !== null) {
      f(port, value >>> 0);
      return;
    }
    this.plainOut16(port, value & 0xffff);
    this.plainOut16((port + 2) & 0xffff, value >>> 16);
  }

  private observedIn8(port: number): number {
    const v = this.plainIn8(port);
    this.observer?.onPortRead?.(port & 0xffff, 1, v);
    return v;
  }

  private observedIn16(port: number): number {
    const v = this.plainIn16(port);
    this.observer?.onPortRead?.(port & 0xffff, 2, v);
    return v;
  }

  private observedIn32(port: number): number {
    const v = this.plainIn32(port);
    this.observer?.onPortRead?.(port & 0xffff, 4, v);
    return v;
  }

  private observedOut8(port: number, value: number): void {
    this.plainOut8(port, value);
    this.observer?.onPortWrite?.(port & 0xffff, 1, value & 0xff);
  }

  private observedOut16(port: number, value: number): void {
    this.plainOut16(port, value);
    this.observer?.onPortWrite?.(port & 0xffff, 2, value & 0xffff);
  }

  private observedOut32(port: number, value: number): void {
    this.plainOut32(port, value);
    this.observer?.onPortWrite?.(port & 0xffff, 4, value >>> 0);
  }
}
