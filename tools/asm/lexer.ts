// Tokens of one NASM source line, with their columns (0-based) for error messages.

export type TokKind = 'id' | 'num' | 'str' | 'op' | 'here' | 'base';

export interface Token {
  kind: TokKind;
  /** The source text of the token (for strings, including the quotes). */
  text: string;
  col: number;
  /** Numbers: the value. */
  num?: bigint;
  /** Strings: the bytes between the quotes, escapes processed for backquotes. */
  bytes?: number[];
}

/** A problem at a column of the current line; the caller adds file and line. */
export class LineError extends Error {
  constructor(message: string, readonly col: number) {
    super(message);
  }
}

const ID_START = /[A-Za-z_.?@]/;
const ID_CHAR = /[A-Za-z0-9_$#@~.?]/;

// Longest first.
const OPS = ['<<<', '>>>', '<=>', '<<', '>>', '//', '%%', '==', '!=', '<>', '<=', '>=', '&&', '||', '^^',
  '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '(', ')', '[', ']', ',', ':', '<', '>', '=', '{', '}', '?'];

/** Parses a NASM number (0x1F, 1Fh, $0F, 0b101, 101b, 0o17, 17q, 0d10, 10d, 1_000). */
export function parseNumber(text: string): bigint | undefined {
  return parseNumberAs(text, true) ?? parseNumberAs(text, false);
}

function parseNumberAs(text: string, prefixes: boolean): bigint | undefined {
  const whole = text.replace(/_/g, '').toLowerCase();
  let s = whole;
  let radix = 10;
  const pre = /^0([xhbyoqdt])/.exec(s);
  if (s.startsWith('$')) {
    s = s.slice(1);
    radix = 16;
  } else if (prefixes && pre) {
    s = s.slice(2);
    radix = RADIX[pre[1]];
  } else if (/[hxbyoqdt]$/.test(s)) {
    radix = RADIX[s[s.length - 1]];
    s = s.slice(0, -1);
  }
  if (s === '') return undefined;
  const digits = '0123456789abcdef'.slice(0, radix);
  let v = 0n;
  const r = BigInt(radix);
  for (const ch of s) {
    const d = digits.indexOf(ch);
    if (d < 0) return undefined;
    v = v * r + BigInt(d);
  }
  return BigInt.asUintN(64, v);
}

const RADIX: Record<string, number> = { x: 16, h: 16, b: 2, y: 2, o: 8, q: 8, d: 10, t: 10 };

/** Processes the escapes of a backquoted string; throws a message on a bad escape. */
function unescape(body: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') {
      pushUtf8(out, c.codePointAt(0)!);
      if (c.codePointAt(0)! > 0xffff) i++;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, e: 27, '\\': 92, "'": 39, '"': 34, '`': 96, '?': 63 };
    if (e === undefined) throw new Error('backslash at the end of a string');
    if (e in simple) out.push(simple[e]);
    else if (e === 'x') {
      const m = /^[0-9a-fA-F]{1,2}/.exec(body.slice(i + 1));
      if (!m) throw new Error("\\x needs hex digits");
      out.push(parseInt(m[0], 16));
      i += m[0].length;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))!;
      out.push(parseInt(m[0], 8) & 0xff);
      i += m[0].length - 1;
    } else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      const h = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== n) throw new Error(`\\${e} needs ${n} hex digits`);
      pushUtf8(out, parseInt(h, 16));
      i += n;
    } else throw new Error(`unknown escape '\\${e}'`);
  }
  return out;
}

function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out.push(b);
}

/** Index of a ';' that starts a comment (outside quotes), or -1. */
export function commentStart(line: string): number {
  let q = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '\\' && q === '`') i++;
      else if (c === q) q = '';
    } else if (c === '"' || c === "'" || c === '`') q = c;
    else if (c === ';') return i;
  }
  return -1;
}

export function stripComment(line: string): string {
  const i = commentStart(line);
  return i < 0 ? line : line.slice(0, i);
}

/** Splits a line (comment already removed or not) into tokens. */
export function tokenize(line: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === ';') break;
    const start = i;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && line[j] !== c) {
        if (c === '`' && line[j] === '\\') j++;
        j++;
      }
      if (j >= n) throw new LineError('unterminated string', start);
      const body = line.slice(i + 1, j);
      let bytes: number[];
      if (c === '`') {
        try {
          bytes = unescape(body);
        } catch (e) {
          throw new LineError((e as Error).message, start);
        }
      } else {
        bytes = [];
        for (const ch of body) pushUtf8(bytes, ch.codePointAt(0)!);
      }
      toks.push({ kind: 'str', text: line.slice(i, j + 1), col: start, bytes });
      i = j + 1;
      continue;
    }
    if (c === '$') {
      if (line[i + 1] === '$') {
        toks.push({ kind: 'base', text: '$$', col: start });
        i += 2;
        continue;
      }
      if (/[0-9]/.test(line[i + 1] ?? '')) {
        let j = i + 1;
        while (j < n && /[0-9A-Za-z_]/.test(line[j])) j++;
        const text = line.slice(i, j);
        const v = parseNumber(text);
        if (v === undefined) throw new LineError(`invalid number '${text}'`, start);
        toks.push({ kind: 'num', text, col: start, num: v });
        i = j;
        continue;
      }
      if (ID_START.test(line[i + 1] ?? '')) {
        // $name: an identifier that would otherwise be a keyword or register.
        let j = i + 1;
        while (j < n && ID_CHAR.test(line[j])) j++;
        toks.push({ kind: 'id', text: line.slice(i + 1, j), col: start });
        i = j;
        continue;
      }
      toks.push({ kind: 'here', text: '$', col: start });
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i;
      while (j < n && /[0-9A-Za-z_]/.test(line[j])) j++;
      if (line[j] === '.' && /[0-9]/.test(line[j + 1] ?? '')) throw new LineError('floating-point numbers are not supported', start);
      const text = line.slice(i, j);
      const v = parseNumber(text);
      if (v === undefined) throw new LineError(`invalid number '${text}'`, start);
      toks.push({ kind: 'num', text, col: start, num: v });
      i = j;
      continue;
    }
    if (ID_START.test(c)) {
      let j = i + 1;
      while (j < n && ID_CHAR.test(line[j])) j++;
      toks.push({ kind: 'id', text: line.slice(i, j), col: start });
      i = j;
      continue;
    }
    const op = OPS.find((o) => line.startsWith(o, i));
    if (!op) throw new LineError(`unexpected character '${c}'`, start);
    toks.push({ kind: 'op', text: op, col: start });
    i += op.length;
  }
  return toks;
}

/** Little-endian value of a character constant ('ab' = 0x6261). */
export function charConst(bytes: number[]): bigint {
  let v = 0n;
  for (let k = Math.min(bytes.length, 8) - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[k]);
  return v;
}
