// The page: draws what the worker (web/worker.ts) reports and sends it the user's requests.
// Plain TypeScript and the DOM, no view library: the panels are a handful of <pre>, a table
// and a grid that change in place, and a framework would cost more bytes and build steps
// than the few helpers below.

import { cp437, EVENTS_KEPT, PAGE_CLASSES, PAGE_CLASS_LABELS, NOT_PRESENT, hex, type PageClass } from './shared';
import { scancodes } from './keymap';
import type { PageTableMsg, Reply, Request } from './protocol';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const worker = new Worker('worker.js');
const send = (r: Request, transfer: Transferable[] = []): void => worker.postMessage(r, transfer);

// ---- messages ------------------------------------------------------------------------

function showMessage(text: string): void {
  $('message-text').textContent = text;
  $('message').hidden = false;
}
$('message-close').onclick = () => ($('message').hidden = true);

// ---- the VGA text console ---------------------------------------------------------------

const COLS = 80, ROWS = 25;
const rows: HTMLDivElement[] = [];
const shown = new Uint8Array(COLS * ROWS * 2).fill(0xff);
let shownCursor = -2;
for (let r = 0; r < ROWS; r++) {
  const d = document.createElement('div');
  rows.push(d);
  $('screen').appendChild(d);
}

/** Redraws the rows that changed: runs of one attribute become one span. */
function drawScreen(cells: Uint8Array, cursor: number): void {
  const oldRow = shownCursor >= 0 ? Math.floor(shownCursor / COLS) : -1;
  const newRow = cursor >= 0 ? Math.floor(cursor / COLS) : -1;
  for (let r = 0; r < ROWS; r++) {
    let same = r !== oldRow && r !== newRow;
    for (let i = r * COLS * 2; same && i < (r + 1) * COLS * 2; i++) if (cells[i] !== shown[i]) same = false;
    if (same) continue;
    const row = rows[r];
    row.textContent = '';
    let run = '', attr = -1;
    const flush = () => {
      if (!run) return;
      const s = document.createElement('span');
      s.className = `fg${attr & 15} bg${(attr >> 4) & 7}`;
      s.textContent = run;
      row.appendChild(s);
      run = '';
    };
    for (let c = 0; c < COLS; c++) {
      const i = (r * COLS + c) * 2;
      if (r * COLS + c === cursor) {
        flush();
        const s = document.createElement('span');
        s.className = `fg${cells[i + 1] & 15} bg${(cells[i + 1] >> 4) & 7} cursor`;
        s.textContent = cp437(cells[i]);
        row.appendChild(s);
        attr = -1;
        continue;
      }
      if (cells[i + 1] !== attr) {
        flush();
        attr = cells[i + 1];
      }
      run += cp437(cells[i]);
    }
    flush();
  }
  shown.set(cells);
  shownCursor = cursor;
}

$('screen').addEventListener('keydown', (e) => key(e, true));
$('screen').addEventListener('keyup', (e) => key(e, false));
function key(e: KeyboardEvent, down: boolean): void {
  const codes = scancodes(e.code, down);
  if (!codes) return;
  e.preventDefault();
  send({ type: 'keys', scancodes: codes });
}

// ---- frames: drawn once per animation frame, the newest wins ------------------------------

let pendingFrame: Extract<Reply, { type: 'frame' }> | null = null;
let running = false;
let framesDrawn = 0;
let fpsAt = performance.now();
/** Frames per second drawn while the guest ran, for the counter and the tests. */
const stats = { fps: 0, mips: 0, icount: 0, framesWhileRunning: 0, runMs: 0 };
let runStart = 0;
let countersAt = 0;
(window as unknown as { forklabStats: typeof stats }).forklabStats = stats;

