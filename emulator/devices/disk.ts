// Disk images: a Uint8Array holding the raw image plus its geometry. Writes change the
// array in place and set `dirty`; saving it back to a file is the machine's business.
// Sector copies are plain loops: no views are allocated while a guest does disk I/O.
// An image may also be filled lazily from a DiskSource (a file the command line opens): a
// guest reads a few hundred KB of a disk of tens of MB, so only the chunks it touches are
// read, as QEMU reads an image on demand; the array is allocated untouched (the OS gives its
// pages on first write) and everything that wants the whole image (`data`) loads the rest.

export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

/** Where a lazily loaded image's bytes come from. */
export interface DiskSource {
  /** The image's size in bytes. */
  size: number;
  /** Fills `dst` with the image's bytes from `offset` on (dst never reaches past the end). */
  read(offset: number, dst: Uint8Array): void;
}

/** A lazy image is read in chunks of this many bytes (128 sectors). */
const CHUNK = 64 << 10;

export class DiskImage {
  dirty = false;
  /** What each written sector held before its first write (LBA → 512 bytes): with `data`,
   *  the image as it was loaded, so a snapshot carries only the sectors the guest changed
   *  and can put an earlier state's disk back. */
  readonly original = new Map<number, Uint8Array>();
  private readonly bytes: Uint8Array;
  /** A lazy image's source, until every chunk is loaded; then null. */
  private source: DiskSource | null = null;
  /** Per chunk of a lazy image: 1 once it is loaded. */
  private loaded: Uint8Array | null = null;

  constructor(
    data: Uint8Array,
    readonly geometry: Geometry,
    readonly readOnly = false,
  ) {
    const { cylinders, heads, sectorsPerTrack } = geometry;
    if (!(cylinders > 0 && heads > 0 && heads <= 255 && sectorsPerTrack > 0 && sectorsPerTrack <= 255)) {
      throw new Error(`bad disk geometry ${cylinders}/${heads}/${sectorsPerTrack}`);
    }
    this.bytes = data;
  }

  /** An image whose chunks are read from `source` when the guest first touches them. */
  static lazy(source: DiskSource, geometry: Geometry, readOnly = false): DiskImage {
    const d = new DiskImage(new Uint8Array(source.size), geometry, readOnly);
    d.source = source;
    d.loaded = new Uint8Array(Math.ceil(source.size / CHUNK));
    return d;
  }

  /** The whole image (a lazy one is loaded first). */
  get data(): Uint8Array {
    if (this.source) for (let c = 0; c < this.loaded!.length; c++) this.load(c);
    this.source = null;
    return this.bytes;
  }

  private load(chunk: number): void {
    if (this.loaded![chunk]) return;
    const start = chunk * CHUNK;
    this.source!.read(start, this.bytes.subarray(start, Math.min(start + CHUNK, this.bytes.length)));
    this.loaded![chunk] = 1;
  }

  /** Whole 512-byte sectors the image holds. */
  get sectorCount(): number {
    return Math.floor(this.bytes.length / 512);
  }

  /** Sectors the geometry addresses (may exceed the image for a short image). */
  get geometrySectors(): number {
    const g = this.geometry;
    return g.cylinders * g.heads * g.sectorsPerTrack;
  }

  /** LBA of a CHS address (sector numbered from 1), or -1 if outside the geometry. */
  chsToLba(c: number, h: number, s: number): number {
    const g = this.geometry;
    if (c >= g.cylinders || h >= g.heads || s < 1 || s > g.sectorsPerTrack) return -1;
    return (c * g.heads + h) * g.sectorsPerTrack + (s - 1);
  }

  /** Copy sector `lba` into `dst` at `offset`; false if it is outside the image. */
  readSector(lba: number, dst: Uint8Array, offset = 0): boolean {
    if (lba < 0 || lba >= this.sectorCount) return false;
    const d = this.bytes;
    const base = lba * 512;
    if (this.source) this.load(base / CHUNK | 0);
    for (let i = 0; i < 512; i++) dst[offset + i] = d[base + i];
    return true;
  }

  /** Copy 512 bytes from `src` at `offset` into sector `lba`; false if outside or read-only. */
  writeSector(lba: number, src: Uint8Array, offset = 0): boolean {
    if (this.readOnly || lba < 0 || lba >= this.sectorCount) return false;
    const d = this.bytes;
    const base = lba * 512;
    if (this.source) this.load(base / CHUNK | 0);
    if (!this.original.has(lba)) this.original.set(lba, d.slice(base, base + 512));
    for (let i = 0; i < 512; i++) d[base + i] = src[offset + i];
    this.dirty = true;
    return true;
  }
}

