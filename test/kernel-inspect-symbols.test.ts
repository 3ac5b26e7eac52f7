// The one symbol module (emulator/debug/symbols.ts) and kernel profile detection: both map
// formats, the rule for a name defined twice, the rule for how far a name reaches, one-line
// errors; on the Linux 0.11 kit, System.map and kernel.map agree name for name, and the
// debugger and `forklab trace --from` resolve a duplicated name to the same address.
import { describe, expect, it } from 'vitest';
import { SymbolMap, SYMBOL_REACH } from '../emulator/debug/symbols';
import { detectProfile, profileByName, FORKLAB, LINUX_011 } from '../kernel/inspect';
import { parseLocation } from '../tools/trace-command';
import { buildImage } from '../tools/build-image';
import { haveKit, kitSymbols } from './linux011-kit';
import { resolve } from 'node:path';

describe('SymbolMap', () => {
  const map = SymbolMap.parse([
    '00000000 T startup_32', '00000000 T pg_dir', '00001000 t pg0',
    '000077bd t die', '000081e7 T copy_process', '000081f0 copy_process.loop',
    '00016e86 t die', '00026f78 B end', '',
  ].join('\n'));

  it('reads nm lines (type kept, locals included) and forklab lines, mixed', () => {
    expect(map.addr('copy_process')).toBe(0x81e7);
    expect(map.addr('copy_process.loop')).toBe(0x81f0);
    expect(map.definitions('pg0')).toEqual([{ name: 'pg0', address: 0x1000, type: 't' }]);
    expect(map.definitions('copy_process.loop')).toEqual([{ name: 'copy_process.loop', address: 0x81f0 }]);
    expect(map.size).toBe(7);
  });

  it('a name defined twice means its lowest address; definitions lists both', () => {
    expect(map.addr('die')).toBe(0x77bd);
    expect(map.definitions('die').map((d) => d.address)).toEqual([0x77bd, 0x16e86]);
  });

  it('names an address by the nearest symbol below, within SYMBOL_REACH; the last only at itself', () => {
    expect(map.at(0)).toBe('startup_32'); // of two names at one address, the first in the map
    expect(map.describe(0x81e7 + 5)).toBe('copy_process+0x5');
    expect(map.describe(0x81f2)).toBe('copy_process.loop+0x2');
    expect(map.describe(0x16e86)).toBe('die');
    expect(map.describe(0x16e86 + SYMBOL_REACH - 1)).toBe(`die+0x${(SYMBOL_REACH - 1).toString(16)}`);
    expect(map.describe(0x26f78)).toBe('end');
    expect(map.describe(0x26f79)).toBeUndefined(); // past the image's end
    const far = SymbolMap.parse('00001000 a\n00100000 b\n');
    expect(far.describe(0x1000 + SYMBOL_REACH)).toBeUndefined();
    // a local label does not win over the function at its address
    expect(SymbolMap.parse('00000010 f.loop\n00000010 f\n00000020 g\n').describe(0x12)).toBe('f+0x2');
  });

  it('a bad line, a value beyond 32 bits or an empty map is one line naming the source', () => {
    expect(() => SymbolMap.parse('00000000 pg_dir\nnonsense here too\n', 'x.map')).toThrow(/^x\.map:2: expected "XXXXXXXX name" or nm's "XXXXXXXX T name", got "nonsense here too"$/);
    expect(() => SymbolMap.parse('100000000 T big\n', 'x.map')).toThrow(/^x\.map:1: expected/);
    expect(() => SymbolMap.parse('\n\n', 'x.map')).toThrow(/^x\.map: no symbols in it$/);
    expect(() => map.addr('nope')).toThrow(/^kernel symbol "nope" is not in the symbol map$/);
  });
});

describe('kernel profiles', () => {
  it("detects forklab's kernel from its map; names are looked up; unknown names and maps are one line", () => {
    const ours = new SymbolMap(buildImage(resolve(import.meta.dirname, '..')).symbols);
    expect(detectProfile(ours)).toBe(FORKLAB);
    expect(profileByName('linux-0.11')).toBe(LINUX_011);
    expect(() => profileByName('minix')).toThrow(/^unknown kernel profile 'minix' \(known: forklab, linux-0\.11\)$/);
    expect(() => detectProfile(SymbolMap.parse('00007c00 start\n'))).toThrow(/^the symbol map matches no kernel profile \(forklab needs cow_faults, .*; linux-0\.11 needs sys_setup, .*\)$/);
  });

  it.runIf(haveKit())('the kit: System.map and kernel.map agree, detect linux-0.11, and trace/debug resolve die alike', () => {
    const nm = kitSymbols('System.map');
    const plain = kitSymbols('kernel.map');
    expect(nm.entries().length).toBe(plain.entries().length);
    for (const s of plain.entries()) expect(nm.lookup(s.name), s.name).toBe(plain.lookup(s.name));
    expect(nm.definitions('die').map((d) => [d.address, d.type])).toEqual([[0x77bd, 't'], [0x16e86, 't']]);
    expect(detectProfile(nm)).toBe(LINUX_011);
    expect(detectProfile(plain)).toBe(LINUX_011);
    expect(parseLocation('from', 'die', nm)).toBe(0x77bd);
    expect(parseLocation('from', 'die+4', plain)).toBe(0x77c1);
    expect(nm.describe(0x81e7 + 0x7)).toBe('copy_process+0x7');
    expect(nm.addr('mem_map')).toBe(0x246a0); // a local (b) symbol
  });
});
