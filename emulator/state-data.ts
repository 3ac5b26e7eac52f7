// State is data (DESIGN decision 12): every part of the machine saves its fields as plain
// data and loads them back into the same live objects. One walker does it for all of them,
// so a field a device gains later is saved without anyone remembering to add it.
//
// What a part owns is saved: numbers, booleans, strings, null, typed arrays (copied), arrays
// and sub-objects (walked). What it only refers to is named in `refs` (field names, at any
// depth) and skipped (the PIC a
// device raises IRQs on, the clock, the memory); functions and Timers (the clock saves
// those) are skipped too. An object the walker meets twice is a reference someone forgot to
// name: that throws, so the tests catch it instead of a snapshot that quietly saves a copy.

import { Timer } from './clock';

/** A part's fields as plain data (structured-cloneable; the file format encodes it). */
export type FieldState = { [key: string]: StateValue };
export type StateValue = number | boolean | string | null | undefined | Uint8Array | Uint16Array | Int32Array | Float64Array | StateValue[] | FieldState;

type TypedArray = Uint8Array | Uint16Array | Int32Array | Float64Array;
const isTyped = (v: unknown): v is TypedArray =>
  v instanceof Uint8Array || v instanceof Uint16Array || v instanceof Int32Array || v instanceof Float64Array;

const skipped = (v: unknown) => typeof v === 'function' || v instanceof Timer;

/** The fields of `part` as data; `refs` names the fields that point at other parts. */
/** The fields of `part` as data; `refs` names the fields that point at other parts. Parts
 *  saved together share `seen`, so a reference between them is caught. */
export function saveFields(part: object, refs: readonly string[] = [], seen = new Set<object>()): FieldState {
  return saveObject(part, new Set(refs), seen, part.constructor.name);
}

function saveObject(o: object, refs: ReadonlySet<string>, seen: Set<object>, path: string): FieldState {
  if (seen.has(o)) throw new Error(`state: ${path} is reached twice (a reference not named in refs)`);
  seen.add(o);
  const out: FieldState = {};
  for (const [k, v] of Object.entries(o)) {
    if (refs.has(k) || skipped(v)) continue;
    out[k] = saveValue(v, refs, seen, `${path}.${k}`);
  }
  return out;
}

function saveValue(v: unknown, refs: ReadonlySet<string>, seen: Set<object>, path: string): StateValue {
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (isTyped(v)) return v.slice();
  if (Array.isArray(v)) return v.map((e, i) => (skipped(e) ? null : saveValue(e, refs, seen, `${path}[${i}]`)));
  if (typeof v === 'object') {
    if (v instanceof Map || v instanceof Set || ArrayBuffer.isView(v)) throw new Error(`state: ${path} is a ${v.constructor.name}, which the state walker does not save`);
    return saveObject(v, refs, seen, path);
  }
  throw new Error(`state: ${path} has a ${typeof v} value`);
}

/** Throws a one-line error when `state` does not fit the shape of `part`: every field there,
 *  of the same kind and size, and nothing else. */
export function checkFields(part: object, state: unknown, refs: readonly string[] = []): void {
  checkObject(part, state, new Set(refs), part.constructor.name);
}

/** Puts saved fields back into `part` (the same kind of object, built the same way); call
 *  checkFields first. */
export function loadFields(part: object, state: FieldState, refs: readonly string[] = []): void {
  loadObject(part, state, new Set(refs));
}

function checkObject(o: object, s: unknown, refs: ReadonlySet<string>, path: string): void {
  if (s === null || typeof s !== 'object' || Array.isArray(s) || isTyped(s)) throw new Error(`state: ${path} is not an object`);
  const rec = o as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (refs.has(k) || skipped(v)) continue;
    if (!(k in s)) {
      if (v === null || v === undefined) continue; // an optional callback the saving machine had
      throw new Error(`state: ${path}.${k} is missing`);
    }
    checkValue(v, (s as FieldState)[k], refs, `${path}.${k}`);
  }
  for (const k of Object.keys(s)) if (!(k in rec)) throw new Error(`state: ${path}.${k} is not a field of this machine`);
}

function checkValue(cur: unknown, s: unknown, refs: ReadonlySet<string>, path: string): void {
  if (cur === null || cur === undefined || typeof cur !== 'object') {
    // a scalar: the saved value must be a scalar too (null stands for an absent object)
    if (s !== null && s !== undefined && typeof s === 'object') throw new Error(`state: ${path} should be a plain value`);
    return;
  }
  if (isTyped(cur)) {
    if (!isTyped(s) || s.constructor !== cur.constructor || s.length !== cur.length) throw new Error(`state: ${path} should be a ${cur.constructor.name}(${cur.length})`);
    return;
  }
  if (Array.isArray(cur)) {
    if (!Array.isArray(s) || s.length !== cur.length) throw new Error(`state: ${path} should be an array of ${cur.length}`);
    cur.forEach((e, i) => {
      if (!skipped(e)) checkValue(e, s[i], refs, `${path}[${i}]`);
    });
    return;
  }
  checkObject(cur, s, refs, path);
}

function loadObject(o: object, s: FieldState, refs: ReadonlySet<string>): void {
  const rec = o as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (refs.has(k) || skipped(v) || !(k in s)) continue;
    rec[k] = loadValue(v, s[k], refs);
  }
}

function loadValue(cur: unknown, s: StateValue, refs: ReadonlySet<string>): unknown {
  if (cur === null || cur === undefined || typeof cur !== 'object') return s;
  if (isTyped(cur)) {
    cur.set(s as TypedArray);
    return cur;
  }
  if (Array.isArray(cur)) {
    const a = s as StateValue[];
    for (let i = 0; i < cur.length; i++) if (!skipped(cur[i])) cur[i] = loadValue(cur[i], a[i], refs);
    return cur;
  }
  loadObject(cur, s as FieldState, refs);
  return cur;
}
