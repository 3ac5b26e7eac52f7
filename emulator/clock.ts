// The machine clock: time counted in executed instructions (DESIGN decision 6).
//
// The run loop asks `instructionsUntilNextEvent()`, lets the CPU execute at most that many
// instructions, then calls `advance(n)` with the number it actually executed. Devices never
// look at host time: they create Timers once (at construction) and schedule them at an
// instruction count. Events due at the same instruction count fire in the order they were
// scheduled, so the same inputs give the same event order on every host.
//
// Conversions between emulated seconds and instructions use `rate` (instructions per
// emulated second, default 50 M).

export const DEFAULT_INSTRUCTION_RATE = 50_000_000;

export type TimerCallback = (now: number) => void;

/** A schedulable event owned by one device. Create once; schedule and cancel freely. */
export class Timer {
  /** Absolute instruction count at which the timer fires, or -1 when not scheduled. */
  when = -1;
  /** Scheduling sequence number: ties at the same `when` fire in scheduling order. */
  seq = 0;

  constructor(
    private readonly clock: Clock,
    readonly name: string,
    readonly callback: TimerCallback,
  ) {}

  get pending(): boolean {
    return this.when >= 0;
  }

  /** Fire at absolute instruction count `icount` (clamped to now: never in the past). */
  scheduleAt(icount: number): void {
    this.clock.schedule(this, icount);
  }

  /** Fire `n` instructions from now (n = 0 fires at the next `advance`, even `advance(0)`). */
  scheduleIn(n: number): void {
    this.clock.schedule(this, this.clock.icount + n);
  }

  cancel(): void {
    this.clock.cancel(this);
  }
}

export interface ClockState {
  icount: number;
  seq: number;
  timers: { name: string; when: number; seq: number }[];
}

export interface ClockOptions {
  /** Instructions per emulated second. */
  rate?: number;
}

export class Clock {
  /** Time at the start of the running CPU slice (or now, between slices). */
  private base = 0;
  /** While a CPU slice runs: its retired-instruction counter, and its value at the start. */
  private retired: (() => number) | null = null;
  private retiredAtStart = 0;

  /** Instructions executed since power-on: the machine's notion of "now". Inside a CPU
   *  slice it includes the instructions the slice has retired so far, so what a guest
   *  reads from a device does not depend on where the run was cut into slices. */
  get icount(): number {
    return this.retired === null ? this.base : this.base + (this.retired() - this.retiredAtStart);
  }
  /** Instructions per emulated second. */
  readonly rate: number;

  private readonly timers: Timer[] = [];
  private nextTimer: Timer | null = null;
  private nextWhen = Infinity;
  private seqCounter = 0;

  constructor(options: ClockOptions = {}) {
    const rate = options.rate ?? DEFAULT_INSTRUCTION_RATE;
    if (!Number.isFinite(rate) || rate <= 0) throw new Error(`clock rate must be a positive number, got ${rate}`);
    this.rate = rate;
  }

  /** Create a timer (at device construction time; not on hot paths). */
  createTimer(name: string, callback: TimerCallback): Timer {
    const t = new Timer(this, name, callback);
    this.timers.push(t);
    return t;
  }

  /** Emulated seconds since power-on. */
  seconds(): number {
    return this.icount / this.rate;
  }

  /** Instructions in `s` emulated seconds (rounded up, at least 0). */
  instructionsFor(s: number): number {
    return Math.max(0, Math.ceil(s * this.rate));
  }

  /** How many instructions the CPU may run before the next event is due (Infinity if none). */
  instructionsUntilNextEvent(): number {
    const d = this.nextWhen - this.icount;
    return d > 0 ? d : 0;
  }

  /** A CPU slice starts: until endSlice(), time reads add what `retired` has counted since. */
  beginSlice(retired: () => number): void {
    this.retired = retired;
    this.retiredAtStart = retired();
  }

  /** The slice is over: returns the instructions it retired (advance() them next). */
  endSlice(): number {
    const ran = this.retired === null ? 0 : this.retired() - this.retiredAtStart;
    this.retired = null;
    return ran;
  }

  /** Advance time by `n` executed instructions, firing every event that falls due, in order. */
  advance(n: number): void {
    const target = this.base + n;
    while (this.nextWhen <= target) {
      const t = this.nextTimer!;
      // Devices reading the clock inside the callback see the event's own time.
      if (t.when > this.base) this.base = t.when;
      t.when = -1;
      this.recompute();
      t.callback(this.base);
    }
    this.base = target;
  }

  /** Timers currently scheduled, soonest first (for debuggers and tests). */
  pendingTimers(): { name: string; when: number }[] {
    return this.timers
      .filter((t) => t.when >= 0)
      .sort((a, b) => a.when - b.when || a.seq - b.seq)
      .map((t) => ({ name: t.name, when: t.when }));
  }

  /** Called when an event is scheduled sooner than every other: the machine ends a CPU run
   *  that was planned past it (devices schedule from port I/O, in the middle of a run). */
  onSooner: ((when: number) => void) | null = null;

  /** @internal use Timer.scheduleAt */
  schedule(t: Timer, when: number): void {
    if (!(when >= this.icount)) when = this.icount; // also catches NaN
    if (when < this.nextWhen && this.onSooner !== null) this.onSooner(when);
    t.when = when;
    t.seq = ++this.seqCounter;
    if (when < this.nextWhen || (this.nextTimer === t)) this.recompute();
  }

  /** @internal use Timer.cancel */
  cancel(t: Timer): void {
    if (t.when < 0) return;
    t.when = -1;
    if (this.nextTimer === t) this.recompute();
  }

  /** The clock as data: now, the sequence counter and each timer's schedule, by name in
   *  creation order (timers are created at machine construction, so a machine built the
   *  same way has the same list). */
  saveState(): ClockState {
    return { icount: this.icount, seq: this.seqCounter, timers: this.timers.map((t) => ({ name: t.name, when: t.when, seq: t.seq })) };
  }

  /** Throws a one-line error when `s` does not fit this clock's timers. */
  checkState(s: ClockState): void {
    const ok = s && typeof s.icount === 'number' && typeof s.seq === 'number' && Array.isArray(s.timers) && s.timers.length === this.timers.length;
    if (!ok || s.timers.some((t, i) => t.name !== this.timers[i].name || typeof t.when !== 'number' || typeof t.seq !== 'number')) {
      throw new Error(`state: the clock's timers are not this machine's (${this.timers.map((t) => t.name).join(', ')})`);
    }
  }

  loadState(s: ClockState): void {
    this.base = s.icount;
    this.seqCounter = s.seq;
    s.timers.forEach((t, i) => {
      this.timers[i].when = t.when;
      this.timers[i].seq = t.seq;
    });
    this.recompute();
  }

  private recompute(): void {
    let best: Timer | null = null;
    for (const t of this.timers) {
      if (t.when < 0) continue;
      if (best === null || t.when < best.when || (t.when === best.when && t.seq < best.seq)) best = t;
    }
    this.nextTimer = best;
    this.nextWhen = best === null ? Infinity : best.when;
  }
}
