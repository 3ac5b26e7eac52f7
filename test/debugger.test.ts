// The debugger's command engine (emulator/debug/debugger.ts) on the forklab kernel: each
// command's output against what the machine and kernel/inspect say, and each error as one
// line. The tests of a describe block share one machine and run in order.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { buildImage } from '../tools/build-image';
import { Machine, DiskImage, floppyGeometry, SymbolMap, KernelInspector, Debugger, debuggerExtension, attachKernel } from '../index';

const ROOT = resolve(import.meta.dirname, '..');
let image: Uint8Array;
let sym: SymbolMap;
const boot = () => new Machine({ fda: new DiskImage(image.slice(), floppyGeometry(image.length)!) });
const h8 = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

beforeAll(() => {
  const b = buildImage(ROOT);
  image = b.image;
  sym = new SymbolMap(b.symbols);
});

/** Runs a command that must succeed and returns its output. */
async function ok(d: Debugger, line: string): Promise<string> {
  const r = await d.execute(line);
  expect(r.error, `${line}: ${r.error}`).toBeUndefined();
  return r.output;
}

/** Runs a command that must fail and returns its one-line error. */
async function fails(d: Debugger, line: string): Promise<string> {
  const r = await d.execute(line);
  expect(r.error, `${line} should fail; output ${r.output}`).toBeDefined();
  expect(r.error!.includes('\n'), r.error).toBe(false);
  expect(r.output).toBe('');
  return r.error!;
}

describe('debugger: at the reset vector', () => {
  let m: Machine;
  let d: Debugger;
  beforeAll(() => {
    m = boot();
    d = new Debugger(m, { symbols: sym });
  });

  it('shows real-mode registers, disassembly and a paging-off translation', async () => {
    const regs = await ok(d, 'regs');
    expect(regs).toMatch(/^eip 0x0000fff0$/m);
    expect(regs).toMatch(/^cs  0xf000 {2}base 0xffff0000 limit 0x0000ffff code r-x 16-bit$/m);
    expect(await ok(d, 'info registers')).toBe(regs);
    expect(await ok(d, 'info registers eip $cs')).toBe('eip      0x0000fff0  65520\ncs       0xf000  61440');
    expect(await fails(d, 'info registers xyz')).toBe("info registers: no register 'xyz'");
    expect(await ok(d, 'translate 0x12345')).toBe('linear 0x00012345: paging is off, physical 0x00012345');
    const dis = await ok(d, 'disas');
    expect(dis.split('\n')[0]).toMatch(/^=> 0xfffffff0:\t(\S\S )+ *\S/);
    expect(await ok(d, 'info ldt')).toBe('LDTR is null: no LDT loaded');
    expect(await ok(d, 'info tss')).toBe('TR is null: no task state segment loaded');
  });

  it('steps exactly N instructions', async () => {
    const n = m.instructions;
    expect(await ok(d, 'stepi')).toMatch(/^=> 0x[0-9a-f]{8}/);
    expect(m.instructions).toBe(n + 1);
    await ok(d, 'stepi 10');
    expect(m.instructions).toBe(n + 11);
    expect(await fails(d, 'stepi x')).toBe("step: 'x' is not a count");
  });

  it('evaluates expressions with symbols, registers, arithmetic and dereference', async () => {
    expect(await ok(d, 'print copy_process + 0x10')).toBe(`${h8(sym.addr('copy_process') + 16)} (${sym.addr('copy_process') + 16}) <copy_process+0x10>`);
    expect(await ok(d, 'p (2 + 3) * 4 == 20 && !0')).toMatch(/^0x00000001 /);
    expect(await ok(d, 'p $eip - eip')).toMatch(/^0x00000000 /);
    expect(await ok(d, 'p 1 << 4 | 1')).toMatch(/^0x00000011 /);
    expect(await fails(d, 'p 1 +')).toBe("bad expression '1 +' (it ends too soon)");
    expect(await fails(d, 'p nosuch + 1')).toBe("no symbol 'nosuch' in the symbol map");
    expect(await fails(d, 'p $nosuch')).toBe('no register $nosuch');
    expect(await fails(d, 'p 1 / 0')).toBe("division by zero in '1 / 0'");
    expect(await fails(d, 'p 0x123456789')).toBe('0x123456789 does not fit in 32 bits');
    expect(await fails(d, 'p (1')).toBe("bad expression '(1' (missing ')')");
    expect(await fails(d, 'p 1 @ 2')).toBe("bad expression '1 @ 2' (at '@ 2')");
  });

  it('answers unknown commands and subjects in one line', async () => {
    expect(await fails(d, 'frobnicate')).toBe("unknown command 'frobnicate' (try 'help')");
    expect(await fails(d, 'info')).toMatch(/^info: what\?/);
    expect(await fails(d, 'info frob')).toMatch(/^info: unknown subject 'frob'/);
    expect(await fails(d, 'regs now')).toBe("regs: takes no arguments (got 'now')");
    expect(await fails(d, 'break')).toBe('break: give an address or symbol');
    expect(await fails(d, 'delete 9')).toBe('delete: no breakpoint number 9');
    expect(await fails(d, 'delete x')).toBe("delete: 'x' is not a breakpoint number");
    expect(await fails(d, 'watch')).toBe('watch: give an address (linear, or phys:ADDR)');
    expect(await fails(d, 'watch -l 0 0x100')).toBe('watch: length 0 is not 1..4096');
    expect(await fails(d, 'translate')).toBe('translate: give a linear address');
    expect(await fails(d, 'x')).toBe('x: give an address (linear, or phys:ADDR)'); // nothing examined yet
    expect(await ok(d, 'help')).toContain('x/NFU ADDR');
    expect((await d.execute('quit')).quit).toBe(true);
  });
});

