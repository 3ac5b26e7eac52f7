// The kernel-aware debugger commands, plugged into emulator/debug's Debugger as a
// DebuggerExtension (the debugger knows no kernel): `ps`, `task N`, `pt N [ADDR]`, `memmap`,
// `check` (the invariant checker), the mem_map count in `translate`, and names for user
// addresses in a task's 64 MB slot (`cow_var@task2`). The same commands serve every
// profile; what differs (offsets, forklab's copy-on-write counters) is in the inspector.

import { DebugError, describeType, entryFlags, hex, type Debugger, type DebuggerExtension } from '../../emulator/debug/debugger';
import type { SymbolMap } from '../../emulator/debug/symbols';
import { checkInvariants } from './invariants';
import type { KernelInspector, TaskInfo } from './kernel';

const HELP = `kernel (profile PROFILE):
  ps                         the task table: slot, pid, father, state, saved EIP/ESP, LDT base
  task N                     one task: task_struct fields, LDT, TSS, kernel stack
  pt N [ADDR]                task N's pages (shared / read-only / cow, mem_map counts); ADDR: one page
  memmap                     mem_map: pages by count, shared frames, free pages
  check                      the invariant checker (mem_map counts, COW read-only, task slots)`;

const COMMANDS = ['ps', 'task', 'pt', 'memmap', 'check'] as const;

