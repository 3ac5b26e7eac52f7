// SingleStepTests 80286 real-mode sample (../shared/conformance/sst286, see its README):
// every one of the 97,500 tests runs one instruction on our CPU in real mode and compares
// registers, flags (under the undefined-flag mask) and memory with the real 80C286.
//
// Skipped groups (each counted and printed), because a 386 differs from the 286 there:
//  - LOCK on an instruction the 386 does not allow it on (or with a register destination):
//    the 286 ignores the prefix, the 386 raises #UD.                      (README 286-vs-386 §2)
//  - instructions longer than 10 bytes: INT 13 on the 286, legal on the 386 (up to 15). (§3)
//  - 8C/8E with reg = 4 or 5: INT 6 on the 286, MOV FS/GS on the 386.        (§4)
//  - D8 (ESC) tests that fault: the 286 reads the operand for its missing 80287; our 386
//    without a coprocessor touches no memory.                               (§7)
// Accepted variations (counted as passes, printed):
//  - expected INT 13 where we raise #SS (INT 12) for an SS-relative limit violation, as the
//    386 does.                                                              (§5)
//  - a string instruction whose first iteration faults at offset FFFF (INT 13): the 286 has
//    already advanced SI/DI (and CX with REP), the 386 faults with them unchanged; compared
//    with SI/DI/CX unchanged, everything else (frame, flags, memory) exact.      (§5)
// Masked: FLAGS bits 12-15 for POPF (9D) and IRET (CF), which a 386 loads in real mode. (§1)

import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhysicalMemory } from '../emulator/memory';
import { Cpu } from '../emulator/cpu/cpu';
import { CS } from '../emulator/cpu/consts';
import { IN_CI } from './oracle';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = resolve(ROOT, '../shared/conformance/sst286');
const present = existsSync(resolve(DIR, 'tests'));
if (!present) {
  const msg = `sst286 data not found at ${DIR}`;
  if (IN_CI) throw new Error(`${msg} (required when CI=true)`);
  console.warn(`skipping: ${msg}`);
}

interface Regs {
  ax: number; bx: number; cx: number; dx: number; cs: number; ss: number; ds: number; es: number;
  sp: number; bp: number; si: number; di: number; ip: number; flags: number;
}
interface Test {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Regs; ram: [number, number][] };
  final: { regs: Partial<Regs>; ram: [number, number][] };
  exception: null | { number: number; flagAddress: number };
  flagsMask: number | null;
}

const GPR: [keyof Regs, number][] = [['ax', 0], ['cx', 1], ['dx', 2], ['bx', 3], ['sp', 4], ['bp', 5], ['si', 6], ['di', 7]];
const SEGS: [keyof Regs, number][] = [['es', 0], ['cs', 1], ['ss', 2], ['ds', 3]];

/** Why a test is skipped, or null. */
function skipReason(t: Test, stem: string): string | null {
  const b = t.bytes;
  let p = 0;
  let lock = false;
  while ([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3].includes(b[p])) {
    if (b[p] === 0xf0) lock = true;
    p++;
  }
  if (b.length - 1 > 10) return 'longer than 10 bytes (286 limit)';
  const op = b[p];
  const modrm = b[p + 1];
  if ((op === 0x8c || op === 0x8e) && (((modrm >> 3) & 7) === 4 || ((modrm >> 3) & 7) === 5)) return '8C/8E with FS/GS';
  if (lock) {
    // the 386 allows LOCK only on these, with a memory destination
    const memDest = (modrm >> 6) !== 3;
    let ok = false;
    if (op <= 0x33 && (op & 7) <= 1 && (op & 0x38) !== 0x38) ok = memDest;
    else if (op >= 0x80 && op <= 0x83) ok = memDest && ((modrm >> 3) & 7) !== 7;
    else if (op === 0x86 || op === 0x87) ok = memDest;
    else if ((op === 0xf6 || op === 0xf7) && [2, 3].includes((modrm >> 3) & 7)) ok = memDest;
    else if ((op === 0xfe || op === 0xff) && ((modrm >> 3) & 7) <= 1) ok = memDest;
    if (!ok) return 'LOCK not allowed on the 386';
  }
  if (stem === 'D8' && t.exception) return 'ESC operand fault (286 with no 80287)';
  return null;
}

/** Records the first exception of a test. */
class TestCpu extends Cpu {
  first = -1;
  override raiseException(vector: number, hasCode: boolean, code: number): void {
    if (this.first < 0) this.first = vector;
    super.raiseException(vector, hasCode, code);
  }
}

const STRING_OPS = new Set(['6C', '6D', '6E', '6F', 'A4', 'A5', 'A6', 'A7', 'AA', 'AB', 'AC', 'AD', 'AE', 'AF']);

class Io {
  in8 = () => 0xff;
  in16 = () => 0xffff;
  in32 = () => 0xffffffff;
  out8 = () => {};
  out16 = () => {};
  out32 = () => {};
}

function setup(cpu: TestCpu, t: Test): void {
  const r = t.initial.regs;
  cpu.regs.fill(0);
  for (const [k, n] of GPR) cpu.r16[n << 1] = r[k];
  cpu.cr0 = 0;
  cpu.setCpl(0);
  for (const [k, s] of SEGS) cpu.setSegCache(s, r[k], r[k] << 4, 0xffff, s === CS ? 0x9b : 0x93);
  cpu.setSegCache(4, 0, 0, 0xffff, 0x93);
  cpu.setSegCache(5, 0, 0, 0xffff, 0x93);
  cpu.loadSegReal(CS, r.cs);
  cpu.idtBase = 0;
  cpu.idtLimit = 0x3ff;
  cpu.eip = r.ip;
  cpu.setFlags(r.flags & 0x0fff, 0xffffffff);
  cpu.halted = false;
  cpu.shutdown = false;
  cpu.inhibit = false;
  cpu.first = -1;
  for (const [a, v] of t.initial.ram) cpu.mem.write8(a, v);
}

