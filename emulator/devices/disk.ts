// Disk images: a Uint8Array holding the raw image plus its geometry. Writes change the
// array in place and set `dirty`; saving it back to a file is the machine's business.
// Sector copies are plain loops: no views are allocated while a guest does disk I/O.

export interface Geometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

export class DiskImage {
  dirty = false;

  constructor(
    readonly data: Uint8Array,
    readonly geometry: Geometry,
    readonly readOnly = false,
  ) {
    const { cylinders, heads, sectorsPerTrack } = geometry;
    if (!(cylinders > 0 && heads > 0 && heads <= 255 && sectorsPerTrack > 0 && sectorsPerTrack <= 255)) {
      throw new Error(`bad disk geometry ${cylinders}/${heads}/${sectorsPerTrack}`);
    }
  }

  /** Whole 512-byte sectors the image holds. */
  get sectorCount(): number {
    return Math.floor(this.data.length / 512);
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
    const d = this.data;
    const base = lba * 512;
    for (let i = 0; i < 512; i++) dst[offset + i] = d[base + i];
    return true;
  }

  /** Copy 512 bytes from `src` at `offset` into sector `lba`; false if outside or read-only. */
  writeSector(lba: number, src: Uint8Array, offset = 0): boolean {
    if (this.readOnly || lba < 0 || lba >= this.sectorCount) return false;
    const d = this.data;
    const base = lba * 512;
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

/**
 * A hard-disk geometry for an image of `size` bytes: 16 heads and 63 sectors per track
 * (fewer heads/sectors for small images so the cylinder count stays exact where possible),
 * at most 16383 cylinders as in ATA IDENTIFY. Null if the size is not a whole number of
 * sectors or is empty.
 */
export function hardDiskGeometry(size: number): Geometry | null {
  if (size <= 0 || size % 512 !== 0) return null;
  const sectors = size / 512;
  for (const [heads, spt] of [[16, 63], [16, 32], [4, 17], [2, 17], [1, 17], [1, 1]]) {
    if (sectors % (heads * spt) === 0) {
      const cylinders = sectors / (heads * spt);
      if (cylinders <= 16383) return { cylinders, heads, sectorsPerTrack: spt };
    }
  }
  const cylinders = Math.min(16383, Math.floor(sectors / (16 * 63)));
  return cylinders > 0 ? { cylinders, heads: 16, sectorsPerTrack: 63 } : null;
}