describe('debugger: the kernel at its first fork', () => {
  let m: Machine;
  let d: Debugger;
  let k: KernelInspector;
  beforeAll(() => {
    m = boot();
    k = new KernelInspector(m.mem.u8, sym);
    d = new Debugger(m, { symbols: sym, extension: debuggerExtension(k) });
  });

  it('breaks at copy_process, lists and deletes breakpoints', async () => {
    const cp = sym.addr('copy_process');
    expect(await ok(d, 'break copy_process')).toBe(`Breakpoint 1 at ${h8(cp)} <copy_process>`);
    expect(await ok(d, 'tbreak copy_process.out')).toMatch(/^Temporary breakpoint 2 at 0x[0-9a-f]{8} <copy_process\.out>$/);
    expect(await ok(d, 'info breakpoints')).toBe([
      'Num  Type            Disp  Address     What',
      `1    breakpoint      keep  ${h8(cp)}  copy_process`,
      `2    breakpoint      del   ${h8(sym.addr('copy_process.out'))}  copy_process.out`,
    ].join('\n'));
    const stop = await ok(d, 'continue');
    expect(stop.split('\n')[0]).toBe(`Breakpoint 1, ${h8(cp)} <copy_process>`);
    expect(stop.split('\n')[1]).toMatch(new RegExp(`^=> ${h8(cp)} <copy_process>:\\t55 +push ebp$`));
    expect(m.cpu.eip).toBe(cp);
    expect(await ok(d, 'info breakpoints')).toContain('hit 1 time');
    await ok(d, 'delete 2');
    expect(await ok(d, 'info breakpoints')).not.toContain('copy_process.out');
  });

  it('the gdb stub and the debugger read and write registers through one accessor (the CPU\'s)', async () => {
    const t = m.debugTarget;
    const cs = m.cpu.sel[1], flags = m.cpu.getFlags();
    expect(t.readRegister('eflags')).toBe(Number(/\((\d+)\)/.exec(await ok(d, 'print $eflags'))![1]));
    // protected mode (stopped in copy_process): CS is loaded from its descriptor (target.ts), a selector beyond the GDT refused
    expect(t.writeRegister('cs', 0xfff8)).toBe(false);
    expect(t.writeRegister('cs', cs)).toBe(true);
    expect(m.cpu.readRegister('cs')).toBe(cs);
    expect(t.writeRegister('eflags', flags | 0x800)).toBe(true); // OF, as the CPU takes it
    expect(m.cpu.readRegister('eflags')).toBe((flags | 0x800) >>> 0);
    expect(t.writeRegister('eflags', flags)).toBe(true);
  });

  it('x shows memory in gdb\'s formats, linear or physical', async () => {
    const esp = m.cpu.regs[4] >>> 0;
    const w = (a: number) => k.mem.u32(a); // the kernel's stack is identity-mapped
    const x = await ok(d, 'x/8xw $esp');
    const lines = x.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`${h8(esp)} <init_task+0x${(esp - sym.addr('init_task')).toString(16)}>:\t${[0, 4, 8, 12].map((o) => h8(w(esp + o))).join('\t')}`);
    expect(await ok(d, 'x/8xw phys:$esp')).toBe(x.replace(/^0x/gm, 'phys 0x'));
    expect(await ok(d, 'x/2dw $esp')).toMatch(new RegExp(`:\\t${w(esp) | 0}\\t${w(esp + 4) | 0}$`));
    expect(await ok(d, 'x/4xb copy_process')).toMatch(/:\t0x55\t0x89\t0xe5\t0x53$/);
    expect(await ok(d, 'x/2xh copy_process')).toMatch(/:\t0x8955\t0x53e5$/);
    expect(await ok(d, 'x/3i $eip')).toBe((await ok(d, 'disas $eip 3')));
    expect((await ok(d, 'x/3i $eip')).split('\n')[2]).toMatch(/<copy_process\+0x3>:\t53 +push ebx$/);
    expect(await fails(d, 'x/8q $esp')).toMatch(/^x: bad format '\/8q'/);
    expect(await fails(d, 'x/0xw 0')).toBe('x: count 0 is not 1..4096');
    expect(await fails(d, 'x/4xw 0x3f000000')).toBe('cannot access memory at 0x3f000000 (not mapped)');
    expect(await fails(d, 'x/4i phys:0')).toBe('x/i: disassembles linear addresses only');
    // as gdb: x alone goes on after the last address with the last format; /N keeps the format
    expect(await ok(d, 'x/2xw $esp')).toBe(x.split('\n')[0].split('\t').slice(0, 3).join('\t'));
    expect(await ok(d, 'x')).toBe(`${h8(esp + 8)} <init_task+0x${(esp + 8 - sym.addr('init_task')).toString(16)}>:\t${h8(w(esp + 8))}`);
    expect(await ok(d, 'x/2')).toMatch(new RegExp(`^${h8(esp + 12)} <[^>]+>:\\t${h8(w(esp + 12))}\\t${h8(w(esp + 16))}$`));
  });

  it('disas marks EIP; regs show the kernel\'s flat segments', async () => {
    await ok(d, 'stepi 3');
    const dis = (await ok(d, 'disas')).split('\n');
    const at = dis.findIndex((l) => l.startsWith('=>'));
    expect(at).toBe(3); // from copy_process's start: three instructions before EIP
    expect(dis[0]).toContain('<copy_process>:');
    expect(dis[at]).toContain('<copy_process+0x4>');
    const regs = await ok(d, 'regs');
    expect(regs).toMatch(/^cs  0x0008  base 0x00000000 limit 0x00ffffff code r-x 32-bit$/m);
    expect(regs).toMatch(/^cr0 0x8000000[0-9a-f] /m); // PG and PE
  });

  it('next runs a call through; finish returns to the caller', async () => {
    await ok(d, 'stepi 2'); // push edi, then the call to get_free_page
    const pc = m.cpu.eip;
    expect(await ok(d, 'x/i $eip')).toMatch(/call get_free_page$/);
    const n = m.instructions;
    const r = await ok(d, 'next');
    expect(m.cpu.eip).toBe(pc + 5);
    expect(m.instructions - n).toBeGreaterThan(10); // get_free_page ran
    expect(r).toMatch(/^=> 0x[0-9a-f]{8} <copy_process\+0xb>:/);
    const fin = await ok(d, 'finish');
    expect(fin.split('\n')[0]).toMatch(/^Run till exit from 0x[0-9a-f]{8} <copy_process\+0xb>$/);
    expect(fin.split('\n')[1]).toMatch(/^=> 0x[0-9a-f]{8} <sys_fork\+0x[0-9a-f]+>:/);
    // fork returned the child's pid in eax, and copy_process's frame is gone
    expect(m.cpu.regs[0]).toBe(1);
    expect(k.task(1)?.pid).toBe(1);
  });

  it('info gdt/idt/ldt/tss/tlb decode the tables the CPU uses', async () => {
    const gdt = await ok(d, 'info gdt');
    expect(gdt.split('\n')[0]).toBe(`GDT at ${h8(m.cpu.gdtBase)} limit 0x07ff: 256 entries`);
    expect(gdt).toMatch(/^0x0008 {2}code r-x +dpl 0 P {2}base 0x00000000 limit 0x00ffffff \(4K pages\) 32-bit/m);
    expect(gdt).toMatch(/^0x0020 {2}TSS32 busy +dpl 0 P {2}base 0x[0-9a-f]{8} limit 0x00000068$/m);
    expect(gdt).toMatch(/^0x0038 {2}LDT +dpl 0 P/m); // task 1's LDT (FIRST_LDT_ENTRY + 2)
    expect(gdt).toMatch(/\(\d+ empty entries not shown\)$/);
    expect(await ok(d, 'info idt 0x80')).toMatch(/^128 \(0x80\) {2}trap gate32 +dpl 3 P {2}0x0008:0x[0-9a-f]{8} <system_call>$/m);
    expect(await ok(d, 'info idt 14')).toMatch(/^ 14 \(0x0e\) {2}trap gate32 +dpl 0 P {2}0x0008:0x[0-9a-f]{8} <page_fault>$/m);
    expect((await ok(d, 'info idt 13-15')).split('\n')).toHaveLength(4);
    expect(await fails(d, 'info idt 300')).toBe('info idt: entries 300 are outside 0..255');
    const ldt = await ok(d, 'info ldt');
    expect(ldt).toMatch(/^0x000c {2}code r-x +dpl 3 P {2}base 0x00000000 limit 0x0009ffff/m);
    const tss = await ok(d, 'info tss');
    expect(tss.split('\n')[0]).toMatch(/^TSS of TR 0x0020 at 0x[0-9a-f]{8} <init_task\+0x[0-9a-f]+> limit 0x0068 \(busy\)$/);
    expect(tss).toContain(`esp0 ${h8(k.task(0)!.tss.esp0)} ss0 0x0010`);
    const tlb = await ok(d, 'info tlb');
    expect(tlb.split('\n')[0]).toMatch(/^TLB: \d+ entr(y|ies) \(cr3 0x00000000\)$/);
    // the stack page was just used (finish popped the return address): it is in the TLB,
    // identity-mapped, not stale
    const spPage = h8(m.cpu.regs[4] & ~0xfff);
    expect(tlb).toMatch(new RegExp(`^${spPage}( <[^>]+>)? -> ${spPage} {2}[US] \\S+$`, 'm'));
    expect(tlb).not.toContain('STALE');
    // an entry the page tables no longer agree with (what a missing CR3 reload would leave
    // behind) is marked: plant one in the TLB and put it back
    const lp = (m.cpu.regs[4] >>> 12);
    const saved = m.cpu.tlbPhys[lp];
    m.cpu.tlbPhys[lp] = 0x00abc000;
    expect(await ok(d, 'info tlb')).toMatch(new RegExp(`^${spPage}( <[^>]+>)? -> 0x00abc000 {2}[US] \\S+ {2}STALE \\(tables now: ${spPage}\\)$`, 'm'));
    m.cpu.tlbPhys[lp] = saved;
  });

  it('translate shows the walk, and kernel-aware commands read the task table', async () => {
    const child = k.tasks().find((t) => t.pid === 1)!; // task 0 just forked init
    const lin = child.nr * 0x4000000 + sym.addr('cow_var');
    const tr = (await ok(d, `translate ${child.nr} * 0x4000000 + cow_var`)).split('\n');
    expect(tr[0]).toBe(`linear ${h8(lin)} <cow_var@task${child.nr}>: directory ${lin >>> 22}, table ${(lin >>> 12) & 0x3ff}, offset 0x${(lin & 0xfff).toString(16).padStart(3, '0')}`);
    const pde = k.pde(lin >>> 22);
    expect(tr[2]).toBe(`PDE  [${h8(lin >>> 22 << 2)}] = ${h8(pde)}  P RW U ${pde & 0x20 ? 'A' : '-'} -`);
    const phys = k.translate(lin)!;
    expect(tr[3]).toMatch(/^PTE {2}\[0x[0-9a-f]{8}\] = 0x[0-9a-f]{8} {2}P RO U/);
    // task 0's pages lie below LOW_MEM: shared with init but not counted in mem_map
    expect(phys).toBeLessThan(0x100000);
    expect(tr[4]).toBe(`physical ${h8(phys)}`);
    expect(await ok(d, 'translate 0x3f000000')).toMatch(/\nnot mapped: the directory entry is not present$/);

    const ps = (await ok(d, 'ps')).split('\n');
    expect(ps[0]).toMatch(/^ {2}NR +PID +FATHER +STATE/);
    expect(ps[1]).toMatch(/^\* {2}0 +0 +-1 {2}running/);
    expect(ps[2]).toMatch(new RegExp(`^ +${child.nr} +1 +0 {2}running`));
    const task = await ok(d, `task ${child.nr}`);
    expect(task.split('\n')[0]).toBe(`task ${child.nr}: task_struct at ${h8(child.addr)}`);
    expect(task).toContain(`ldt code: base ${h8(child.nr * 0x4000000)} limit 0x0009ffff code r-x dpl 3`);
    expect(task).toContain(`kernel stack: esp0 ${h8(child.addr + 4096)} ss0 0x0010`);

    const pt = (await ok(d, `pt ${child.nr}`)).split('\n');
    const pages = k.pages(child.nr);
    expect(pt[0]).toBe(`task ${child.nr} (pid 1): ${pages.length} pages mapped in ${h8(child.nr * 0x4000000)}-${h8(child.nr * 0x4000000 + 0x3ffffff)}`);
    expect(pt.length).toBe(2 + pages.length);
    // task 0's pages below 1 MB (LOW_MEM) are not in mem_map: shared but uncounted, read-only
    expect(pt[2]).toMatch(/^ {2}0x[0-9a-f]{8} {3}0x000[0-9a-f]{5} {3}P RO U [A-] [D-] +- {2}read-only/);
    const pt0 = await ok(d, 'pt 0');
    expect(pt0).toMatch(/\(4096 pages of the kernel's identity mapping pg0\.\.pg3 not listed\)$/);
    expect(await fails(d, 'pt 64')).toBe('pt: task slot 64 is outside 0..63');
    expect(await fails(d, 'pt')).toBe('pt: give a task slot number 0..63');
    expect(await fails(d, 'task 9')).toBe('task 9: the slot is empty');
    expect(await fails(d, 'task x')).toBe("task: give a task slot number 0..63 (got 'x')");

    const mm = (await ok(d, 'memmap')).split('\n');
    expect(mm[0]).toBe('mem_map: 3840 pages from 0x00100000 to HIGH_MEMORY 0x01000000 (0 beyond it, marked USED)');
    const free = k.freePages();
    expect(mm).toContain(`  free             ${String(free).padStart(5)} pages`);
    expect(mm).toContain(`  free pages (nr_free_pages): ${free}`);
  });

  it('watch (linear) reports old and new values; watch phys: catches the same store', async () => {
    await ok(d, 'delete');
    // the timer interrupt's store to jiffies
    const jiffies = sym.addr('jiffies');
    const before = k.mem.u32(jiffies);
    expect(await ok(d, 'watch jiffies')).toBe(`Hardware watchpoint 3: ${h8(jiffies)} <jiffies> (4 bytes)`);
    const hit = (await ok(d, 'continue')).split('\n');
    expect(hit[0]).toBe(`Hardware watchpoint 3: ${h8(jiffies)} <jiffies>`);
    expect(hit.slice(2, 4)).toEqual([`Old value = ${before}`, `New value = ${before + 1}`]);
    await ok(d, 'delete 3');
    expect(await ok(d, 'watch phys:jiffies')).toBe(`Hardware watchpoint 4: phys ${h8(jiffies)} <jiffies> (4 bytes)`);
    const hit2 = (await ok(d, 'continue')).split('\n');
    expect(hit2[0]).toBe(`Hardware watchpoint 4: phys ${h8(jiffies)} <jiffies>`);
    expect(hit2.slice(2, 4)).toEqual([`Old value = ${before + 1}`, `New value = ${before + 2}`]);
    await ok(d, 'delete');
    expect(await ok(d, 'rwatch current')).toMatch(/^Hardware read watchpoint 5: 0x[0-9a-f]{8} <current> \(4 bytes\)$/);
    const rd = (await ok(d, 'continue')).split('\n');
    expect(rd[0]).toMatch(/^Hardware read watchpoint 5: /);
    expect(rd[2]).toBe(`Value = ${k.mem.u32(sym.addr('current'))}`);
    await ok(d, 'delete');
    expect(await ok(d, 'info breakpoints')).toBe('No breakpoints or watchpoints.');
  });

  it('a conditional breakpoint stops only where its condition holds', async () => {
    // the third fork of the run: task[] then holds at least 3 tasks
    await ok(d, 'break copy_process if *(task + 4) != 0 && *(task + 8) != 0');
    const r = await ok(d, 'continue');
    expect(r.split('\n')[0]).toMatch(/^Breakpoint 6, 0x[0-9a-f]{8} <copy_process>$/);
    expect(k.taskPointer(1)).not.toBe(0);
    expect(k.taskPointer(2)).not.toBe(0);
    expect(await fails(d, 'break copy_process if nosuch')).toBe("no symbol 'nosuch' in the symbol map");
    await ok(d, 'delete');
  });

  it('continue N stops at the Nth breakpoint hit', async () => {
    await ok(d, 'break copy_process.out');
    const forks = () => k.tasks().length;
    await ok(d, 'continue');
    const first = m.instructions;
    const r = await ok(d, 'continue 2');
    expect(r.split('\n')[0]).toMatch(/^Breakpoint 7, 0x[0-9a-f]{8} <copy_process\.out>$/);
    expect(m.instructions).toBeGreaterThan(first);
    expect(await ok(d, 'info breakpoints')).toContain('hit 3 times');
    expect(forks()).toBeGreaterThan(1);
    expect(await fails(d, 'continue x')).toBe("continue: 'x' is not a count");
    await ok(d, 'delete');
  });

  it('continue is interrupted by interrupt() (Ctrl-C), and ends with the guest', async () => {
    const pending = d.execute('continue');
    await new Promise((r) => setImmediate(r));
    d.interrupt();
    const r = await pending;
    expect(r.output.split('\n')[0]).toBe('Program received SIGINT (stopped by the user)');
    expect(d.ended).toBeNull();
    const end = await ok(d, 'continue');
    expect(end).toMatch(/^\[Guest exited with status 1 \(port F4h value 0\) after \d+ instructions\]$/);
    expect(d.exitStatus).toBe(1);
    expect(await fails(d, 'stepi')).toBe('the guest is not running (exited with status 1)');
    expect(m.serialOutput()).toContain('every check passed');
  });

  it('history lists the commands in order', async () => {
    const h = (await ok(d, 'history')).split('\n');
    expect(h[0]).toBe('   1  break copy_process');
    expect(h[h.length - 1]).toMatch(/^ +\d+ {2}history$/);
    expect(h.length).toBe(d.history.length);
  });
});

describe('debugger: finish from the middle of a function', () => {
  it('finish in copy_process after copy_mem returned runs to copy_process\'s own return, past later calls', async () => {
    const m = boot();
    const d = new Debugger(m, { symbols: sym });
    await ok(d, 'break copy_mem');
    expect(await ok(d, 'continue')).toMatch(/Breakpoint 1, 0x[0-9a-f]{8} <copy_mem>/);
    await ok(d, 'delete');
    const back = (await ok(d, 'finish')).split('\n');
    expect(back[1]).toMatch(/^=> 0x[0-9a-f]{8} <copy_process(\.\w+)?\+0x[0-9a-f]+>:.*add esp,/);
    // copy_mem's two arguments are still on the stack here; copy_process calls
    // set_task_descs after popping them, whose return lies above this ESP
    const esp = m.cpu.regs[4] >>> 0;
    const fin = (await ok(d, 'finish')).split('\n');
    expect(fin[0]).toMatch(/^Run till exit from 0x[0-9a-f]{8} <copy_process(\.\w+)?\+0x[0-9a-f]+>$/);
    expect(fin[1]).toMatch(/^=> 0x[0-9a-f]{8} <sys_fork\+0x[0-9a-f]+>:/);
    // the frame is gone: ESP is above copy_process's return address, its arguments remain
    expect(m.cpu.regs[4] >>> 0).toBeGreaterThan(esp + 8);
    expect(m.cpu.regs[0]).toBe(1); // the child's pid
  });
});

describe('debugger: without a symbol map', () => {
  it('kernel-aware commands say what is missing; addresses stay numeric', async () => {
    const m = boot();
    // the debugger alone knows no kernel command; the command line plugs in the profile's
    // commands, which say why they cannot work
    expect(await fails(new Debugger(m), 'ps')).toBe("unknown command 'ps' (try 'help')");
    const d = new Debugger(m, { extension: attachKernel(m.mem.u8, null).extension });
    expect(await fails(d, 'ps')).toBe('ps: no symbol map (give --map kernel.map or System.map)');
    expect(await fails(d, 'pt 1')).toBe('pt: no symbol map (give --map kernel.map or System.map)');
    expect(await fails(d, 'memmap')).toBe('memmap: no symbol map (give --map kernel.map or System.map)');
    expect(await fails(d, 'break copy_process')).toBe("no symbol 'copy_process' in the symbol map");
    expect(await ok(d, 'break 0x7c00')).toBe('Breakpoint 1 at 0x00007c00');
    const r = await ok(d, 'continue');
    expect(r.split('\n')[0]).toBe('Breakpoint 1, 0x00007c00');
    expect(r.split('\n')[1]).toMatch(/^=> 0x00007c00:\t/); // the boot sector, loaded by the BIOS
  });
});
