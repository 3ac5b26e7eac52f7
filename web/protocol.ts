// The messages between the page (web/main.ts) and the machine's worker (web/worker.ts).
// Plain data only: what structured clone carries.

import type { PageMapView, PageTableView, TimelineEvent } from './adapter';

export type Request =
  /** One floppy and/or one hard disk (gzip data is unpacked), and a symbol map. */
  | { type: 'load'; disks: { name: string; image: ArrayBuffer }[]; map: string | null; mapName?: string }
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'next' }
  | { type: 'finish' }
  | { type: 'run-to'; where: string }
  | { type: 'reset' }
  | { type: 'command'; line: string }
  | { type: 'break'; where: string }
  | { type: 'delete'; num: number }
  | { type: 'keys'; scancodes: number[] }
  | { type: 'view'; task?: number; memory?: string }
  | { type: 'trace'; on: boolean };

export interface TaskRow {
  nr: number;
  pid: number;
  father: number;
  state: string;
  eip: number;
  base: number;
  cow: string;
  current: boolean;
}

export type PageTableMsg = PageTableView;
export type EventMsg = TimelineEvent;

export interface BreakpointRow {
  num: number;
  text: string;
}

/** What the worker sends: a frame while running (screen and counters), the full state when
 *  the guest stops, command output, and load errors. */
export type Reply =
  | { type: 'frame'; screen: Uint8Array; cursor: number; icount: number; mips: number; running: boolean; serial: string }
  /** `events`: those recorded since the last kernel message (the page keeps the last
   *  EVENTS_KEPT of web/shared.ts); `eventTotal`: how many were ever recorded. */
  | { type: 'kernel'; tasks: TaskRow[]; selected: number; pageMap: Omit<PageMapView, 'totals'> | null; events: EventMsg[]; eventTotal: number; cow: string }
  | { type: 'state'; status: string; regs: string; disasm: string; memory: string; breakpoints: BreakpointRow[]; trace: string[]; ended: boolean }
  | { type: 'output'; command: string; text: string; error?: string }
  /** `kernel`: the profile the page's kernel panels read (its title), or null and why not. */
  | { type: 'loaded'; name: string; symbols: number; kernel: string | null; problem: string | null }
  | { type: 'error'; message: string };