function animate(now: number): void {
  if (pendingSerial) {
    serial.append(pendingSerial);
    pendingSerial = '';
    if (serial.childNodes.length > 400) serial.textContent = (serial.textContent ?? '').slice(-100_000);
    serial.scrollTop = serial.scrollHeight;
  }
  if (pendingKernel) {
    drawKernel(pendingKernel);
    pendingKernel = null;
  }
  const f = pendingFrame;
  if (f) {
    pendingFrame = null;
    drawScreen(f.screen, f.cursor);
    // the counters 10 times a second: a number changing 60 times a second cannot be read,
    // and each change costs the page a layout and paint that the worker's core could use
    if (!f.running || now - countersAt >= 100) {
      countersAt = now;
      $('icount').textContent = f.icount.toLocaleString('en');
      $('mips').textContent = f.mips.toFixed(1);
    }
    stats.icount = f.icount;
    stats.mips = f.mips;
    if (f.running) {
      framesDrawn++;
      stats.framesWhileRunning++;
    }
  }
  if (now - fpsAt >= 1000) {
    // a second of running: a stopped guest draws nothing and keeps the last rate shown
    if (running) {
      stats.fps = Math.round((framesDrawn * 1000) / (now - fpsAt));
      $('fps').textContent = String(stats.fps);
    }
    framesDrawn = 0;
    fpsAt = now;
  }
  requestAnimationFrame(animate);
}
requestAnimationFrame(animate);

// ---- the worker's replies --------------------------------------------------------------

const serial = $('serial');
let pendingSerial = '';
let pendingKernel: Extract<Reply, { type: 'kernel' }> | null = null;
worker.onmessage = (e: MessageEvent<Reply>) => {
  const r = e.data;
  switch (r.type) {
    case 'frame':
      pendingFrame = r;
      setRunning(r.running);
      pendingSerial += r.serial;
      break;
    case 'kernel':
      // drawn once per animation frame, the newest wins; its events are those since the
      // message before, so keep a skipped message's too
      if (pendingKernel) r.events = [...pendingKernel.events, ...r.events].slice(-EVENTS_KEPT);
      pendingKernel = r;
      break;
    case 'state':
      drawState(r);
      break;
    case 'output': {
      const log = $('command-log');
      log.textContent = (log.textContent + `(forklab) ${r.command}\n${r.error ? `error: ${r.error}\n` : r.text ? r.text + '\n' : ''}`).slice(-100_000);
      log.scrollTop = log.scrollHeight;
      break;
    }
    case 'loaded':
      pendingSerial = '';
      pendingKernel = null;
      $('image-name').textContent = `${r.name}${r.kernel ? ` (${r.kernel})` : r.symbols ? ` (${r.symbols} symbols)` : ''}`;
      document.body.classList.toggle('no-kernel', !r.kernel);
      $('timeline').textContent = '';
      $('event-total').textContent = '';
      if (!r.kernel) {
        // no kernel profile fits: nothing to show in its panels, and the page says why
        drawKernel({ type: 'kernel', tasks: [], selected: selectedTask, pageMap: null, events: [], eventTotal: 0, cow: `no kernel panels: ${r.problem}` });
      }
      serial.textContent = '';
      break;
    case 'error':
      showMessage(r.message);
      break;
  }
};
worker.onerror = (e) => showMessage(`the machine's worker failed: ${e.message}`);

function setRunning(on: boolean): void {
  if (running === on) return;
  running = on;
  if (on) runStart = performance.now();
  else stats.runMs += performance.now() - runStart;
  document.body.classList.toggle('running', on);
  if (on) $('status').textContent = 'running…';
}

function drawState(r: Extract<Reply, { type: 'state' }>): void {
  $('status').textContent = r.status;
  $('regs').textContent = r.regs;
  $('disasm').textContent = r.disasm;
  $('memory').textContent = r.memory;
  document.body.classList.toggle('ended', r.ended);
  const ul = $('breakpoints');
  ul.textContent = '';
  for (const b of r.breakpoints) {
    const li = document.createElement('li');
    li.textContent = `${b.num}  ${b.text} `;
    const del = document.createElement('button');
    del.textContent = 'delete';
    del.onclick = () => send({ type: 'delete', num: b.num });
    li.appendChild(del);
    ul.appendChild(li);
  }
  traceLines = r.trace;
  $('trace').textContent = r.trace.slice(-200).join('\n');
}

