// For the real-gdb tests: our kernel on disk, and `forklab run IMAGE --gdb 0 --wait` started: the port it listens on
// (read from its stderr), its stdout so far, and its exit status.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../tools/build-image';

/** Our kernel's image and its ELF symbol file written to a new temporary folder, its
 *  symbols' addresses, and the system's bytes (at their run address, 0). */
export function kernelOnDisk(root: string, tag: string): { dir: string; img: string; elf: string; system: Uint8Array; addr(name: string): number } {
  const dir = mkdtempSync(join(tmpdir(), `forklab-${tag}-`));
  const { image, symbols, elf: elfBytes, systemBytes } = buildImage(root);
  const img = join(dir, 'forklab.img');
  writeFileSync(img, image);
  const elf = join(dir, 'forklab.elf');
  writeFileSync(elf, elfBytes);
  const system = image.subarray(5 * 512, 5 * 512 + systemBytes); // after the boot sector and setup
  const addr = (name: string) => {
    const s = symbols.find((x) => x.name === name);
    if (!s) throw new Error(`no symbol ${name}`);
    return s.address;
  };
  return { dir, img, elf, system, addr };
}

export interface GdbRun {
  port: number;
  stdout(): string;
  exited: Promise<number | null>;
}

export async function startGdbRun(root: string, image: string): Promise<GdbRun> {
  const run = spawn('node', ['bin/forklab.js', 'run', image, '--gdb', '0', '--wait', '--timeout', '120'], { cwd: root });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (d) => (stdout += d));
  const port = await new Promise<number>((res, rej) => {
    run.stderr.on('data', (d) => {
      stderr += d;
      const m = /gdb stub on 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) res(Number(m[1]));
    });
    run.on('exit', () => rej(new Error(`forklab exited early: ${stderr}`)));
  });
  const exited = new Promise<number | null>((res) => run.on('exit', (code) => res(code)));
  return { port, stdout: () => stdout, exited };
}