/** The extension for a kernel read by `k`. */
export function debuggerExtension(k: KernelInspector): DebuggerExtension {
  const c = k.c;
  const slotArg = (cmd: string, arg: string): number => {
    if (!/^\d+$/.test(arg)) throw new DebugError(`${cmd}: give a task slot number 0..${c.NR_TASKS - 1}${arg ? ` (got '${arg}')` : ''}`);
    const nr = Number(arg);
    if (nr >= c.NR_TASKS) throw new DebugError(`${cmd}: task slot ${nr} is outside 0..${c.NR_TASKS - 1}`);
    return nr;
  };
  const taskInfo = (nr: number): TaskInfo => {
    const t = k.task(nr);
    if (!t) throw new DebugError(`task ${nr}: the slot is empty`);
    return t;
  };

  const ps = (arg: string, d: Debugger): string => {
    d.noArgs('ps', arg);
    const cur = k.currentNr();
    const cow = k.profile.task.cow !== null;
    const rows = [`  NR   PID  FATHER  STATE            COUNTER PRI  EIP         ESP         BASE${cow ? '        COW f/c/n' : ''}`];
    for (const t of k.tasks()) {
      rows.push(`${t.nr === cur ? '*' : ' '}${String(t.nr).padStart(3)} ${String(t.pid).padStart(5)} ${String(t.father).padStart(7)}  ${t.stateName.padEnd(16)} ` +
        `${String(t.counter).padStart(7)} ${String(t.priority).padStart(3)}  ${hex(t.tss.eip)}  ${hex(t.tss.esp)}  ${hex(t.ldt.data.base)}` +
        (t.cow ? `  ${t.cow.faults}/${t.cow.copies}/${t.cow.nocopy}` : ''));
    }
    rows.push(`(* current; EIP/ESP as saved in the TSS: the current task's are in the CPU)`);
    return rows.join('\n');
  };

  const task = (arg: string, d: Debugger): string => {
    const t = taskInfo(slotArg('task', arg));
    const seg = (s: TaskInfo['ldt']['code']) => `base ${hex(s.base)} limit ${hex(s.limit)} ${describeType(s.access)} dpl ${(s.access >>> 5) & 3}`;
    const tss = t.tss;
    const lines = [
      `task ${t.nr}${k.currentNr() === t.nr ? ' (current)' : ''}: task_struct at ${hex(t.addr)}${d.symSuffix(t.addr)}`,
      `pid ${t.pid}  father ${t.father}  pgrp ${t.pgrp}  session ${t.session}  leader ${t.leader}  state ${t.state} (${t.stateName})  counter ${t.counter}  priority ${t.priority}`,
      `signal ${hex(t.signal)}  exit_code ${t.exitCode}  start_code ${hex(t.startCode)}  end_code ${hex(t.endCode)}  brk ${hex(t.brk)}`,
      `start_time ${t.startTime}  utime ${t.utime}  stime ${t.stime}`,
      `ldt code: ${seg(t.ldt.code)}`,
      `ldt data: ${seg(t.ldt.data)}`,
      `tss: eip ${hex(tss.eip)}${d.symSuffix(tss.eip)} esp ${hex(tss.esp)} eflags ${hex(tss.eflags)} cs ${hex(tss.cs, 4)} ss ${hex(tss.ss, 4)} ds ${hex(tss.ds, 4)} ldt ${hex(tss.ldt, 4)} cr3 ${hex(tss.cr3)}`,
      `     eax ${hex(tss.eax)} ebx ${hex(tss.ebx)} ecx ${hex(tss.ecx)} edx ${hex(tss.edx)} esi ${hex(tss.esi)} edi ${hex(tss.edi)} ebp ${hex(tss.ebp)}`,
      `kernel stack: esp0 ${hex(tss.esp0)} ss0 ${hex(tss.ss0, 4)}`,
    ];
    if (t.cow) lines.push(`copy-on-write: ${t.cow.faults} faults, ${t.cow.copies} copies, ${t.cow.nocopy} without a copy`);
    return lines.join('\n');
  };

  /** Every present page of a task's 64 MB slot (`pt N ADDR`: the page holding one address),
   *  with the frame's mem_map count and marks: shared (count > 1), read-only, cow (a
   *  read-only user page of mem_map: a write faults into do_wp_page). */
  const pt = (arg: string, d: Debugger): string => {
    const [nrText, ...rest] = arg.split(/\s+/);
    const nr = slotArg('pt', nrText ?? '');
    const t = taskInfo(nr);
    let only = -1;
    if (rest.length) {
      only = d.eval(rest.join(' '));
      // an address inside the slot, or an offset into it (user addresses as the program sees them)
      if (only < c.TASK_SIZE && nr > 0) only = (only + nr * c.TASK_SIZE) >>> 0;
      only = (only & ~0xfff) >>> 0;
    }
    const all = k.pages(nr);
    const pages = all.filter((p) => !p.kernelTable && (only < 0 || p.linear === only));
    const kernelPages = only < 0 ? all.filter((p) => p.kernelTable).length : 0;
    const lines = [`task ${nr} (pid ${t.pid}): ${only < 0 ? `${pages.length} page${pages.length === 1 ? '' : 's'} mapped in ${hex(nr * c.TASK_SIZE)}-${hex(nr * c.TASK_SIZE + c.TASK_SIZE - 1)}` : `the page at ${hex(only)}`}`];
    if (only >= 0 && pages.length === 0) {
      lines.push(`${hex(only)}${d.symSuffix(only)}: not present`);
      return lines.join('\n');
    }
    lines.push('  linear       frame        flags        count  marks');
    for (const p of pages) {
      const marks: string[] = [];
      if (p.count !== null && p.count > 1) marks.push('shared');
      if (!p.rw) marks.push('read-only');
      if (!p.rw && p.user && p.count !== null) marks.push('cow');
      const count = p.count === null ? '-' : String(p.count);
      const name = d.symSuffix(p.linear).trim();
      lines.push(`  ${hex(p.linear)}   ${hex(p.frame)}   ${entryFlags(p.raw).padEnd(11)}  ${count.padStart(5)}  ${marks.join(' ')}${name ? `  ${name}` : ''}`.trimEnd());
    }
    if (kernelPages) lines.push(`(${kernelPages} pages of the kernel's identity mapping pg0..pg3 not listed)`);
    return lines.join('\n');
  };

  const memmap = (arg: string, d: Debugger): string => {
    d.noArgs('memmap', arg);
    const map = k.memMap();
    const high = k.highMemory();
    const usable = Math.max(0, Math.min(c.PAGING_PAGES, (high - c.LOW_MEM) >>> 12));
    const hist = new Map<number, number>();
    for (let i = 0; i < usable; i++) hist.set(map[i], (hist.get(map[i]) ?? 0) + 1);
    const lines = [`mem_map: ${usable} pages from ${hex(c.LOW_MEM)} to HIGH_MEMORY ${hex(high)} (${c.PAGING_PAGES - usable} beyond it, marked USED)`];
    for (const [count, n] of [...hist].sort((a, b) => a[0] - b[0])) {
      const name = count === 0 ? 'free' : count === c.USED ? 'USED (reserved)' : `count ${count}`;
      lines.push(`  ${name.padEnd(16)} ${String(n).padStart(5)} page${n === 1 ? '' : 's'}`);
    }
    const shared: string[] = [];
    for (let i = 0; i < usable && shared.length < 16; i++) if (map[i] > 1 && map[i] !== c.USED) shared.push(`${hex(c.LOW_MEM + i * 4096)}:${map[i]}`);
    if (shared.length) lines.push(`  shared frames: ${shared.join(' ')}${shared.length === 16 ? ' ...' : ''}`);
    lines.push(`  free pages (nr_free_pages): ${k.freePages()}`);
    const s = k.cowStatistics();
    if (s) lines.push(`  copy-on-write: ${s.wpFaults} write faults, ${s.copies} copies, ${s.nocopy} without a copy, ${s.shared} shared, ${s.noPage} no-page faults, ${s.verify} verify`);
    return lines.join('\n');
  };

  const check = (arg: string, d: Debugger): string => {
    d.noArgs('check', arg);
    const v = checkInvariants(k);
    return v.length === 0 ? 'invariants hold: 0 violations' : [`${v.length} violation${v.length === 1 ? '' : 's'}:`, ...v.map((x) => `  ${x}`)].join('\n');
  };

  return {
    help: HELP.replace('PROFILE', k.profile.name),
    commands: { ps, task, pt, memmap, check },
    describeAddress: (address: number, symbols: SymbolMap) => {
      // a user address in task slot N > 0: the program's symbol at its offset in the slot
      if (!k.profile.userSymbols || address < c.TASK_SIZE || address >= c.TASK_SIZE * c.NR_TASKS) return undefined;
      const slot = Math.floor(address / c.TASK_SIZE);
      const name = symbols.describe(address - slot * c.TASK_SIZE);
      return name === undefined ? undefined : `${name}@task${slot}`;
    },
    frameNote: (frame: number) => {
      const n = k.countOf(frame);
      return n === null ? '' : `mem_map count ${n}`;
    },
  };
}

/** The same command names when no profile applies: each says why in one line. */
export function unavailableExtension(reason: string): DebuggerExtension {
  const fail = (cmd: string) => (): string => {
    throw new DebugError(`${cmd}: ${reason}`);
  };
  return {
    help: `kernel: ps, task, pt, memmap, check are unavailable: ${reason}`,
    commands: Object.fromEntries(COMMANDS.map((n) => [n, fail(n)])),
  };
}
