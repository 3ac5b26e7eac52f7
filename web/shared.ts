// What both sides of the page need, kept small so the page's bundle stays free of the
// emulator: page-class names, hex formatting, code page 437 glyphs, the timeline's length.

export { cp437 } from '../emulator/devices/vga';

/**
 * How the page map colours a page of a task (web/adapter.ts classifyPage decides):
 *   private   writable, this task's alone (mem_map count 1)
 *   shared    read-only and shared (count > 1): copy-on-write, a write fault copies it
 *   cow       read-only, count 1: the other sharers are gone; a write fault makes it
 *             writable again without a copy
 *   wrong     writable with count > 1: two tasks could write one frame (a kernel bug)
 *   kernel    the kernel's identity mapping, or a frame outside mem_map
 */
export type PageClass = 'private' | 'shared' | 'cow' | 'wrong' | 'kernel';
export const PAGE_CLASSES: readonly PageClass[] = ['private', 'shared', 'cow', 'wrong', 'kernel'];
/** How the page names each class (the legend, a page's details). */
export const PAGE_CLASS_LABELS: Record<PageClass, string> = {
  private: 'private',
  shared: 'shared read-only (copy-on-write)',
  cow: 'read-only, last sharer (a write makes it writable, no copy)',
  wrong: 'writable and shared (a kernel bug)',
  kernel: 'kernel memory (below 1 MB: no mem_map count)',
};
/** The class code of an entry that is not present. */
export const NOT_PRESENT = 255;

export const hex = (v: number, w = 8): string => '0x' + (v >>> 0).toString(16).padStart(w, '0');

/** Timeline events the page keeps, and the most one message from the worker carries. */
export const EVENTS_KEPT = 500;