/** Floppy formats by image size. */
export const FLOPPY_FORMATS: { size: number; name: string; geometry: Geometry }[] = [
  { size: 1474560, name: '1.44M', geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 18 } },
  { size: 1228800, name: '1.2M', geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 15 } },
  { size: 737280, name: '720K', geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 9 } },
  { size: 368640, name: '360K', geometry: { cylinders: 40, heads: 2, sectorsPerTrack: 9 } },
  { size: 2949120, name: '2.88M', geometry: { cylinders: 80, heads: 2, sectorsPerTrack: 36 } },
];

/** The floppy geometry for an image of `size` bytes, or null if no format has that size. */
export function floppyGeometry(size: number): Geometry | null {
  return FLOPPY_FORMATS.find((f) => f.size === size)?.geometry ?? null;
}

/** True when `size` is the size of a floppy format. */
export function isFloppySize(size: number): boolean {
  return floppyGeometry(size) !== null;
}

/** The size of the smallest floppy format that holds `size` bytes, or null when none does. */
export function floppyFormatFor(size: number): number | null {
  const fits = FLOPPY_FORMATS.filter((f) => f.size >= size).map((f) => f.size);
  return size > 0 && fits.length ? Math.min(...fits) : null;
}

/**
 * How the positional IMAGE is taken, by its own size only: a floppy when it is a floppy
 * format's size, or when it is not a whole number of sectors but a floppy holds it (a
 * kernel `Image` as Linux 0.11's build writes it); else a hard disk.
 */
export function imageIsFloppy(size: number): boolean {
  return isFloppySize(size) || (size % 512 !== 0 && floppyFormatFor(size) !== null);
}

/** Heads and sectors per track from an MBR's partition table (the end CHS of its entries),
 *  as BIOSes and QEMU guess a disk's geometry; null when there is no usable table. */
export function partitionTableGeometry(sector0: Uint8Array): { heads: number; sectorsPerTrack: number } | null {
  if (sector0.length < 512 || sector0[510] !== 0x55 || sector0[511] !== 0xaa) return null;
  let heads = 0, spt = 0;
  for (let e = 0x1be; e < 0x1fe; e += 16) {
    if (sector0[e + 4] === 0) continue; // unused entry
    const endHead = sector0[e + 5];
    const endSector = sector0[e + 6] & 0x3f;
    if (endSector === 0) return null; // no CHS values: nothing to learn
    heads = Math.max(heads, endHead + 1);
    spt = Math.max(spt, endSector);
  }
  return heads > 0 && spt > 0 ? { heads, sectorsPerTrack: spt } : null;
}

/**
 * A hard-disk geometry for an image of `size` bytes, at most 16383 cylinders as in ATA
 * IDENTIFY: the heads and sectors of its partition table if it has one; else an exact fit of
 * 16 heads x 63 sectors, or of the 4- and 2-head, 17-sector MFM drives of the Linux 0.11 era;
 * else 16 x 63 with the remainder beyond the last whole cylinder out of CHS reach (QEMU's
 * rule, so an image sees the same geometry in both). Tiny images get one cylinder of as
 * many heads and sectors as fit. Null if the size is not a whole number of sectors.
 */
export function hardDiskGeometry(size: number, sector0?: Uint8Array): Geometry | null {
  if (size <= 0 || size % 512 !== 0) return null;
  const sectors = size / 512;
  const fromTable = sector0 ? partitionTableGeometry(sector0) : null;
  if (fromTable) {
    const cylinders = Math.min(16383, Math.floor(sectors / (fromTable.heads * fromTable.sectorsPerTrack)));
    if (cylinders > 0) return { cylinders, ...fromTable };
  }
  for (const [heads, spt] of [[16, 63], [4, 17], [2, 17]]) {
    if (sectors % (heads * spt) === 0 && sectors / (heads * spt) <= 16383) {
      return { cylinders: sectors / (heads * spt), heads, sectorsPerTrack: spt };
    }
  }
  if (sectors >= 16 * 63) return { cylinders: Math.min(16383, Math.floor(sectors / (16 * 63))), heads: 16, sectorsPerTrack: 63 };
  const spt = Math.min(63, sectors);
  return { cylinders: 1, heads: Math.min(16, Math.floor(sectors / spt)), sectorsPerTrack: spt };
}