/** Runs one test; returns '' on pass, 'accept' for an accepted variation, or a message. */
function runOne(cpu: TestCpu, t: Test, stem: string): string {
  setup(cpu, t);
  let reason = '';
  for (let k = 0; k < 8; k++) {
    reason = cpu.run(64);
    if (reason !== 'budget') break;
  }
  if (t.exception?.number === 13 && cpu.first === 12) return 'accept';
  if (reason !== 'halted' && reason !== 'waiting') return `did not halt (${reason})`;
  const exp = { ...t.initial.regs, ...t.final.regs };
  const ir = t.initial.regs;
  if (t.exception?.number === 13 && cpu.first === 13 && STRING_OPS.has(stem) && (ir.si === 0xffff || ir.di === 0xffff)) {
    // the first iteration's word access at offset FFFF faults. The 286 has already stepped
    // SI/DI (and, with REP, CX) when it raises INT 13; the 386 faults with the registers of
    // the faulting iteration (README §5): compare against the unchanged registers
    exp.si = ir.si;
    exp.di = ir.di;
    exp.cx = ir.cx;
    stringRestore++;
  }
  const errs: string[] = [];
  for (const [k, n] of GPR) if (cpu.r16[n << 1] !== exp[k]) errs.push(`${k}=${hex(cpu.r16[n << 1])} want ${hex(exp[k])}`);
  for (const [k, s] of SEGS) if (cpu.sel[s] !== exp[k]) errs.push(`${k}=${hex(cpu.sel[s])} want ${hex(exp[k])}`);
  if ((cpu.eip & 0xffff) !== exp.ip) errs.push(`ip=${hex(cpu.eip)} want ${hex(exp.ip)}`);
  let mask = t.flagsMask ?? 0xffff;
  if (stem === '9D' || stem === 'CF') mask &= 0x0fff;
  const fl = cpu.getFlags() & 0xffff;
  if ((fl & mask) !== (exp.flags & mask)) errs.push(`flags=${hex(fl)} want ${hex(exp.flags)} (mask ${hex(mask)})`);
  // the FLAGS word of the exception frame (upstream's flagAddress is off by one for odd SP)
  const fa = t.exception ? exp.ss * 16 + ((exp.sp + 4) & 0xffff) : -1;
  for (const [a, v] of t.final.ram) {
    const got = cpu.mem.read8(a);
    let m = 0xff;
    if (a === fa) m = mask & 0xff;
    else if (a === fa + 1) m = (mask >> 8) & 0xff;
    if ((got & m) !== (v & m)) errs.push(`[${hex(a)}]=${hex(got)} want ${hex(v)}`);
  }
  return errs.join(', ');
}

let stringRestore = 0;

function hex(v: number): string {
  return (v >>> 0).toString(16);
}

describe.runIf(present)('sst286: 80286 real-mode single-step tests', () => {
  it('passes at least 99.5% of the sample (97,500 tests)', () => {
    const mem = new PhysicalMemory(0x200000);
    const cpu = new TestCpu(mem, new Io());
    const files = readdirSync(resolve(DIR, 'tests')).filter((f) => f.endsWith('.jsonl.gz')).sort();
    let total = 0, pass = 0, accepted = 0;
    const skipped = new Map<string, number>();
    const failByFile = new Map<string, { n: number; first: string }>();
    for (const f of files) {
      const stem = f.replace('.jsonl.gz', '');
      const lines = gunzipSync(readFileSync(resolve(DIR, 'tests', f))).toString('utf8').split('\n');
      for (const line of lines) {
        if (!line) continue;
        const t = JSON.parse(line) as Test;
        const skip = skipReason(t, stem);
        if (skip) {
          skipped.set(skip, (skipped.get(skip) ?? 0) + 1);
          continue;
        }
        total++;
        let res: string;
        try {
          res = runOne(cpu, t, stem);
        } catch (e) {
          res = `threw ${(e as Error).message}`;
        }
        if (res === '') pass++;
        else if (res === 'accept') {
          pass++;
          accepted++;
        } else {
          const cur = failByFile.get(stem);
          if (cur) cur.n++;
          else failByFile.set(stem, { n: 1, first: `#${t.idx} ${t.name} [${t.bytes.map((b) => b.toString(16)).join(' ')}]: ${res}` });
        }
      }
    }
    const rate = pass / total;
    const lines = [`sst286: ${pass}/${total} passed (${(rate * 100).toFixed(3)}%), ${accepted} accepted #SS-for-#GP, ${stringRestore} first-iteration string faults compared with SI/DI/CX unchanged`];
    for (const [r, n] of skipped) lines.push(`  skipped ${n}: ${r}`);
    for (const [stem, { n, first }] of [...failByFile].sort((a, b) => b[1].n - a[1].n)) lines.push(`  FAIL ${stem}: ${n}, first ${first}`);
    console.log(lines.join('\n'));
    expect(total).toBeGreaterThan(95000);
    expect(rate).toBeGreaterThanOrEqual(0.995);
  });
});

