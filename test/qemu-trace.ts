// QEMU as the oracle of a boot, instruction by instruction: run it on an image with
// `-d exec,cpu,nochain` (one instruction per block) logging only the guest's own code, stop
// it once the log shows an address executed, and convert the log into forklab's trace form
// (tools/qemu-log). Shared by the suites that diff a boot against QEMU.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { convertQemuLog } from '../tools/qemu-log';
import { LineReader } from '../tools/trace-diff';
import { formatTextHeader, formatTextLine, formatTextState } from '../emulator/debug/trace-format';

function qemuOneInsnArgs(): string[] {
  const help = spawnSync('qemu-system-i386', ['-accel', 'tcg,help'], { encoding: 'utf8' });
  return /one-insn-per-tb/.test(help.stdout + help.stderr) ? ['-accel', 'tcg,one-insn-per-tb=on'] : ['-accel', 'tcg', '-singlestep'];
}

/**
 * Runs QEMU on the floppy image `img` (with `extra` machine arguments), logging `ranges`,
 * until the log shows `stopAt` executed (within `seconds`).
 */
export async function qemuLog(img: string, log: string, stopAt: number, ranges: [number, number][], extra: string[] = [], seconds = 60): Promise<void> {
  const q = spawn('qemu-system-i386', [
    '-display', 'none', '-nodefaults', '-no-reboot', '-monitor', 'none', '-m', '16', ...extra,
    '-drive', `file=${img},if=floppy,format=raw,snapshot=on`, '-boot', 'a', ...qemuOneInsnArgs(),
    '-d', 'exec,cpu,nochain', '-dfilter', ranges.map(([lo, hi]) => `0x${lo.toString(16)}..0x${hi.toString(16)}`).join(','),
    '-D', log,
  ], { stdio: 'ignore' });
  const needle = `/${stopAt.toString(16).padStart(8, '0')}/`;
  let offset = 0;
  let tail = '';
  const buf = Buffer.alloc(1 << 20);
  const deadline = Date.now() + seconds * 1000;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      if (q.exitCode !== null) throw new Error(`qemu exited early (${q.exitCode})`);
      if (Date.now() > deadline) throw new Error(`qemu did not reach 0x${stopAt.toString(16)} within ${seconds} s`);
      let size = 0;
      try {
        size = statSync(log).size;
      } catch {
        continue;
      }
      if (size <= offset) continue;
      const fd = openSync(log, 'r');
      try {
        while (offset < size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, size - offset), offset);
          if (n <= 0) break;
          offset += n;
          const text = tail + buf.subarray(0, n).toString('latin1');
          if (text.includes(needle)) return;
          tail = text.slice(-64);
        }
      } finally {
        closeSync(fd);
      }
    }
  } finally {
    q.kill('SIGKILL');
    await new Promise((r) => (q.exitCode !== null ? r(null) : q.on('exit', r)));
  }
}

/** Converts a QEMU log into a text trace file (REP iterations merged); returns its lines. */
export function convertLog(log: string, out: string): number {
  const lines: string[] = [formatTextHeader({ version: 1, source: 'qemu', fields: ['regs'] })];
  const r = new LineReader(log);
  try {
    convertQemuLog(() => r.next(), (rec) => lines.push(formatTextLine(rec)), { icountBase: 0, mergeRepeats: true }, (regs) => lines.push(formatTextState(regs)));
  } finally {
    r.close();
  }
  writeFileSync(out, lines.join('\n') + '\n');
  return lines.length - 1;
}
