// Symbol maps: the one reader of a kernel's symbols, for the debugger, the trace recorder,
// the command line and kernel/inspect. It knows no kernel: a symbol map is what a linker or
// an assembler says about an image, and any image can have one.
//
// Two formats, one line per symbol, blank lines ignored:
//   00007c00 start           forklab's kernel.map (tools/asm, forklab build)
//   000081e7 T copy_process  `nm -n` / a Linux System.map: address, type letter, name;
//                            local symbols (lower-case types) included
// Both may be mixed; the type letter is kept when given.
//
// The rules, the same for every user:
//  - a name defined more than once (local symbols of different files: Linux 0.11's `die`
//    in traps.c and keyboard.S) means its lowest address; `definitions(name)` lists all;
//  - of several names at one address, a name without a '.' (a function, not a local label)
//    is preferred, then the first in the map;
//  - an address is named after the nearest symbol at or below it, up to the next symbol and
//    at most SYMBOL_REACH bytes past it; the last symbol (the image's end: `end`,
//    `kernel_end`) names only its own address.

export interface KernelSymbol {
  name: string;
  address: number;
  /** The nm type letter (T t D d B b R r A W ...) when the map gives one. */
  type?: string;
}

/** How far past its address a symbol names an address (when the next symbol is further). */
export const SYMBOL_REACH = 0x10000;

export class SymbolMap {
  private readonly byName = new Map<string, KernelSymbol[]>();
  /** One preferred name per distinct address, ascending. */
  private readonly addrs: Uint32Array;
  private readonly names: string[] = [];
  private readonly sorted: KernelSymbol[];

  constructor(symbols: Iterable<KernelSymbol>) {
    const list: KernelSymbol[] = [];
    for (const s of symbols) {
      const sym: KernelSymbol = s.type === undefined ? { name: s.name, address: s.address >>> 0 } : { name: s.name, address: s.address >>> 0, type: s.type };
      list.push(sym);
      const defs = this.byName.get(sym.name);
      if (defs) defs.push(sym);
      else this.byName.set(sym.name, [sym]);
    }
    for (const defs of this.byName.values()) defs.sort((a, b) => a.address - b.address);
    // stable sort: at one address, undotted names first, then map order
    this.sorted = list.map((s, i) => ({ s, i })).sort((a, b) =>
      a.s.address - b.s.address || Number(a.s.name.includes('.')) - Number(b.s.name.includes('.')) || a.i - b.i,
    ).map((e) => e.s);
    const addrs: number[] = [];
    for (const s of this.sorted) {
      if (addrs.length && addrs[addrs.length - 1] === s.address) continue;
      addrs.push(s.address);
      this.names.push(s.name);
    }
    this.addrs = Uint32Array.from(addrs);
  }

  /** Parses a symbol map in either format; a malformed line is a one-line error naming
   *  `source`, the line number and both formats. */
  static parse(text: string, source = 'symbol map'): SymbolMap {
    const out: KernelSymbol[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      const m = /^([0-9A-Fa-f]{1,16})\s+(?:([A-Za-z?-])\s+)?(\S+)$/.exec(line);
      const value = m ? BigInt('0x' + m[1]) : 0n;
      if (!m || value > 0xffffffffn) {
        throw new Error(`${source}:${i + 1}: expected "XXXXXXXX name" or nm's "XXXXXXXX T name", got "${line.slice(0, 60)}"`);
      }
      out.push(m[2] === undefined ? { name: m[3], address: Number(value) } : { name: m[3], address: Number(value), type: m[2] });
    }
    if (out.length === 0) throw new Error(`${source}: no symbols in it`);
    return new SymbolMap(out);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The address of `name` (its lowest, when defined more than once), or undefined. */
  lookup(name: string): number | undefined {
    return this.byName.get(name)?.[0].address;
  }

  /** The address of `name`; a missing symbol is a one-line error. */
  addr(name: string): number {
    const a = this.lookup(name);
    if (a === undefined) throw new Error(`kernel symbol "${name}" is not in the symbol map`);
    return a;
  }

  /** Every definition of `name`, lowest address first ([] when none). */
  definitions(name: string): KernelSymbol[] {
    return [...(this.byName.get(name) ?? [])];
  }

  /** Distinct names. */
  get size(): number {
    return this.byName.size;
  }

  /** Every symbol, by address (at one address in the order of preference). */
  entries(): KernelSymbol[] {
    return [...this.sorted];
  }

  /** The preferred name at exactly `address`. */
  at(address: number): string | undefined {
    const k = this.below(address >>> 0);
    return k >= 0 && this.addrs[k] === address >>> 0 ? this.names[k] : undefined;
  }

  /** `name` or `name+0xN` by the reach rule above; undefined when no symbol names it. */
  describe(address: number): string | undefined {
    const a = address >>> 0;
    const k = this.below(a);
    if (k < 0) return undefined;
    const off = a - this.addrs[k];
    if (off === 0) return this.names[k];
    if (k === this.addrs.length - 1 || off >= SYMBOL_REACH) return undefined;
    return `${this.names[k]}+0x${off.toString(16)}`;
  }

  /** Index of the last distinct address <= a, or -1. */
  private below(a: number): number {
    const A = this.addrs;
    let lo = 0, hi = A.length - 1, k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (A[mid] <= a) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return k;
  }
}
