// The one opcode table (DESIGN decision 1). Every i386 instruction form is one line here;
// the decoder (emulator/cpu/decoder.ts), the disassembler and the assembler (tools/asm) are
// all built from it, so they cannot disagree.
//
// A line reads:   mnemonic operands | opcode | flags | attributes
//
// operands   comma-separated operand kinds (see OperandKind), '-' for none.
// opcode     hex bytes after any prefixes; then '/r' (ModRM whose reg field holds a register
//            operand), '/0'..'/7' (ModRM whose reg field extends the opcode), or '+r' on the
//            last byte (a register operand in its low 3 bits). Immediates, displacements and
//            relative offsets follow in operand order and are implied by the operand kinds.
// flags      r=…  flags read,  w=…  flags written,  u=…  flags left undefined (letters
//            o s z a p c for OF SF ZF AF PF CF, d i t for DF IF TF, n for NT, l for IOPL).
//            The CPU's chosen values for undefined flags are documented in emulator/cpu.
// attributes o16/o32: valid only with that operand size; a16/a32: only with that address
//            size; lock: LOCK allowed (with a memory destination); rep: REP allowed;
//            repcc: REPE/REPNE allowed; pm: #UD outside protected mode; cpl0: #GP unless
//            CPL 0; iopl: #GP unless CPL <= IOPL (and, for I/O, the TSS bitmap); alias: decoder
//            only, an encoding the assembler never emits (undocumented or duplicate forms);
//            asm: assembler only (another spelling of a decoder form, such as operands in
//            swapped order, or 9B-prefixed x87 forms); fpu: an x87 escape; prefix: a prefix byte; stop: ends a decoded
//            block (control transfer or a change of CPU mode).

export type OperandKind =
  // general registers: in the ModRM reg field, or in the opcode's low bits with '+r'
  | 'r8' | 'r16' | 'r32' | 'rv'
  // ModRM r/m: register or memory; 'm…' memory only; 'rr…' register only ('rrw': read as
  // 16 bits, but the assembler takes a 16- or 32-bit name without an operand-size prefix)
  | 'rm8' | 'rm16' | 'rm32' | 'rmv' | 'm' | 'm16' | 'm32' | 'mfar' | 'rrv' | 'rr32' | 'rrw'
  // special registers in the ModRM reg field
  | 'sreg' | 'cr' | 'dr' | 'tr'
  // fixed registers
  | 'al' | 'ax' | 'eAX' | 'cl' | 'dx' | 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs'
  // immediates: imm8, imm16, immv (16 or 32 by operand size), simm8 (a byte sign-extended
  // to the operand size), '1' (the constant of the shift-by-one forms)
  | 'imm8' | 'imm16' | 'immv' | 'simm8' | '1'
  // relative branch targets, absolute memory offsets (address size), far pointers seg:off
  | 'rel8' | 'relv' | 'moffs8' | 'moffsv' | 'ptr';

export const OPERAND_KINDS: readonly OperandKind[] = [
  'r8', 'r16', 'r32', 'rv', 'rm8', 'rm16', 'rm32', 'rmv', 'm', 'm16', 'm32', 'mfar', 'rrv', 'rr32',
  'rrw', 'sreg', 'cr', 'dr', 'tr', 'al', 'ax', 'eAX', 'cl', 'dx', 'es', 'cs', 'ss', 'ds', 'fs', 'gs',
  'imm8', 'imm16', 'immv', 'simm8', '1', 'rel8', 'relv', 'moffs8', 'moffsv', 'ptr',
];

/** Flag bits as in EFLAGS. */
export const FLAG = {
  c: 1 << 0, p: 1 << 2, a: 1 << 4, z: 1 << 6, s: 1 << 7, t: 1 << 8, i: 1 << 9, d: 1 << 10,
  o: 1 << 11, l: 3 << 12, n: 1 << 14,
} as const;

