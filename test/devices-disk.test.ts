// A hard disk read on demand (DiskImage.lazy, tools/disk-files.ts openHardDisk): the guest
// sees the same bytes as with the whole file in memory, only the chunks it touches are read,
// its writes keep their originals (snapshots), and whatever needs the whole image gets it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskImage, type DiskSource } from '../emulator/devices/disk';
import { openHardDisk, persistDisks } from '../tools/disk-files';

const GEO = { cylinders: 100, heads: 4, sectorsPerTrack: 17 }; // 6800 sectors, 3.4 MB
const SIZE = 6800 * 512;
const pattern = (i: number) => (i * 7 + (i >> 9)) & 0xff;

function source(): DiskSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    size: SIZE,
    reads,
    read(offset, dst) {
      reads.push([offset, dst.length]);
      for (let i = 0; i < dst.length; i++) dst[i] = pattern(offset + i);
    },
  };
}

describe('a disk image read on demand', () => {
  it('reads only the chunk of a sector the guest reads, once', () => {
    const src = source();
    const d = DiskImage.lazy(src, GEO);
    const buf = new Uint8Array(512);
    expect(src.reads).toEqual([]);
    expect(d.readSector(1000, buf)).toBe(true);
    expect([...buf]).toEqual(Array.from({ length: 512 }, (_, i) => pattern(1000 * 512 + i)));
    expect(src.reads).toEqual([[7 * 65536, 65536]]); // sector 1000 is in the 8th 64 KB chunk
    d.readSector(1001, buf);
    expect(src.reads.length).toBe(1);
    expect(d.readSector(6800, buf)).toBe(false); // past the end: nothing read
    expect(src.reads.length).toBe(1);
  });

  it('keeps what a written sector held, and gives the whole image, writes included', () => {
    const src = source();
    const d = DiskImage.lazy(src, GEO);
    const w = new Uint8Array(512).fill(0xab);
    expect(d.writeSector(3, w)).toBe(true);
    expect([...d.original.get(3)!]).toEqual(Array.from({ length: 512 }, (_, i) => pattern(3 * 512 + i)));
    const all = d.data;
    expect(all.length).toBe(SIZE);
    expect(all[3 * 512]).toBe(0xab);
    expect(all[SIZE - 1]).toBe(pattern(SIZE - 1)); // the last chunk is short: read to the end
    const eager = new Uint8Array(SIZE).map((_, i) => pattern(i));
    eager.fill(0xab, 3 * 512, 4 * 512);
    expect(Buffer.compare(all, eager)).toBe(0);
    const n = src.reads.length;
    d.readSector(6000, w);
    expect(src.reads.length).toBe(n); // loaded once and for all
  });
});

describe('openHardDisk', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-disk-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the file on demand and writes it back whole with --persist', () => {
    const file = join(dir, 'hd.img');
    writeFileSync(file, new Uint8Array(SIZE).map((_, i) => pattern(i)));
    const hd = openHardDisk(file, true);
    const buf = new Uint8Array(512);
    hd.image.readSector(6799, buf);
    expect(buf[511]).toBe(pattern(SIZE - 1));
    hd.image.writeSector(10, new Uint8Array(512).fill(0x5a));
    persistDisks([hd]);
    const back = readFileSync(file);
    expect(back.length).toBe(SIZE);
    expect(back[10 * 512]).toBe(0x5a);
    expect(back[11 * 512]).toBe(pattern(11 * 512)); // the chunks never read were read to be written back
    expect(back[SIZE - 1]).toBe(pattern(SIZE - 1));
  });

  it('reports a missing file or a size of no whole sectors in one line, before the guest runs', () => {
    expect(() => openHardDisk(join(dir, 'none.img'), false)).toThrow(/^hard-disk image '.*none\.img': no such file$/);
    const odd = join(dir, 'odd.img');
    writeFileSync(odd, new Uint8Array(1000));
    expect(() => openHardDisk(odd, false)).toThrow(/1000 bytes is not a whole number of 512-byte sectors/);
  });
});
