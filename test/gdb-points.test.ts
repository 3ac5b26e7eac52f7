// DebugPoints: the breakpoint/watchpoint bookkeeping a CPU uses to implement DebugTarget.
import { describe, expect, it } from 'vitest';
import { DebugPoints } from '../emulator/debug/points';

describe('DebugPoints', () => {
  it('answers breakpoint questions by linear address and kind', () => {
    const p = new DebugPoints();
    expect(p.anyBreakpoint).toBe(false);
    p.addBreakpoint(0x1000, 'hw');
    expect(p.anyBreakpoint).toBe(true);
    expect(p.breakpointAt(0x1000)).toBe('hw');
    expect(p.breakpointAt(0x1001)).toBeNull();
    p.addBreakpoint(0x1000, 'sw');
    expect(p.breakpointAt(0x1000)).toBe('sw');
    p.removeBreakpoint(0x1000, 'sw');
    expect(p.breakpointAt(0x1000)).toBe('hw');
    p.removeBreakpoint(0x1000, 'hw');
    expect(p.breakpointAt(0x1000)).toBeNull();
    expect(p.anyBreakpoint).toBe(false);
    p.addBreakpoint(0xfffffff0, 'sw');
    expect(p.breakpointAt(-16)).toBe('sw'); // addresses are unsigned 32-bit
    const s = p.breakpointStop(0xfffffff0, 'sw');
    expect(s).toEqual({ kind: 'breakpoint', address: 0xfffffff0, type: 'sw' });
    expect(p.breakpointStop(0x10, 'hw')).toBe(s); // reused, not allocated
  });

  it('hits watchpoints by overlap and kind, first hit per instruction', () => {
    const p = new DebugPoints();
    p.addWatchpoint(0x2000, 4, 'write');
    p.addWatchpoint(0x3000, 2, 'read');
    p.addWatchpoint(0x4ffe, 4, 'access'); // crosses a page boundary
    expect(p.anyWatchpoint).toBe(true);
    p.onAccess(0x2000, 4, false); // a read of a write watch
    expect(p.hitPending).toBe(false);
    p.onAccess(0x1ffc, 4, true); // just below
    p.onAccess(0x2004, 1, true); // just above
    expect(p.hitPending).toBe(false);
    p.onAccess(0x1ffe, 4, true); // overlaps the first two bytes
    expect(p.hitPending).toBe(true);
    p.onAccess(0x3000, 1, false); // a second hit in the same instruction is not recorded
    expect(p.takeHit()).toEqual({ kind: 'watchpoint', type: 'write', address: 0x2000, watch: 0x2000 });
    expect(p.hitPending).toBe(false);
    p.onAccess(0x3001, 2, false);
    expect(p.takeHit()).toEqual({ kind: 'watchpoint', type: 'read', address: 0x3001, watch: 0x3000 });
    p.onAccess(0x5000, 1, true);
    expect(p.takeHit()).toEqual({ kind: 'watchpoint', type: 'access', address: 0x5000, watch: 0x4ffe });
    p.onAccess(0x5002, 1, false);
    expect(p.hitPending).toBe(false);
  });

  it('handles a watch at the top of the address space and removal', () => {
    const p = new DebugPoints();
    p.addWatchpoint(0xfffffffe, 4, 'write'); // wraps to 0x00000001
    p.onAccess(0x0, 1, true);
    expect(p.takeHit()).toMatchObject({ address: 0, watch: 0xfffffffe });
    p.onAccess(0xfffffffc, 4, true);
    expect(p.takeHit()).toMatchObject({ address: 0xfffffffe });
    p.removeWatchpoint(0xfffffffe, 4, 'write');
    expect(p.anyWatchpoint).toBe(false);
    p.addWatchpoint(0x100, 1, 'write');
    p.onAccess(0x0, 1, true); // the wrapped page's count went back to zero
    p.onAccess(0xfffffffe, 1, true);
    expect(p.hitPending).toBe(false);
    p.clearAll();
    expect(p.anyWatchpoint || p.anyBreakpoint || p.hitPending).toBe(false);
  });
});
