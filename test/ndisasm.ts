// Runs ndisasm (the disassembler oracle) over bytes and parses its listing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NdisasmLine {
  address: number;
  length: number;
  text: string;
}

export function ndisasm(bytes: Uint8Array, bits: 16 | 32, org = 0): NdisasmLine[] {
  const dir = mkdtempSync(join(tmpdir(), 'forklab-ndisasm-'));
  try {
    const file = join(dir, 'x.bin');
    writeFileSync(file, bytes);
    const res = spawnSync('ndisasm', [`-b${bits}`, '-o', String(org), file], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (res.status !== 0) throw new Error(`ndisasm: ${res.stderr}`);
    const out: NdisasmLine[] = [];
    for (const l of res.stdout.split('\n')) {
      if (!l) continue;
      if (l[0] === ' ') {
        // continuation of a long hex column: "         -HEX"
        const m = /^\s+-([0-9A-F]+)/.exec(l);
        if (m && out.length) out[out.length - 1].length += m[1].length / 2;
        continue;
      }
      const m = /^([0-9A-F]{8})  ([0-9A-F]+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`ndisasm: cannot parse '${l}'`);
      out.push({ address: parseInt(m[1], 16), length: m[2].length / 2, text: m[3].trim() });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Normalises spacing and number style (hex case, leading zeros) for comparing listings. */
export function normalise(text: string): string {
  return text
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/0x([0-9a-fA-F]+)/g, (_, h: string) => '0x' + (h.replace(/^0+(?=.)/, '').toLowerCase()));
}
