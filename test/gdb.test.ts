// The real gdb attaches to our stub (../shared/spec/gdb-remote.md, "A check that a CI can
// run"), driving a FakeTarget (a tiny interpreter of a few x86 instructions). We assert on
// gdb's own words.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GdbStub } from '../emulator/debug/gdb-stub';
import { DATA, makeFake, type FakeTarget } from './gdb-fake-target';
import { oracle } from './oracle';

const dir = mkdtempSync(join(tmpdir(), 'forklab-gdb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FORBIDDEN = ['too long', 'rejected target-supplied', 'Remote failure reply', 'Unexpected swbreak', 'Traceback'];

async function runGdb(target: FakeTarget, lines: string[], opts: { setArch?: boolean } = {}) {
  const stub = new GdbStub(target, { sliceInstructions: 1000 });
  const port = await stub.listen(0);
  const script = [
    'set pagination off',
    'set confirm off',
    'set osabi none',
    ...(opts.setArch === false ? [] : ['set architecture i386']),
    `target remote 127.0.0.1:${port}`,
    ...lines,
  ].join('\n');
  const file = join(dir, `s${port}.gdb`);
  writeFileSync(file, script + '\n');
  const result = await new Promise<{ out: string; code: number }>((resolve) => {
    execFile('timeout', ['60', 'gdb', '-nx', '-batch', '-x', file], (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ out: stdout + stderr, code: typeof code === 'number' ? code : 1 });
    });
  });
  await stub.close();
  for (const f of FORBIDDEN) expect(result.out, result.out).not.toContain(f);
  return { ...result, stub };
}