export type Attr =
  | 'o16' | 'o32' | 'a16' | 'a32' | 'lock' | 'rep' | 'repcc' | 'pm' | 'cpl0' | 'iopl'
  | 'alias' | 'asm' | 'fpu' | 'prefix' | 'stop';

export interface Form {
  /** Index in FORMS; stable within a build, used by the CPU to find the handler. */
  readonly id: number;
  readonly mnemonic: string;
  readonly operands: readonly OperandKind[];
  /** Opcode bytes after prefixes (0x0F included for two-byte opcodes). */
  readonly opcode: readonly number[];
  /** ModRM reg-field extension (0-7), or -1. */
  readonly ext: number;
  /** The instruction has a ModRM byte (/r or /digit). */
  readonly modrm: boolean;
  /** '+r': the register operand is in the low 3 bits of the last opcode byte. */
  readonly plusReg: boolean;
  /** A fixed ModRM byte that is part of the opcode (x87 `fninit` = DB E3), or -1. */
  readonly fixedModrm: number;
  readonly reads: number;
  readonly writes: number;
  readonly undefinedFlags: number;
  readonly attrs: ReadonlySet<Attr>;
  /** 16 or 32 when the form is valid only at that operand size, else 0. */
  readonly osize: 0 | 16 | 32;
  /** 16 or 32 when the form is valid only at that address size, else 0. */
  readonly asize: 0 | 16 | 32;
  /** The table line, for error messages and reports. */
  readonly line: string;
}

