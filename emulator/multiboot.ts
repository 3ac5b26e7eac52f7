// Multiboot (version 1) loading, as QEMU's `-kernel` does for a Multiboot kernel: find the
// header in the first 8 KB, load the ELF32 program segments (or the a.out-kludge address
// fields), build the information structure, and enter the kernel in flat 32-bit protected
// mode with EAX = 0x2BADB002 and EBX = the information's address. Facts from the Multiboot
// Specification 0.6.96.

import type { Machine } from './machine';
import { physicalMemoryMap } from './bios/bios';
import { PAGE_ROM } from './memory';

const HEADER_MAGIC = 0x1badb002;
const BOOTLOADER_MAGIC = 0x2badb002;
const SEARCH_LIMIT = 8192;
/** Where we put our GDT and the information structure (free conventional memory). */
const GDT_ADDR = 0x500;
const INFO_ADDR = 0x9000;
const MMAP_ADDR = 0x9100;
const CMDLINE_ADDR = 0x9200;

/** What a segment must not overwrite: our structures, and device memory. */
const RESERVED: [number, number, string][] = [
  [GDT_ADDR, GDT_ADDR + 24, 'the GDT the kernel is entered with'],
  [INFO_ADDR, CMDLINE_ADDR + 256, 'the Multiboot information'],
  [0xa0000, 0xc0000, 'the VGA window'],
];

const CS = 1;
const FLAT_CODE_AR = 0xc09b; // present, DPL 0, code read/execute (accessed), 32-bit, 4 KB granularity
const FLAT_DATA_AR = 0xc093; // present, DPL 0, data read/write (accessed), 32-bit, 4 KB granularity

export interface MultibootInfo {
  entry: number;
  /** Physical ranges loaded, [start, end). */
  loaded: [number, number][];
}

function u32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
}
function u16(b: Uint8Array, off: number): number {
  return b[off] | (b[off + 1] << 8);
}

function findHeader(image: Uint8Array): number {
  const end = Math.min(image.length - 12, SEARCH_LIMIT - 12);
  for (let off = 0; off <= end; off += 4) {
    if (u32(image, off) !== HEADER_MAGIC) continue;
    const flags = u32(image, off + 4);
    if (((HEADER_MAGIC + flags + u32(image, off + 8)) >>> 0) === 0) return off;
  }
  return -1;
}

/** Loads `image` into the machine and sets the CPU up to enter it. Throws a one-line
 *  Error describing what is wrong with the image. */
