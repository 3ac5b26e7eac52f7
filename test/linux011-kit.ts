// The Linux 0.11 guest kit (../shared/guests/linux-0.11: Image, System.map, kernel.map, the
// root disk hdc-0.11.img.gz) for the suites that run the real kernel. Locally a missing kit
// skips the suite with a printed reason; with CI=true it is a failure (as test/oracle.ts).
// The disk is gunzipped in memory (never into the repository).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Machine } from '../emulator/machine';
import { DiskImage, floppyGeometry } from '../emulator/devices/disk';
import { SymbolMap } from '../emulator/debug/symbols';
import { IN_CI } from './oracle';

export const KIT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../shared/guests/linux-0.11');
/** The root disk's geometry (README of the kit). */
export const HDC_GEOMETRY = { cylinders: 204, heads: 16, sectorsPerTrack: 38 };
/** The prompt appears at about 4.5 M instructions (the kit README's 253-256 M was measured
 *  before a disk command could complete inside a CPU slice); ten times that as the bound. */
export const BOOT_BUDGET = 50_000_000;

/** True when the kit is there; else skip (locally, with a reason) or fail (CI=true). */
export function haveKit(): boolean {
  const missing = ['Image', 'System.map', 'kernel.map', 'hdc-0.11.img.gz'].filter((f) => !existsSync(join(KIT, f)));
  if (missing.length === 0) return true;
  const msg = `Linux 0.11 kit missing at ${KIT}: ${missing.join(', ')}`;
  if (IN_CI) throw new Error(`${msg} (required when CI=true)`);
  console.warn(`skipping: ${msg}`);
  return false;
}

let disk: Uint8Array | null = null;
/** The uncompressed root disk (63,504,384 bytes), read once per test file. */
export function rootDisk(): Uint8Array {
  disk ??= new Uint8Array(gunzipSync(readFileSync(join(KIT, 'hdc-0.11.img.gz'))));
  return disk;
}

export function kitSymbols(file: 'System.map' | 'kernel.map' = 'System.map'): SymbolMap {
  return SymbolMap.parse(readFileSync(join(KIT, file), 'utf8'), file);
}

/** A PC with the kit: Image padded to 1.44 MB in drive A, a private copy of the root disk
 *  as the first hard disk, 16 MB of memory (as the kit's README runs it). */
export function linuxMachine(): Machine {
  const image = readFileSync(join(KIT, 'Image'));
  const floppy = new Uint8Array(1474560);
  floppy.set(image);
  return new Machine({
    memorySize: 16 * 1024 * 1024,
    fda: new DiskImage(floppy, floppyGeometry(floppy.length)!),
    hda: new DiskImage(rootDisk().slice(), HDC_GEOMETRY),
  });
}
