// Reading guest physical memory without touching the machine: plain reads of the RAM
// buffer (no MMIO handlers, no TLB, no Accessed/Dirty bits), so an observer cannot change
// what the guest does. Addresses beyond RAM read as 0 and are reported by `inRam`.

export class GuestPhysical {
  constructor(readonly ram: Uint8Array) {}

  get size(): number {
    return this.ram.length;
  }

  inRam(addr: number, length = 1): boolean {
    return addr >= 0 && addr + length <= this.ram.length;
  }

  u8(addr: number): number {
    return addr >= 0 && addr < this.ram.length ? this.ram[addr] : 0;
  }

  u16(addr: number): number {
    return this.u8(addr) | (this.u8(addr + 1) << 8);
  }

  u32(addr: number): number {
    const r = this.ram;
    if (addr >= 0 && addr + 4 <= r.length) return (r[addr] | (r[addr + 1] << 8) | (r[addr + 2] << 16) | (r[addr + 3] << 24)) >>> 0;
    return (this.u16(addr) | (this.u16(addr + 2) << 16)) >>> 0;
  }

  i32(addr: number): number {
    return this.u32(addr) | 0;
  }

  bytes(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.u8(addr + i);
    return out;
  }
}
