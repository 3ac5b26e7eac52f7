// The kernel's symbol map: build/kernel.map ("XXXXXXXX name" per line, as `forklab build`
// and kernel/build-nasm.sh write it) or the symbol list of tools/build-image.ts.

export interface KernelSymbol {
  name: string;
  address: number;
}

export class SymbolMap {
  private readonly byName = new Map<string, number>();

  constructor(symbols: Iterable<KernelSymbol>) {
    for (const s of symbols) this.byName.set(s.name, s.address >>> 0);
  }

  /** Parses the text of a kernel.map; a malformed line is a one-line error naming it. */
  static parse(text: string): SymbolMap {
    const out: KernelSymbol[] = [];
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === '') continue;
      const m = /^([0-9A-Fa-f]{1,8})\s+(\S+)$/.exec(line);
      if (!m) throw new Error(`kernel.map line ${i + 1}: expected "XXXXXXXX name", got "${line.slice(0, 60)}"`);
      out.push({ name: m[2], address: parseInt(m[1], 16) });
    }
    return new SymbolMap(out);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The address of `name`; a missing symbol is a one-line error. */
  addr(name: string): number {
    const a = this.byName.get(name);
    if (a === undefined) throw new Error(`kernel symbol "${name}" is not in the symbol map`);
    return a;
  }

  get size(): number {
    return this.byName.size;
  }

  entries(): KernelSymbol[] {
    return [...this.byName].map(([name, address]) => ({ name, address })).sort((a, b) => a.address - b.address);
  }
}
