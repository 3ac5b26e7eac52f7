// The BIOS ROM image (segment F000h). The BIOS itself is TypeScript (bios.ts); the ROM holds
// only what the guest must be able to see and execute: the reset vector, one small stub per
// service vector, default interrupt handlers, and data tables (diskette and fixed-disk
// parameters, the configuration table). A stub traps into TypeScript with `out TRAP_PORT,al`;
// the TypeScript service recognises the stub by the address after that instruction.

export const ROM_SEGMENT = 0xf000;
export const ROM_BASE = 0xf0000;
export const ROM_SIZE = 0x10000;

/** The I/O port a ROM stub writes to enter a TypeScript service. Only writes from inside the
 *  ROM count; anything else writing this port is ignored. */
export const TRAP_PORT = 0xe0;

/** Stubs: `out TRAP_PORT,al; iret; nop` then a wait loop `sti; hlt; jmp stub` (8 bytes). A
 *  service that must wait (a key press) points IP at the wait loop; the next interrupt
 *  then runs the stub again. */
export const STUB_BASE = 0xe000;
export const STUB_SIZE = 8;
export const STUB_WAIT = 4;

/** Services with a stub, in stub order. */
export const SERVICES = [
  'post', 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x09,
] as const;
export type Service = (typeof SERVICES)[number];

// Fixed offsets of the other pieces.
export const TIMER_HANDLER = 0xe200; // INT 08h: tick in TypeScript, INT 1Ch, EOI
export const IRQ_MASTER_EOI = 0xe220; // default handler for IRQ 2-7
export const IRQ_SLAVE_EOI = 0xe230; // default handler for IRQ 8-15
export const DUMMY_IRET = 0xff53; // where IBM put its dummy IRET; every other vector
export const DISKETTE_TABLE = 0xefc7; // INT 1Eh table, at the IBM address
export const FIXED_DISK_TABLE_0 = 0xe401; // INT 41h
export const FIXED_DISK_TABLE_1 = 0xe411; // INT 46h
export const CONFIG_TABLE = 0xe6f5; // INT 15h C0h
export const RESET_VECTOR = 0xfff0;
export const POST_ENTRY = STUB_BASE; // stub 0 is the POST

export function stubOffset(service: Service): number {
  return STUB_BASE + SERVICES.indexOf(service) * STUB_SIZE;
}

/** Fixed-disk parameter table (16 bytes) for a geometry, as INT 41h/46h point at. */
export function fixedDiskTable(cylinders: number, heads: number, sectors: number): number[] {
  const t = new Array<number>(16).fill(0);
  t[0] = cylinders & 0xff;
  t[1] = cylinders >> 8;
  t[2] = heads;
  t[5] = 0xff; // write precompensation: none (0xFFFF)
  t[6] = 0xff;
  t[8] = heads > 8 ? 0x08 : 0; // control byte: bit 3 set for more than 8 heads
  t[12] = cylinders & 0xff; // landing zone
  t[13] = cylinders >> 8;
  t[14] = sectors;
  return t;
}

/** Builds the 64 KB ROM. `disks` gives the INT 41h/46h geometries (or null). */
export function buildRom(disks: ({ cylinders: number; heads: number; sectorsPerTrack: number } | null)[]): Uint8Array {
  const rom = new Uint8Array(ROM_SIZE);
  const put = (off: number, bytes: number[]) => rom.set(bytes, off);

  SERVICES.forEach((_, i) => {
    const off = STUB_BASE + i * STUB_SIZE;
    // out TRAP,al ; iret ; nop ; sti ; hlt ; jmp short off
    put(off, [0xe6, TRAP_PORT, 0xcf, 0x90, 0xfb, 0xf4, 0xeb, (0 - (STUB_WAIT + 4)) & 0xff]);
  });
  // INT 08h: the tick counter is kept in TypeScript (the trap), then INT 1Ch, then EOI.
  put(TIMER_HANDLER, [
    0xe6, TRAP_PORT, // out TRAP,al (service 8)
    0xcd, 0x1c, // int 1Ch
    0x50, // push ax
    0xb0, 0x20, // mov al,20h
    0xe6, 0x20, // out 20h,al
    0x58, // pop ax
    0xcf, // iret
  ]);
  put(IRQ_MASTER_EOI, [0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf]);
  put(IRQ_SLAVE_EOI, [0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf]);
  put(DUMMY_IRET, [0xcf]);
  // Diskette parameter table (11 bytes): step rate/head unload, head load/DMA, motor off
  // delay, 512-byte sectors, 18 sectors per track, gap, data length, format gap, fill byte,
  // head settle, motor start.
  put(DISKETTE_TABLE, [0xaf, 0x02, 0x25, 0x02, 0x12, 0x1b, 0xff, 0x6c, 0xf6, 0x0f, 0x08]);
  const d0 = disks[0], d1 = disks[1];
  if (d0) put(FIXED_DISK_TABLE_0, fixedDiskTable(d0.cylinders, d0.heads, d0.sectorsPerTrack));
  if (d1) put(FIXED_DISK_TABLE_1, fixedDiskTable(d1.cylinders, d1.heads, d1.sectorsPerTrack));
  // Configuration table: length 8, model FCh (AT), submodel 01h, revision 0, feature byte 1
  // 0x70 (second PIC, RTC, INT 15h/4Fh keyboard intercept), then zeros.
  put(CONFIG_TABLE, [0x08, 0x00, 0xfc, 0x01, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00]);
  // Reset vector: jmp far F000:POST_ENTRY; then the BIOS date and the model byte.
  put(RESET_VECTOR, [0xea, POST_ENTRY & 0xff, POST_ENTRY >> 8, ROM_SEGMENT & 0xff, ROM_SEGMENT >> 8]);
  put(0xfff5, [...'11/22/26'].map((c) => c.charCodeAt(0)));
  put(0xfffe, [0xfc]);
  return rom;
}
