// Firmware from elsewhere (a real PC's ROMs, test386): the rules a ROM image must meet before
// the machine maps it. The system BIOS sits at the top of the first megabyte and of the 4 GB
// space; a video BIOS is an option ROM at C0000h, which a system BIOS finds by scanning for
// the 55h AAh signature and calls at offset 3 (IBM PC/AT Technical Reference, "ROM scan").

/** Where a VGA card's option ROM appears (QEMU's -vga, Bochs's vgaromimage). */
export const VIDEO_ROM_BASE = 0xc0000;
/** The option-ROM area a video ROM may fill: C0000h-DFFFFh. */
export const VIDEO_ROM_MAX = 0x20000;

/** Why `rom` cannot be a system BIOS (64 or 128 KB), or null when it can. */
export function systemRomProblem(rom: Uint8Array): string | null {
  if (rom.length !== 0x10000 && rom.length !== 0x20000) return `a ROM must be 64 KB or 128 KB (this one is ${rom.length} bytes)`;
  return null;
}

/** Why `rom` cannot be a video option ROM, or null when it can: whole 512-byte blocks, at
 *  most 128 KB, the 55h AAh signature, and a length byte (in blocks) the file covers. */
export function optionRomProblem(rom: Uint8Array): string | null {
  if (rom.length === 0 || rom.length % 512 !== 0 || rom.length > VIDEO_ROM_MAX) {
    return `an option ROM is a multiple of 512 bytes up to 128 KB (this one is ${rom.length} bytes)`;
  }
  if (rom[0] !== 0x55 || rom[1] !== 0xaa) return 'not an option ROM: no 55AA signature at its start';
  if (rom[2] === 0 || rom[2] * 512 > rom.length) {
    return `its header says ${rom[2] * 512} bytes, the file holds ${rom.length}`;
  }
  return null;
}