describe.runIf(oracle('gdb'))('a real gdb against the stub', () => {
  it('breaks, steps, watches writes and reads, hbreaks, reads registers and memory, detaches', async () => {
    const t = makeFake();
    const { out, code } = await runGdb(t, [
      'info registers eip',
      'x/3i $pc',
      'break *0x1005',
      'continue',
      'stepi',
      'p/x $eip',
      'p/x $eax',
      `watch *(int*)${DATA}`,
      'continue',
      'delete',
      'hbreak *0x1013',
      'continue',
      `rwatch *(int*)${DATA}`,
      'stepi',
      'delete',
      'info registers cr0',
      'p $st0',
      `x/4xb ${DATA}`,
      'set var $ebx = 0x12345678',
      'p/x $ebx',
      `set {int}${DATA + 8} = 0x7d237d24`,
      `x/1xw ${DATA + 8}`,
      'detach',
    ]);
    expect(code, out).toBe(0);
    expect(out).toMatch(/eip\s+0x1000\s+0x1000/);
    expect(out).toMatch(/=> 0x1000:\s+mov\s+\$0x1,%eax\n\s+0x1005:\s+inc\s+%eax\n\s+0x1006:\s+mov\s+%eax,0x2000/);
    expect(out).toContain('Breakpoint 1, 0x00001005 in ?? ()');
    expect(out).toContain('$1 = 0x1006');
    expect(out).toContain('$2 = 0x2');
    expect(out).toMatch(/Hardware watchpoint 2: \*\(int\*\)8192\n\nOld value = 0\nNew value = 2\n0x0000100b in/);
    expect(out).toContain('Hardware assisted breakpoint 3 at 0x1013');
    expect(out).toContain('Breakpoint 3, 0x00001013 in ?? ()');
    expect(out).toMatch(/Hardware read watchpoint 4: \*\(int\*\)8192\n\nValue = 2\n0x00001018 in/);
    expect(out).toMatch(/cr0\s+0x11\s+17/);
    expect(out).toContain('<unavailable>');
    expect(out).toContain('0x2000:\t0x02\t0x00\t0x00\t0x00');
    expect(out).toContain('= 0x12345678');
    expect(out).toContain('0x2008:\t0x7d237d24');
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
    // gdb's writes reached the target (the 0x7d/0x23/0x24 bytes went through X escaping).
    expect(t.get('ebx')).toBe(0x12345678);
    expect([...t.mem.subarray(DATA + 8, DATA + 12)]).toEqual([0x24, 0x7d, 0x23, 0x7d]);
    // Observers do not steer: breakpoints never patched guest memory.
    expect(t.mem[0x1005]).toBe(0x40);
    expect(t.mem[0x1013]).toBe(0xa1);
    // After detach the guest ran on to its exit, with no breakpoint left behind.
    expect(t.points.anyBreakpoint).toBe(false);
    expect(t.points.anyWatchpoint).toBe(false);
    expect(t.exited).toBe(true);
  });

  it('reports the guest exit code and unreadable pages', async () => {
    const t = makeFake();
    t.absentPages.add(0x5);
    const { out, code } = await runGdb(t, ['x/4xb 0x5000', 'continue'], {});
    // gdb aborts the script at the failing x: run it without it to see the exit.
    expect(out).toContain('Cannot access memory at address 0x5000');
    expect(code).not.toBe(0);
    const t2 = makeFake();
    const r2 = await runGdb(t2, ['continue']);
    expect(r2.out).toContain('[Inferior 1 (Remote target) exited with code 03]');
    expect(r2.code).toBe(0);
  });

  it('continues from a breakpoint (gdb steps over it) and interrupts a running guest (Ctrl-C)', async () => {
    const t = makeFake();
    t.load(0x101e, [0xeb, 0xfe]); // jmp $ instead of the exit: the guest runs until interrupted
    const stub = new GdbStub(t, { sliceInstructions: 1000 });
    const port = await stub.listen(0);
    const file = join(dir, 'int.gdb');
    writeFileSync(file, [
      'set pagination off', 'set confirm off', 'set osabi none', 'set architecture i386',
      `target remote 127.0.0.1:${port}`,
      'break *0x1010', 'continue', 'p $ecx', 'continue', 'p $ecx', 'delete', 'continue', 'p/x $eip', 'detach', '',
    ].join('\n'));
    // gdb turns SIGINT into the raw 0x03 byte; `timeout` passes the signal on to gdb.
    const g = spawn('timeout', ['60', 'gdb', '-nx', '-batch', '-x', file]);
    let out = '';
    let sent = false;
    let icountAtInterrupt = 0;
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes('$2 =')) {
        sent = true;
        setTimeout(() => {
          icountAtInterrupt = t.icount;
          g.kill('SIGINT');
        }, 300);
      }
    };
    g.stdout.on('data', onData);
    g.stderr.on('data', onData);
    const code = await new Promise<number | null>((res) => g.on('exit', res));
    await stub.close();
    expect(code, out).toBe(0);
    expect(out).toMatch(/Breakpoint 1, 0x00001010 in \?\? \(\)\n\$1 = 5\n\nBreakpoint 1, 0x00001010 in \?\? \(\)\n\$2 = 4\n/);
    expect(out).toMatch(/Program received signal SIGINT, Interrupt\.\n0x0000101e in \?\? \(\)\n\$3 = 0x101e\n/);
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
    // The guest really ran (many slices) between continue and the interrupt.
    expect(icountAtInterrupt).toBeGreaterThan(10_000);
    for (const f of FORBIDDEN) expect(out).not.toContain(f);
  });

  it('serves the i8086 architecture in real mode and physical memory on request', async () => {
    const t = makeFake({ realMode: true });
    t.absentPages.add(0x2); // linear 0x2000 unreadable, physical 0x2000 readable
    t.mem[DATA] = 0x5a;
    const { out, code } = await runGdb(t, [
      'show architecture',
      'maint packet qqemu.PhyMemMode',
      'maint packet Qqemu.PhyMemMode:1',
      'maint packet qqemu.PhyMemMode',
      `x/1xb ${DATA}`,
      'maint packet Qqemu.PhyMemMode:0',
      'detach',
    ], { setArch: false });
    expect(code, out).toBe(0);
    expect(out).toContain('(currently "i8086")');
    expect(out).toMatch(/sending: qqemu.PhyMemMode\nreceived: "0"/);
    expect(out).toMatch(/sending: Qqemu.PhyMemMode:1\nreceived: "OK"/);
    expect(out).toMatch(/sending: qqemu.PhyMemMode\nreceived: "1"/);
    expect(out).toContain('0x2000:\t0x5a');
    expect(out).toContain('[Inferior 1 (Remote target) detached]');
  });
});
