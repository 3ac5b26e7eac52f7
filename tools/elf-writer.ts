// A symbol file for gdb: an ELF32 i386 executable (ET_EXEC) holding a flat binary loaded at
// `base` (one PT_LOAD segment, one .text section covering it) and its labels in
// .symtab/.strtab. Written from the ELF specification (System V ABI, i386 supplement).
//
// Sizes and types: gdb finds a function's bounds from its minimal symbols (no debug info
// here), taking a symbol's size when it has one and skipping zero-sized symbols in favour
// of an enclosing sized one. So a top-level label is sized up to the next top-level label
// above it (FUNC for code, OBJECT for data), and a local label (`fn.loop`) is a zero-sized
// LOCAL point inside it: gdb then says `copy_process + 12`, and reverse-finish goes back to
// copy_process's entry rather than to a loop label.

export interface ElfSymbol {
  name: string;
  address: number;
  /** Labels that name data (OBJECT) rather than code. */
  data: boolean;
}

const EHDR = 52;
const PHDR = 32;
const SHDR = 40;
const SYM = 16;
const PAGE = 0x1000;

const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const PF_RWX = 7;
const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHF_WRITE_ALLOC_EXEC = 1 | 2 | 4; // code and data share the one flat section
const STB_LOCAL = 0;
const STB_GLOBAL = 1;
const STT_NOTYPE = 0;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const TEXT_INDEX = 1;

/** Local labels carry their function's name before a dot (our assembler's full names). */
const isLocal = (name: string) => name.includes('.');

class StringTable {
  private readonly parts: Uint8Array[] = [new Uint8Array(1)];
  private size = 1;
  add(s: string): number {
    const at = this.size;
    const b = new TextEncoder().encode(`${s}\0`);
    this.parts.push(b);
    this.size += b.length;
    return at;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** The ELF file for `image` loaded at `base`, with `symbols` (any order). */
export function writeElf(image: Uint8Array, base: number, symbols: ElfSymbol[]): Uint8Array {
  const end = base + image.length;
  const sorted = [...symbols].sort((a, b) => a.address - b.address);
  const tops = sorted.filter((s) => !isLocal(s.name)).map((s) => s.address);
  /** A top-level label ends where the next top-level label above it starts, or at the image's end. */
  const sizeOf = (s: ElfSymbol): number => {
    if (isLocal(s.name)) return 0;
    const next = tops.find((a) => a > s.address);
    return Math.max(0, (next ?? end) - s.address);
  };

  const strtab = new StringTable();
  // ELF wants the LOCAL symbols first; sh_info is the index of the first non-local one.
  const ordered = [...sorted.filter((s) => isLocal(s.name)), ...sorted.filter((s) => !isLocal(s.name))];
  const symtab = new Uint8Array(SYM * (ordered.length + 1));
  const sv = new DataView(symtab.buffer);
  ordered.forEach((s, k) => {
    const o = SYM * (k + 1);
    const local = isLocal(s.name);
    const type = s.data ? STT_OBJECT : local ? STT_NOTYPE : STT_FUNC;
    sv.setUint32(o, strtab.add(s.name), true);
    sv.setUint32(o + 4, s.address >>> 0, true);
    sv.setUint32(o + 8, sizeOf(s), true);
    sv.setUint8(o + 12, ((local ? STB_LOCAL : STB_GLOBAL) << 4) | type);
    sv.setUint16(o + 14, s.address >= base && s.address <= end ? TEXT_INDEX : 0xfff1 /* SHN_ABS */, true);
  });
  const firstGlobal = 1 + ordered.filter((s) => isLocal(s.name)).length;
  const strBytes = strtab.bytes();

  const shstr = new StringTable();
  const names = { text: shstr.add('.text'), symtab: shstr.add('.symtab'), strtab: shstr.add('.strtab'), shstrtab: shstr.add('.shstrtab') };
  const shstrBytes = shstr.bytes();

  // Layout: headers, the image at a page boundary (p_offset ≡ p_vaddr mod p_align), the
  // tables, the section headers.
  const imageOff = Math.ceil((EHDR + PHDR) / PAGE) * PAGE + (base % PAGE);
  const symOff = align(imageOff + image.length, 4);
  const strOff = symOff + symtab.length;
  const shstrOff = strOff + strBytes.length;
  const shOff = align(shstrOff + shstrBytes.length, 4);
  const out = new Uint8Array(shOff + 5 * SHDR);
  const v = new DataView(out.buffer);

  out.set([0x7f, 0x45, 0x4c, 0x46, 1 /* ELFCLASS32 */, 1 /* little endian */, 1 /* EV_CURRENT */], 0);
  v.setUint16(16, ET_EXEC, true);
  v.setUint16(18, EM_386, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, base, true); // entry: the image's first byte
  v.setUint32(28, EHDR, true);
  v.setUint32(32, shOff, true);
  v.setUint16(40, EHDR, true);
  v.setUint16(42, PHDR, true);
  v.setUint16(44, 1, true);
  v.setUint16(46, SHDR, true);
  v.setUint16(48, 5, true);
  v.setUint16(50, 4, true); // .shstrtab

  const p = EHDR;
  v.setUint32(p, PT_LOAD, true);
  v.setUint32(p + 4, imageOff, true);
  v.setUint32(p + 8, base, true);
  v.setUint32(p + 12, base, true);
  v.setUint32(p + 16, image.length, true);
  v.setUint32(p + 20, image.length, true);
  v.setUint32(p + 24, PF_RWX, true);
  v.setUint32(p + 28, PAGE, true);

  out.set(image, imageOff);
  out.set(symtab, symOff);
  out.set(strBytes, strOff);
  out.set(shstrBytes, shstrOff);

  const section = (i: number, name: number, type: number, flags: number, addr: number, off: number, size: number, link: number, info: number, al: number, entsize: number) => {
    const o = shOff + i * SHDR;
    for (const [k, x] of [name, type, flags, addr, off, size, link, info, al, entsize].entries()) v.setUint32(o + 4 * k, x >>> 0, true);
  };
  section(1, names.text, SHT_PROGBITS, SHF_WRITE_ALLOC_EXEC, base, imageOff, image.length, 0, 0, 16, 0);
  section(2, names.symtab, SHT_SYMTAB, 0, 0, symOff, symtab.length, 3, firstGlobal, 4, SYM);
  section(3, names.strtab, SHT_STRTAB, 0, 0, strOff, strBytes.length, 0, 0, 1, 0);
  section(4, names.shstrtab, SHT_STRTAB, 0, 0, shstrOff, shstrBytes.length, 0, 0, 1, 0);
  return out;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
