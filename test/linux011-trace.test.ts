// Golden trace of the real Linux 0.11: the shell's fork for `ls`, from sys_fork to the iret
// back to user mode, compared byte for byte with test/fixtures/trace/linux011-fork.trace.gz
// (33,883 lines, 3.3 MB of text: stored gzipped; copy_page_tables' loop over the shell's
// page tables is most of it). A second boot of the same scripted session (the same keys
// typed at the same instruction) records the identical trace: determinism with keyboard
// input.
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceRecorder } from '../emulator/debug/trace-recorder';
import { parseTextLine, type TraceRecord } from '../emulator/debug/trace-format';
import { BOOT_BUDGET, haveKit, kitSymbols, linuxMachine } from './linux011-kit';
import { Golden, UPDATE_GOLDEN } from './golden';

const GOLDEN = join(resolve(import.meta.dirname, '..'), 'test', 'fixtures', 'trace', 'linux011-fork.trace.gz');
const COMMENTS = [
  "golden trace: the real Linux 0.11 (the guest kit) forks its shell for `ls`: from sys_fork's",
  'first instruction through find_empty_process, copy_process, copy_mem and copy_page_tables',
  "to ret_from_sys_call's iret back to the shell in user mode. Session: boot to the prompt,",
  '1 M instructions more, type "ls\\n". Regenerate (after a CPU or device change, check it is meant):',
  '  FORKLAB_UPDATE_GOLDEN=1 npx vitest run test/linux011-trace.test.ts',
];

/** Boots the kit, types `ls`, and records the shell's fork. */
function session(): { text: string; userEip: number } {
  const m = linuxMachine();
  const syms = kitSymbols('System.map');
  m.waitForScreen(/\]#$/, { maxInstructions: BOOT_BUDGET });
  m.run(1_000_000); // the shell settles into its read of the terminal
  m.type('ls\n');
  expect(m.runUntil({ address: syms.addr('sys_fork') }).kind).toBe('reached');
  // system_call pushed ds, es, fs, edx, ecx, ebx after the CPU's iret frame, then called sys_fork
  const esp = m.cpu.regs[4] >>> 0;
  const userEip = m.readLinear32(esp + 28)!;
  expect(m.readLinear32(esp + 32)).toBe(0x0f); // from user mode (LDT code, RPL 3)
  const out: string[] = [];
  const rec = new TraceRecorder(m.cpu, m.hookHub.slot(), {
    symbols: syms, from: syms.addr('sys_fork'), to: 0x08000000 + userEip, comments: COMMENTS,
    write: (s) => out.push(s), onDone: () => m.stop(),
  }).start();
  m.run(20_000_000);
  rec.finish();
  expect(rec.done).toBe(true);
  return { text: out.join(''), userEip };
}

describe.runIf(haveKit())("golden trace: Linux 0.11's shell forks", () => {
  const golden = new Golden(GOLDEN);
  let first: { text: string; userEip: number };
  beforeAll(() => {
    first = session();
    golden.update(first.text);
  });

  it('runs from sys_fork to the iret into the shell, through the whole fork', () => {
    const r = first.text.split('\n').map(parseTextLine).filter((x): x is TraceRecord => x !== null);
    expect(r[0].disasm).toBe('call find_empty_process <sys_fork>');
    const last = r[r.length - 1];
    expect(last.disasm).toBe('iret <ret_from_sys_call+0x45>');
    expect(last.regs).toMatchObject({ cs: 0x0f, ss: 0x17 });
    for (const name of ['find_empty_process', 'copy_process', 'get_free_page', 'copy_mem', 'copy_page_tables', 'ret_from_sys_call']) {
      expect(r.some((x) => x.disasm.includes(`<${name}>`)), name).toBe(true);
    }
    // get_free_page clears the child's task_struct page: one summarised rep stosd
    expect(r.find((x) => x.disasm.startsWith('rep stosd'))!.mem[0].run?.count).toBe(1024);
    // the parent's fork returns the child's pid in eax: the last eax the trace sets
    expect(r.filter((x) => 'eax' in x.regs).pop()!.regs.eax).toBeGreaterThan(4);
    expect(r.length).toBeGreaterThan(30_000);
  });

  it.skipIf(UPDATE_GOLDEN)('equals the stored trace byte for byte', () => {
    const stored = golden.text();
    if (first.text !== stored) {
      const a = stored.split('\n'), b = first.text.split('\n');
      const i = a.findIndex((l, k) => l !== b[k]);
      expect(b[i], `first difference at line ${i + 1} of ${a.length}`).toBe(a[i]);
    }
    expect(first.text.length).toBe(stored.length);
  });

  it('a second run of the same scripted session records the identical trace', () => {
    const again = session();
    expect(again.userEip).toBe(first.userEip);
    expect(again.text === first.text).toBe(true);
  });
});
