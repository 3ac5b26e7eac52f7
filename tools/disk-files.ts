// Disk image files for the command line: read a raw image, choose its geometry (from the
// size, or --geometry C/H/S), and write changes back only when asked (--persist) and only
// when the file is writable. Every problem is a one-line UsageError.
import { accessSync, closeSync, constants, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { DiskImage, floppyFormatFor, floppyGeometry, hardDiskGeometry, type DiskSource, type Geometry } from '../emulator/devices/disk';
import { UsageError } from './cli-util';

export interface DiskFile {
  path: string;
  image: DiskImage;
  persist: boolean;
}

export function parseGeometry(text: string): Geometry {
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--geometry: '${text}' is not C/H/S (for example 306/4/17)`);
  const [c, h, s] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (c < 1 || c > 65535 || h < 1 || h > 255 || s < 1 || s > 255) {
    throw new UsageError(`--geometry: ${text} is out of range (cylinders 1-65535, heads 1-255, sectors 1-255)`);
  }
  return { cylinders: c, heads: h, sectorsPerTrack: s };
}

/** The whole file (a floppy: 1.44 MB at most). */
function readImage(path: string, what: string): Uint8Array {
  const source = fileSource(path, what);
  const data = new Uint8Array(source.size);
  source.read(0, data);
  source.close();
  return data;
}

/** A file we may write back: it has a write permission bit and we may write it. Checking the
 *  bits too keeps "a read-only file is never modified" true for root, whom access() lets write. */
function writable(path: string): boolean {
  try {
    if ((statSync(path).mode & 0o222) === 0) return false;
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

// the size rules are the machine's (emulator/devices/disk.ts), shared with the browser page
export { isFloppySize, floppyFormatFor, imageIsFloppy } from '../emulator/devices/disk';

/** A floppy image; one shorter than a format is padded with zeros in memory to the smallest
 *  format that holds it, as QEMU does (the file is never changed: no --persist for it). */
export function openFloppy(path: string, persist: boolean): DiskFile {
  let data = readImage(path, 'floppy image');
  const format = floppyFormatFor(data.length);
  if (format === null) {
    throw new UsageError(
      `floppy image '${path}': ${data.length} bytes ${data.length === 0 ? 'is empty' : 'is larger than any floppy format (2.88M = 2949120 bytes)'}`,
    );
  }
  const padded = format !== data.length;
  if (padded) {
    const full = new Uint8Array(format);
    full.set(data);
    data = full;
  }
  const ro = !writable(path);
  return { path, image: new DiskImage(data, floppyGeometry(format)!, false), persist: persist && !ro && !padded };
}

/** A hard disk is read on demand (DiskImage.lazy): the guest touches a small part of it. */
export function openHardDisk(path: string, persist: boolean, geometry?: Geometry): DiskFile {
  const source = fileSource(path, 'hard-disk image');
  const size = source.size;
  if (size === 0 || size % 512 !== 0) {
    throw new UsageError(`hard-disk image '${path}': ${size} bytes is not a whole number of 512-byte sectors`);
  }
  const sector0 = new Uint8Array(512);
  source.read(0, sector0);
  const g = geometry ?? hardDiskGeometry(size, sector0);
  if (!g) throw new UsageError(`hard-disk image '${path}': no geometry fits ${size} bytes; give --geometry C/H/S`);
  const sectors = g.cylinders * g.heads * g.sectorsPerTrack;
  if (sectors * 512 > size) {
    throw new UsageError(
      `hard-disk image '${path}': geometry ${g.cylinders}/${g.heads}/${g.sectorsPerTrack} needs ${sectors * 512} bytes, the image has ${size}`,
    );
  }
  const ro = !writable(path);
  return { path, image: DiskImage.lazy(source, g, false), persist: persist && !ro };
}

/** The file as a DiskSource: opened now (so a missing or unreadable file is reported before
 *  the guest starts), read at the offsets asked. The descriptor stays open for the process's
 *  life, as an emulator keeps its disk open. */
function fileSource(path: string, what: string): DiskSource & { close(): void } {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${what} '${path}': no such file`);
  }
  if (!st.isFile()) throw new UsageError(`${what} '${path}': not a regular file`);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UsageError(`${what} '${path}': cannot read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return {
    size: st.size,
    read(offset, dst) {
      let done = 0;
      while (done < dst.length) {
        let n: number;
        try {
          n = readSync(fd, dst, done, dst.length - done, offset + done);
        } catch (e) {
          // the file went bad under a running guest (a disk error, a network file system):
          // one line and EX_IOERR, as an output that cannot be written
          throw new UsageError(`${what} '${path}': cannot read at byte ${offset + done} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 74);
        }
        if (n === 0) break; // the file shrank under us: the rest reads as zeros
        done += n;
      }
    },
    close: () => closeSync(fd),
  };
}

/** Writes back the images that changed and may be persisted. */
export function persistDisks(disks: DiskFile[]): void {
  for (const d of disks) {
    if (d.persist && d.image.dirty) writeFileSync(d.path, d.image.data);
  }
}