// ---- kernel panels ---------------------------------------------------------------------

let selectedTask = 1;
let tables: PageTableMsg[] = [];
let gridKey = '';

let tasksKey = '';

function drawKernel(r: Extract<Reply, { type: 'kernel' }>): void {
  const key = JSON.stringify(r.tasks) + r.selected;
  if (key !== tasksKey) {
    tasksKey = key;
    drawTasks(r);
  }
  $('cow-stats').textContent = r.cow;
  const pm = r.pageMap;
  $('pagemap-title').textContent = pm ? `of task ${pm.nr} (pid ${pm.pid}): ${hex(pm.base)}–${hex(pm.base + pm.size - 1)}` : `(slot ${r.selected} is empty)`;
  drawPageMap(pm ? pm.tables : []);
  if (r.events.length === 0) return;
  // the newest first: new events go on top, the oldest fall off the end
  const ol = $('timeline');
  const items = document.createDocumentFragment();
  for (const ev of [...r.events].reverse()) {
    const li = document.createElement('li');
    li.className = `ev-${ev.kind}`;
    li.textContent = `${ev.icount.toLocaleString('en')}  pid ${ev.pid}  ${ev.text}`;
    items.appendChild(li);
  }
  ol.prepend(items);
  while (ol.childElementCount > EVENTS_KEPT) ol.lastElementChild!.remove();
  $('event-total').textContent = `(${r.eventTotal} events${r.eventTotal > ol.childElementCount ? `, the last ${ol.childElementCount}` : ''}; newest first)`;
}

function drawTasks(r: Extract<Reply, { type: 'kernel' }>): void {
  const tbody = $('tasks').querySelector('tbody')!;
  tbody.textContent = '';
  for (const t of r.tasks) {
    const tr = document.createElement('tr');
    tr.dataset.nr = String(t.nr);
    if (t.nr === r.selected) tr.classList.add('selected');
    if (t.current) tr.classList.add('current');
    for (const v of [t.nr, t.pid, t.father, t.state, hex(t.eip), hex(t.base), t.cow]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.appendChild(td);
    }
    tr.onclick = () => {
      selectedTask = t.nr;
      send({ type: 'view', task: t.nr });
    };
    tbody.appendChild(tr);
  }
}

/** One canvas of 32 x 32 cells per present page table, redrawn cell by cell where a class,
 *  a count or the picked page changed (DOM cells cost the worker half its speed in layout). */
const PITCH = 13, CELL = 12;
const COLOURS: Record<PageClass, string> = { private: '#3fb950', shared: '#f0883e', cow: '#d2a8ff', kernel: '#58606c', wrong: '#ff3b3b' };
for (const c of PAGE_CLASSES) {
  const item = document.createElement('span');
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  swatch.style.background = COLOURS[c];
  item.append(swatch, ` ${PAGE_CLASS_LABELS[c]}`);
  $('legend').append(item);
}
interface Grid { dir: number; ctx: CanvasRenderingContext2D; classes: Uint8Array; counts: Int16Array; picked: number }
let grids: Grid[] = [];