export function loadMultiboot(machine: Machine, image: Uint8Array, cmdline = ''): MultibootInfo {
  const mem = machine.mem;
  const header = findHeader(image);
  if (header < 0) throw new Error('no Multiboot header (magic 0x1BADB002 with a valid checksum) in the first 8 KB');
  const flags = u32(image, header + 4);
  if (flags & 0xfffc) throw new Error(`Multiboot header requires features we do not provide (flags 0x${flags.toString(16)})`);
  const loaded: [number, number][] = [];
  // Load what QEMU's -kernel loads (GNU ld's -Ttext=0x100000 puts a segment of ELF headers
  // at 0xff000, under the BIOS ROM); refuse only a segment that would overwrite something.
  const place = (addr: number, bytes: Uint8Array, memSize: number) => {
    const end = addr + memSize;
    const what = `a segment at 0x${addr.toString(16)} (${memSize} bytes)`;
    if (end > machine.memorySize) throw new Error(`${what} does not fit in ${machine.memorySize >> 20} MB of RAM`);
    for (const [lo, hi, name] of RESERVED) {
      if (addr < hi && end > lo) throw new Error(`${what} would overwrite ${name} (0x${lo.toString(16)}-0x${(hi - 1).toString(16)})`);
    }
    // ROM pages (below 1 MB): the firmware's bytes serve real mode, which a Multiboot
    // kernel has left; its unused (zero) bytes may take a segment, its code and tables may not
    for (let a = Math.max(addr, 0xc0000); a < Math.min(end, 0x100000); a++) {
      if (mem.pageKind[a >>> 12] === PAGE_ROM && mem.read8(a) !== 0) {
        throw new Error(`${what} would overwrite the firmware ROM at 0x${a.toString(16)}`);
      }
    }
    mem.load(addr, bytes);
    mem.load(addr + bytes.length, new Uint8Array(Math.max(0, memSize - bytes.length)));
    loaded.push([addr, end]);
  };
  let entry: number;
  if (flags & 0x10000) {
    // a.out kludge: the header gives the addresses
    const headerAddr = u32(image, header + 12);
    const loadAddr = u32(image, header + 16);
    const loadEnd = u32(image, header + 20);
    const bssEnd = u32(image, header + 24);
    entry = u32(image, header + 28);
    const fileOff = header - (headerAddr - loadAddr);
    if (fileOff < 0 || loadAddr > headerAddr) throw new Error('Multiboot address fields are inconsistent');
    const size = loadEnd ? loadEnd - loadAddr : image.length - fileOff;
    if (fileOff + size > image.length) throw new Error('Multiboot load_end_addr lies beyond the end of the file');
    place(loadAddr, image.subarray(fileOff, fileOff + size), Math.max(size, bssEnd ? bssEnd - loadAddr : 0));
  } else {
    if (u32(image, 0) !== 0x464c457f) throw new Error('not an ELF file, and the Multiboot header has no address fields');
    if (image[4] !== 1 || image[5] !== 1) throw new Error('not a 32-bit little-endian ELF file');
    if (u16(image, 18) !== 3) throw new Error(`ELF machine ${u16(image, 18)} is not i386 (3)`);
    entry = u32(image, 24);
    const phoff = u32(image, 28);
    const phentsize = u16(image, 42);
    const phnum = u16(image, 44);
    if (phoff + phnum * phentsize > image.length) throw new Error('ELF program headers lie beyond the end of the file');
    for (let i = 0; i < phnum; i++) {
      const ph = phoff + i * phentsize;
      if (u32(image, ph) !== 1) continue; // PT_LOAD
      const offset = u32(image, ph + 4);
      const paddr = u32(image, ph + 12);
      const filesz = u32(image, ph + 16);
      const memsz = u32(image, ph + 20);
      if (offset + filesz > image.length) throw new Error(`ELF segment ${i} lies beyond the end of the file`);
      place(paddr, image.subarray(offset, offset + filesz), memsz);
    }
    if (loaded.length === 0) throw new Error('ELF file has no loadable segment');
  }

  // The information structure: memory sizes (flag 0), command line (flag 2), memory map (flag 6).
  const upperKb = (machine.memorySize - 0x100000) >> 10;
  const mmap = physicalMemoryMap(machine.memorySize);
  for (let i = 0; i < 88; i += 4) mem.write32(INFO_ADDR + i, 0);
  mem.write32(INFO_ADDR, (1 << 0) | (1 << 2) | (1 << 6));
  mem.write32(INFO_ADDR + 4, 640);
  mem.write32(INFO_ADDR + 8, upperKb);
  const cmd = new TextEncoder().encode(cmdline);
  for (let i = 0; i < cmd.length && i < 255; i++) mem.write8(CMDLINE_ADDR + i, cmd[i]);
  mem.write8(CMDLINE_ADDR + Math.min(cmd.length, 255), 0);
  mem.write32(INFO_ADDR + 16, CMDLINE_ADDR);
  mmap.forEach(([base, len, type], i) => {
    const e = MMAP_ADDR + i * 24;
    mem.write32(e, 20);
    mem.write32(e + 4, base);
    mem.write32(e + 8, 0);
    mem.write32(e + 12, len);
    mem.write32(e + 16, 0);
    mem.write32(e + 20, type);
  });
  mem.write32(INFO_ADDR + 44, mmap.length * 24);
  mem.write32(INFO_ADDR + 48, MMAP_ADDR);

  // Flat protected mode: a GDT with code 0x08 and data 0x10 so reloads work, A20 on.
  const gdt = [0, 0, 0x0000ffff, 0x00cf9b00, 0x0000ffff, 0x00cf9300];
  gdt.forEach((w, i) => mem.write32(GDT_ADDR + i * 4, w));
  machine.a20.setFast(true);
  const cpu = machine.cpu;
  cpu.gdtBase = GDT_ADDR;
  cpu.gdtLimit = 23;
  cpu.setCr0(cpu.cr0 | 1);
  for (let s = 0; s < 6; s++) {
    if (s === CS) cpu.setSegCache(CS, 0x08, 0, 0xffffffff, FLAT_CODE_AR);
    else cpu.setSegCache(s, 0x10, 0, 0xffffffff, FLAT_DATA_AR);
  }
  cpu.setCpl(0);
  cpu.setFlags(0x2, 0xffffffff);
  cpu.regs[0] = BOOTLOADER_MAGIC | 0;
  cpu.regs[3] = INFO_ADDR;
  cpu.eip = entry;
  return { entry, loaded };
}