const CC = ['o', 'no', 'c', 'nc', 'z', 'nz', 'na', 'a', 's', 'ns', 'pe', 'po', 'l', 'nl', 'ng', 'g'];
/** Flags each condition code reads. */
const CC_READS = ['o', 'o', 'c', 'c', 'z', 'z', 'cz', 'cz', 's', 's', 'p', 'p', 'so', 'so', 'zso', 'zso'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFT = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

function hex(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

function aluLines(): string[] {
  const out: string[] = [];
  ALU.forEach((m, n) => {
    const base = n * 8;
    const logic = m === 'and' || m === 'or' || m === 'xor';
    const fl = logic ? 'w=oszpc u=a' : m === 'adc' || m === 'sbb' ? 'r=c w=oszapc' : 'w=oszapc';
    const lk = m === 'cmp' ? '' : 'lock';
    out.push(
      `${m} rm8,r8 | ${hex(base)} /r | ${fl} | ${lk}`,
      `${m} rmv,rv | ${hex(base + 1)} /r | ${fl} | ${lk}`,
      `${m} r8,rm8 | ${hex(base + 2)} /r | ${fl} |`,
      `${m} rv,rmv | ${hex(base + 3)} /r | ${fl} |`,
      `${m} al,imm8 | ${hex(base + 4)} | ${fl} |`,
      `${m} rmv,simm8 | 83 /${n} | ${fl} | ${lk}`,
      `${m} eAX,immv | ${hex(base + 5)} | ${fl} |`,
      `${m} rm8,imm8 | 80 /${n} | ${fl} | ${lk}`,
      `${m} rmv,immv | 81 /${n} | ${fl} | ${lk}`,
      `${m} rm8,imm8 | 82 /${n} | ${fl} | ${lk} alias`,
    );
  });
  return out;
}

function shiftLines(): string[] {
  const out: string[] = [];
  SHIFT.forEach((m, n) => {
    const rot = n < 4;
    const fl = rot ? (n >= 2 ? 'r=c w=oc' : 'w=oc') : 'w=oszpc u=a';
    // OF is defined only for a count of 1; for other counts it is undefined.
    const flc = rot ? `${fl} u=o` : 'w=oszpc u=ao';
    const al = m === 'sal' ? ' alias' : '';
    out.push(
      `${m} rm8,1 | D0 /${n} | ${fl} |${al}`,
      `${m} rmv,1 | D1 /${n} | ${fl} |${al}`,
      `${m} rm8,cl | D2 /${n} | ${flc} |${al}`,
      `${m} rmv,cl | D3 /${n} | ${flc} |${al}`,
      `${m} rm8,imm8 | C0 /${n} | ${flc} |${al}`,
      `${m} rmv,imm8 | C1 /${n} | ${flc} |${al}`,
    );
  });
  return out;
}

function ccLines(): string[] {
  const out: string[] = [];
  CC.forEach((c, n) => {
    const r = `r=${CC_READS[n]}`;
    out.push(
      `j${c} rel8 | ${hex(0x70 + n)} | ${r} | stop`,
      `j${c} relv | 0F ${hex(0x80 + n)} | ${r} | stop`,
      `set${c} rm8 | 0F ${hex(0x90 + n)} /0 | ${r} |`,
    );
  });
  return out;
}

function stringLines(): string[] {
  const out: string[] = [];
  const ops: [string, number, string, string][] = [
    ['movs', 0xa4, '', 'rep'], ['cmps', 0xa6, 'w=oszapc', 'repcc'], ['stos', 0xaa, '', 'rep'],
    ['lods', 0xac, '', 'rep'], ['scas', 0xae, 'w=oszapc', 'repcc'],
    ['ins', 0x6c, '', 'rep iopl'], ['outs', 0x6e, '', 'rep iopl'],
  ];
  for (const [m, op, fl, at] of ops) {
    const f = `r=d ${fl}`.trim();
    out.push(`${m}b - | ${hex(op)} | ${f} | ${at}`);
    out.push(`${m}w - | ${hex(op + 1)} | ${f} | ${at} o16`);
    out.push(`${m}d - | ${hex(op + 1)} | ${f} | ${at} o32`);
  }
  return out;
}

/** The table. Order matters only to the assembler: among forms of equal length the first wins. */
export const TABLE_LINES: readonly string[] = [
  // prefixes (the decoder consumes these; listed so the table is complete)
  'lock - | F0 | | prefix', 'repne - | F2 | | prefix', 'rep - | F3 | | prefix',
  'es - | 26 | | prefix', 'cs - | 2E | | prefix', 'ss - | 36 | | prefix', 'ds - | 3E | | prefix',
  'fs - | 64 | | prefix', 'gs - | 65 | | prefix', 'o16 - | 66 | | prefix', 'a16 - | 67 | | prefix',

  ...aluLines(),
  'test rm8,r8 | 84 /r | w=oszpc u=a |',
  'test rmv,rv | 85 /r | w=oszpc u=a |',
  'test r8,rm8 | 84 /r | w=oszpc u=a | asm',
  'test rv,rmv | 85 /r | w=oszpc u=a | asm',
  'test al,imm8 | A8 | w=oszpc u=a |',
  'test eAX,immv | A9 | w=oszpc u=a |',
  'test rm8,imm8 | F6 /0 | w=oszpc u=a |',
  'test rmv,immv | F7 /0 | w=oszpc u=a |',
  'test rm8,imm8 | F6 /1 | w=oszpc u=a | alias',
  'test rmv,immv | F7 /1 | w=oszpc u=a | alias',
  'not rm8 | F6 /2 | | lock', 'not rmv | F7 /2 | | lock',
  'neg rm8 | F6 /3 | w=oszapc | lock', 'neg rmv | F7 /3 | w=oszapc | lock',
  'mul rm8 | F6 /4 | w=oc u=szap |', 'mul rmv | F7 /4 | w=oc u=szap |',
  'imul rm8 | F6 /5 | w=oc u=szap |', 'imul rmv | F7 /5 | w=oc u=szap |',
  'div rm8 | F6 /6 | u=oszapc |', 'div rmv | F7 /6 | u=oszapc |',
  'idiv rm8 | F6 /7 | u=oszapc |', 'idiv rmv | F7 /7 | u=oszapc |',
  'imul rv,rmv | 0F AF /r | w=oc u=szap |',
  'imul rv,rmv,simm8 | 6B /r | w=oc u=szap |',
  'imul rv,rmv,immv | 69 /r | w=oc u=szap |',
  'inc rv | 40+r | w=oszap |', 'dec rv | 48+r | w=oszap |',
  'inc rm8 | FE /0 | w=oszap | lock', 'inc rmv | FF /0 | w=oszap | lock',
  'dec rm8 | FE /1 | w=oszap | lock', 'dec rmv | FF /1 | w=oszap | lock',
  ...shiftLines(),
  'shld rmv,rv,imm8 | 0F A4 /r | w=szpc u=oa |', 'shld rmv,rv,cl | 0F A5 /r | w=szpc u=oa |',
  'shrd rmv,rv,imm8 | 0F AC /r | w=szpc u=oa |', 'shrd rmv,rv,cl | 0F AD /r | w=szpc u=oa |',

  // data movement
  'mov rm8,r8 | 88 /r | |', 'mov rmv,rv | 89 /r | |',
  'mov r8,rm8 | 8A /r | |', 'mov rv,rmv | 8B /r | |',
  'mov rrv,sreg | 8C /r | |', 'mov m16,sreg | 8C /r | |',
  'mov sreg,rrw | 8E /r | | stop', 'mov sreg,m16 | 8E /r | | stop',
  'mov al,moffs8 | A0 | |', 'mov eAX,moffsv | A1 | |',
  'mov moffs8,al | A2 | |', 'mov moffsv,eAX | A3 | |',
  'mov r8,imm8 | B0+r | |', 'mov rv,immv | B8+r | |',
  'mov rm8,imm8 | C6 /0 | |', 'mov rmv,immv | C7 /0 | |',
  'mov rr32,cr | 0F 20 /r | u=oszapc | cpl0', 'mov rr32,dr | 0F 21 /r | u=oszapc | cpl0',
  'mov cr,rr32 | 0F 22 /r | u=oszapc | cpl0 stop', 'mov dr,rr32 | 0F 23 /r | u=oszapc | cpl0',
  'mov rr32,tr | 0F 24 /r | u=oszapc | cpl0', 'mov tr,rr32 | 0F 26 /r | u=oszapc | cpl0',
  'movzx rv,rm8 | 0F B6 /r | |', 'movzx rv,rm16 | 0F B7 /r | |',
  'movsx rv,rm8 | 0F BE /r | |', 'movsx rv,rm16 | 0F BF /r | |',
  'nop - | 90 | |',
  'xchg eAX,rv | 90+r | |', 'xchg rv,eAX | 90+r | | asm',
  'xchg r8,rm8 | 86 /r | | lock asm', 'xchg rm8,r8 | 86 /r | | lock',
  'xchg rv,rmv | 87 /r | | lock asm', 'xchg rmv,rv | 87 /r | | lock',
  'lea rv,m | 8D /r | |',
  'les rv,mfar | C4 /r | |', 'lds rv,mfar | C5 /r | |', 'lss rv,mfar | 0F B2 /r | |',
  'lfs rv,mfar | 0F B4 /r | |', 'lgs rv,mfar | 0F B5 /r | |',
  'push rv | 50+r | |', 'pop rv | 58+r | |',
  'push rmv | FF /6 | |', 'pop rmv | 8F /0 | |',
  'push simm8 | 6A | |', 'push immv | 68 | |',
  'push es | 06 | |', 'push cs | 0E | |', 'push ss | 16 | |', 'push ds | 1E | |',
  'push fs | 0F A0 | |', 'push gs | 0F A8 | |',
  'pop es | 07 | |', 'pop ss | 17 | | stop', 'pop ds | 1F | |',
  'pop fs | 0F A1 | |', 'pop gs | 0F A9 | |',
  'pusha - | 60 | | o16', 'pushad - | 60 | | o32',
  'popa - | 61 | | o16', 'popad - | 61 | | o32',
  'pushf - | 9C | r=oszapcdtinl |  o16', 'pushfd - | 9C | r=oszapcdtinl | o32',
  'popf - | 9D | w=oszapcdtinl | o16 stop', 'popfd - | 9D | w=oszapcdtinl | o32 stop',
  'sahf - | 9E | w=szapc |', 'lahf - | 9F | r=szapc |',
  'cbw - | 98 | | o16', 'cwde - | 98 | | o32',
  'cwd - | 99 | | o16', 'cdq - | 99 | | o32',
  'xlatb - | D7 | |',
  'bound rv,m | 62 /r | |',
  'arpl rm16,r16 | 63 /r | w=z | pm',
  'enter imm16,imm8 | C8 | |', 'leave - | C9 | |',

  // bit operations
  'bt rmv,rv | 0F A3 /r | w=c u=oszap |', 'bts rmv,rv | 0F AB /r | w=c u=oszap | lock',
  'btr rmv,rv | 0F B3 /r | w=c u=oszap | lock', 'btc rmv,rv | 0F BB /r | w=c u=oszap | lock',
  'bt rmv,imm8 | 0F BA /4 | w=c u=oszap |', 'bts rmv,imm8 | 0F BA /5 | w=c u=oszap | lock',
  'btr rmv,imm8 | 0F BA /6 | w=c u=oszap | lock', 'btc rmv,imm8 | 0F BA /7 | w=c u=oszap | lock',
  'bsf rv,rmv | 0F BC /r | w=z u=osapc |', 'bsr rv,rmv | 0F BD /r | w=z u=osapc |',

  // BCD and flags
  'daa - | 27 | r=ac w=szapc u=o |', 'das - | 2F | r=ac w=szapc u=o |',
  'aaa - | 37 | r=a w=ac u=oszp |', 'aas - | 3F | r=a w=ac u=oszp |',
  'aam - | D4 0A | w=szp u=oac | asm', 'aam imm8 | D4 | w=szp u=oac |',
  'aad - | D5 0A | w=szp u=oac | asm', 'aad imm8 | D5 | w=szp u=oac |',
  'salc - | D6 | r=c | alias',
  'clc - | F8 | w=c |', 'stc - | F9 | w=c |', 'cmc - | F5 | r=c w=c |',
  'cld - | FC | w=d |', 'std - | FD | w=d |',
  'cli - | FA | w=i | iopl', 'sti - | FB | w=i | iopl stop',

  // control transfer
  ...ccLines(),
  'jmp rel8 | EB | | stop', 'jmp relv | E9 | | stop',
  'jmp rmv | FF /4 | | stop', 'jmp ptr | EA | | stop', 'jmp mfar | FF /5 | | stop',
  'call relv | E8 | | stop', 'call rmv | FF /2 | | stop',
  'call ptr | 9A | | stop', 'call mfar | FF /3 | | stop',
  'ret - | C3 | | stop', 'ret imm16 | C2 | | stop',
  'retf - | CB | | stop', 'retf imm16 | CA | | stop',
  'jcxz rel8 | E3 | | a16 stop', 'jecxz rel8 | E3 | | a32 stop',
  'loop rel8 | E2 | | stop', 'loope rel8 | E1 | r=z | stop', 'loopne rel8 | E0 | r=z | stop',
  'int3 - | CC | w=tn | stop', 'int imm8 | CD | w=tn | stop', 'into - | CE | r=o w=tn | stop',
  'int1 - | F1 | w=tn | stop alias',
  'iret - | CF | w=oszapcdtinl | o16 stop', 'iretd - | CF | w=oszapcdtinl | o32 stop',
  'hlt - | F4 | | cpl0 stop',

  // I/O
  'in al,imm8 | E4 | | iopl', 'in eAX,imm8 | E5 | | iopl',
  'in al,dx | EC | | iopl', 'in eAX,dx | ED | | iopl',
  'out imm8,al | E6 | | iopl', 'out imm8,eAX | E7 | | iopl',
  'out dx,al | EE | | iopl', 'out dx,eAX | EF | | iopl',
  ...stringLines(),

  // system
  'sldt rrv | 0F 00 /0 | | pm', 'sldt m16 | 0F 00 /0 | | pm', 'str rrv | 0F 00 /1 | | pm', 'str m16 | 0F 00 /1 | | pm',
  'lldt rm16 | 0F 00 /2 | | pm cpl0', 'ltr rm16 | 0F 00 /3 | | pm cpl0',
  'verr rm16 | 0F 00 /4 | w=z | pm', 'verw rm16 | 0F 00 /5 | w=z | pm',
  'sgdt m | 0F 01 /0 | |', 'sidt m | 0F 01 /1 | |',
  'lgdt m | 0F 01 /2 | | cpl0', 'lidt m | 0F 01 /3 | | cpl0',
  'smsw rrv | 0F 01 /4 | |', 'smsw m16 | 0F 01 /4 | |', 'lmsw rm16 | 0F 01 /6 | | cpl0 stop',
  'lar rv,rm16 | 0F 02 /r | w=z | pm', 'lsl rv,rm16 | 0F 03 /r | w=z | pm',
  'lar rv,rrw | 0F 02 /r | w=z | pm asm', 'lsl rv,rrw | 0F 03 /r | w=z | pm asm',
  'clts - | 0F 06 | | cpl0',

  // x87: the forms an i386 kernel uses; every other escape decodes as `esc` (for its length)
  'fninit - | DB E3 | | fpu', 'fnclex - | DB E2 | | fpu',
  'fnstsw ax | DF E0 | | fpu', 'fnstsw m16 | DD /7 | | fpu',
  'fnstcw m16 | D9 /7 | | fpu', 'fldcw m16 | D9 /5 | | fpu',
  'fnsave m | DD /6 | | fpu', 'frstor m | DD /4 | | fpu',
  'wait - | 9B | |', 'fwait - | 9B | | asm',
  'finit - | 9B DB E3 | | fpu asm', 'fclex - | 9B DB E2 | | fpu asm',
  'fstsw ax | 9B DF E0 | | fpu asm', 'fstsw m16 | 9B DD /7 | | fpu asm',
  'fstcw m16 | 9B D9 /7 | | fpu asm', 'fsave m | 9B DD /6 | | fpu asm',
  ...[0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf].map((op) => `esc - | ${hex(op)} /r | | fpu alias`),
];

/** Assembler spellings that name the same instruction as a table mnemonic. */
export const MNEMONIC_ALIASES: Readonly<Record<string, string>> = {
  jb: 'jc', jnae: 'jc', jae: 'jnc', jnb: 'jnc', je: 'jz', jne: 'jnz', jbe: 'jna', jnbe: 'ja',
  jp: 'jpe', jnp: 'jpo', jnge: 'jl', jge: 'jnl', jle: 'jng', jnle: 'jg',
  setb: 'setc', setnae: 'setc', setae: 'setnc', setnb: 'setnc', sete: 'setz', setne: 'setnz',
  setbe: 'setna', setnbe: 'seta', setp: 'setpe', setnp: 'setpo', setnge: 'setl', setge: 'setnl',
  setle: 'setng', setnle: 'setg',
  loopz: 'loope', loopnz: 'loopne', xlat: 'xlatb', pushfw: 'pushf', popfw: 'popf',
  pushaw: 'pusha', popaw: 'popa', iretw: 'iret', retn: 'ret', icebp: 'int1', int01: 'int1',
  repe: 'rep', repz: 'rep', repnz: 'repne', sal: 'shl',
};

function flagMask(letters: string): number {
  let m = 0;
  for (const ch of letters) {
    const bit = (FLAG as Record<string, number>)[ch];
    if (bit === undefined) throw new Error(`opcode table: unknown flag letter '${ch}'`);
    m |= bit;
  }
  return m;
}

const ATTRS = new Set<Attr>([
  'o16', 'o32', 'a16', 'a32', 'lock', 'rep', 'repcc', 'pm', 'cpl0', 'iopl', 'alias', 'asm', 'fpu',
  'prefix', 'stop',
]);

/** Parses one table line; throws naming the line when it is malformed. */
export function parseFormLine(line: string, id: number): Form {
  const cols = line.split('|').map((s) => s.trim());
  if (cols.length !== 4) throw new Error(`opcode table: expected 4 columns: ${line}`);
  const [head, opcodeText, flagText, attrText] = cols;
  const sp = head.indexOf(' ');
  const mnemonic = head.slice(0, sp);
  const opText = head.slice(sp + 1).trim();
  const operands = opText === '-' ? [] : (opText.split(',') as OperandKind[]);
  for (const k of operands) {
    if (!OPERAND_KINDS.includes(k)) throw new Error(`opcode table: unknown operand kind '${k}': ${line}`);
  }
  const opcode: number[] = [];
  let ext = -1;
  let modrm = false;
  let plusReg = false;
  for (const tok of opcodeText.split(/\s+/)) {
    if (tok === '/r') modrm = true;
    else if (/^\/[0-7]$/.test(tok)) {
      modrm = true;
      ext = Number(tok[1]);
    } else if (/^[0-9A-F]{2}\+r$/.test(tok)) {
      opcode.push(parseInt(tok, 16));
      plusReg = true;
    } else if (/^[0-9A-F]{2}$/.test(tok)) opcode.push(parseInt(tok, 16));
    else throw new Error(`opcode table: bad opcode token '${tok}': ${line}`);
  }
  let reads = 0;
  let writes = 0;
  let undef = 0;
  for (const tok of flagText.split(/\s+/).filter(Boolean)) {
    const [k, v] = tok.split('=');
    if (k === 'r') reads |= flagMask(v);
    else if (k === 'w') writes |= flagMask(v);
    else if (k === 'u') undef |= flagMask(v);
    else throw new Error(`opcode table: bad flags '${tok}': ${line}`);
  }
  const attrs = new Set<Attr>();
  for (const a of attrText.split(/\s+/).filter(Boolean)) {
    if (!ATTRS.has(a as Attr)) throw new Error(`opcode table: unknown attribute '${a}': ${line}`);
    attrs.add(a as Attr);
  }
  // x87 forms written as `DB E3` carry their ModRM byte in the opcode.
  let fixedModrm = -1;
  if (attrs.has('fpu') && !modrm) {
    const at = attrs.has('asm') ? 2 : 1;
    if (opcode.length === at + 1) fixedModrm = opcode[at];
  }
  return {
    id, mnemonic, operands, opcode, ext, modrm, plusReg, fixedModrm, reads, writes,
    undefinedFlags: undef, attrs,
    osize: attrs.has('o16') ? 16 : attrs.has('o32') ? 32 : 0,
    asize: attrs.has('a16') ? 16 : attrs.has('a32') ? 32 : 0,
    line,
  };
}

export const FORMS: readonly Form[] = TABLE_LINES.map((l, i) => parseFormLine(l, i));

/** Forms by mnemonic, in table order (for the assembler). */
export const FORMS_BY_MNEMONIC: ReadonlyMap<string, readonly Form[]> = (() => {
  const m = new Map<string, Form[]>();
  for (const f of FORMS) {
    if (f.attrs.has('prefix')) continue;
    let list = m.get(f.mnemonic);
    if (!list) m.set(f.mnemonic, (list = []));
    list.push(f);
  }
  return m;
})();

/** Operand kinds that live in the ModRM r/m field. */
export const RM_KINDS: ReadonlySet<OperandKind> = new Set<OperandKind>([
  'rm8', 'rm16', 'rm32', 'rmv', 'm', 'm16', 'm32', 'mfar', 'rrv', 'rr32', 'rrw',
]);
/** r/m kinds that must be memory. */
export const MEM_ONLY_KINDS: ReadonlySet<OperandKind> = new Set<OperandKind>(['m', 'm16', 'm32', 'mfar']);
/** r/m kinds that must be a register. */
export const REG_ONLY_KINDS: ReadonlySet<OperandKind> = new Set<OperandKind>(['rrv', 'rr32', 'rrw']);