function drawPageMap(next: PageTableMsg[]): void {
  const host = $('pagemap');
  const key = next.map((t) => `${t.dir}:${t.table}`).join(',');
  tables = next;
  if (key !== gridKey) {
    gridKey = key;
    host.textContent = '';
    if (detail && !next.some((t) => t.dir === detail!.dir)) detail = null;
    grids = next.map((t) => {
      const box = document.createElement('div');
      box.className = 'ptable';
      const h = document.createElement('div');
      h.className = 'ptable-head';
      h.textContent = `${hex(t.dir << 22)}–${hex(((t.dir + 1) << 22) - 1)}  (directory entry ${t.dir}, page table at ${hex(t.table)})`;
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 32 * PITCH + 1;
      canvas.dataset.dir = String(t.dir);
      canvas.onclick = (e) => {
        const col = Math.floor(e.offsetX / PITCH), row = Math.floor(e.offsetY / PITCH);
        if (col >= 0 && col < 32 && row >= 0 && row < 32) pageDetail(t.dir, row * 32 + col);
      };
      box.append(h, canvas);
      host.appendChild(box);
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#0d0f12';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return { dir: t.dir, ctx, classes: new Uint8Array(1024).fill(254), counts: new Int16Array(1024), picked: -1 };
    });
  }
  grids.forEach((g, k) => {
    const t = next[k];
    const picked = detail?.dir === t.dir ? detail.i : -1;
    for (let i = 0; i < 1024; i++) {
      const was = i === g.picked, now = i === picked;
      if (g.classes[i] === t.classes[i] && g.counts[i] === t.counts[i] && was === now) continue;
      g.classes[i] = t.classes[i];
      g.counts[i] = t.counts[i];
      drawCell(g.ctx, i, t.classes[i], t.counts[i], now);
    }
    g.picked = picked;
  });
  if (detail) pageDetail(detail.dir, detail.i, false);
}

function drawCell(ctx: CanvasRenderingContext2D, i: number, cls: number, count: number, picked: boolean): void {
  const x = (i % 32) * PITCH + 1, y = Math.floor(i / 32) * PITCH + 1;
  ctx.fillStyle = cls === NOT_PRESENT ? '#20242b' : COLOURS[PAGE_CLASSES[cls]];
  ctx.fillRect(x, y, CELL, CELL);
  if (count > 1 && cls !== NOT_PRESENT) {
    ctx.fillStyle = '#000';
    ctx.font = 'bold 9px monospace';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(count > 9 ? '+' : String(count), x + CELL / 2, y + CELL / 2 + 1);
  }
  if (picked) {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2;
    ctx.strokeRect(x + 1, y + 1, CELL - 2, CELL - 2);
  }
}

let detail: { dir: number; i: number } | null = null;
/** Shows a page's PTE and frame (and picks it in the map, unless `redraw` is false). */
function pageDetail(dir: number, i: number, redraw = true): void {
  detail = { dir, i };
  if (redraw) drawPageMap(tables);
  const t = tables.find((x) => x.dir === dir);
  const linear = ((dir << 22) | (i << 12)) >>> 0;
  if (!t) {
    $('page-detail').textContent = `${hex(linear)}: its page table is gone`;
    return;
  }
  const e = t.entries[i];
  if ((e & 1) === 0) {
    $('page-detail').textContent = `${hex(linear)}: not present (PTE ${hex(e)})`;
    return;
  }
  const flags = ['P', e & 2 ? 'RW' : 'RO', e & 4 ? 'U' : 'S', e & 0x20 ? 'A' : '-', e & 0x40 ? 'D' : '-'].join(' ');
  $('page-detail').textContent =
    `${hex(linear)} (offset ${hex(linear & 0x3ffffff)} in the slot): PTE ${hex(e)} at ${hex(t.table + i * 4)}  [${flags}]\n` +
    `frame ${hex(e & 0xfffff000)}, mem_map count ${t.counts[i] < 0 ? '- (outside mem_map)' : t.counts[i]}: ${PAGE_CLASS_LABELS[PAGE_CLASSES[t.classes[i]]]}`;
}

// ---- controls ----------------------------------------------------------------------------

$('run').onclick = () => send({ type: 'run' });
$('pause').onclick = () => send({ type: 'pause' });
$('step').onclick = () => send({ type: 'step' });
$('next').onclick = () => send({ type: 'next' });
$('finish').onclick = () => send({ type: 'finish' });
$('reset').onclick = () => send({ type: 'reset' });
const onSubmit = (id: string, fn: () => void) =>
  ($(id).onsubmit = (e) => {
    e.preventDefault();
    fn();
  });
onSubmit('run-to-form', () => send({ type: 'run-to', where: $<HTMLInputElement>('run-to').value }));
onSubmit('break-form', () => send({ type: 'break', where: $<HTMLInputElement>('break-at').value }));
onSubmit('memory-form', () => send({ type: 'view', memory: $<HTMLInputElement>('memory-addr').value }));
onSubmit('command-form', () => {
  const input = $<HTMLInputElement>('command');
  if (input.value.trim()) send({ type: 'command', line: input.value });
  input.value = '';
});
$<HTMLInputElement>('trace-on').onchange = (e) => send({ type: 'trace', on: (e.target as HTMLInputElement).checked });
let traceLines: string[] = [];
$('trace-save').onclick = () => {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([traceLines.join('\n') + '\n'], { type: 'text/plain' }));
  a.download = 'forklab.trace';
  a.click();
  URL.revokeObjectURL(a.href);
};
addEventListener('keydown', (e) => {
  if (e.key === 'F5') {
    e.preventDefault();
    send({ type: running ? 'pause' : 'run' });
  }
});

// ---- images: file picker, drag and drop, and the built-in one ---------------------------

/** A floppy and/or a hard disk (the worker tells them apart by size, and unpacks .gz), and
 *  a .map: Linux 0.11 is its Image, hdc-0.11.img.gz and System.map picked together. */
async function loadFiles(files: File[]): Promise<void> {
  const maps = files.filter((f) => /\.map$/i.test(f.name));
  const images = files.filter((f) => !/\.map$/i.test(f.name));
  if (images.length === 0 || images.length > 2 || maps.length > 1) {
    showMessage(images.length === 0 ? 'no image among the files (a .map alone boots nothing)' : 'give a floppy and/or a hard disk, and at most one .map');
    return;
  }
  const disks = await Promise.all(images.map(async (f) => ({ name: f.name, image: await f.arrayBuffer() })));
  const map = maps.length ? await maps[0].text() : null;
  $('message').hidden = true;
  send({ type: 'load', disks, map, mapName: maps[0]?.name }, disks.map((d) => d.image));
}
$<HTMLInputElement>('file').onchange = (e) => {
  const input = e.target as HTMLInputElement;
  void loadFiles([...(input.files ?? [])]);
  input.value = '';
};
addEventListener('dragover', (e) => {
  e.preventDefault();
  $('drop').hidden = false;
});
addEventListener('dragleave', (e) => {
  if (e.relatedTarget === null) $('drop').hidden = true;
});
addEventListener('drop', (e) => {
  e.preventDefault();
  $('drop').hidden = true;
  void loadFiles([...(e.dataTransfer?.files ?? [])]);
});

/** images.json lists what the server offers; the first boots at once, the others are a
 *  choice away. */
type Offered = { name: string; image: string; hda?: string; map: string | null };
async function fetchAndLoad(o: Offered): Promise<void> {
  try {
    const get = async (url: string) => {
      const r = await fetch(url);
      if (!r.ok) throw new Error(`${url}: ${r.status} ${r.statusText}`);
      return r;
    };
    const disks = [{ name: o.name, image: await (await get(o.image)).arrayBuffer() }];
    if (o.hda) disks.push({ name: decodeURIComponent(o.hda.split('/').pop()!), image: await (await get(o.hda)).arrayBuffer() });
    const map = o.map ? await (await get(o.map)).text() : null;
    send({ type: 'load', disks, map, mapName: o.map ? decodeURIComponent(o.map.split('/').pop()!) : undefined }, disks.map((d) => d.image));
  } catch (e) {
    showMessage(`could not fetch ${o.name}: ${(e as Error).message}`);
  }
}
async function boot(): Promise<void> {
  let list: Offered[];
  try {
    list = (await (await fetch('images.json')).json()) as Offered[];
  } catch (e) {
    showMessage(`could not fetch the list of images: ${(e as Error).message}`);
    return;
  }
  const select = $<HTMLSelectElement>('images');
  list.forEach((o, i) => select.add(new Option(o.name, String(i))));
  select.hidden = list.length < 2;
  select.onchange = () => void fetchAndLoad(list[Number(select.value)]);
  if (list.length) await fetchAndLoad(list[0]);
}
void boot();
