// NASM expressions: 64-bit integer arithmetic over numbers, character constants, symbols,
// `$` and `$$`, with NASM's operator precedence. A value remembers whether it is relative
// to a section (a label, `$`) — NASM only takes short forms for plain numbers — and, in
// memory operands, which registers it adds up.

import { charConst, LineError, type Token } from './lexer';

export interface RegTerm {
  reg: string;
  coef: number;
  /** Written with an explicit multiplication (`eax*1` is an index, never a base). */
  scaled: boolean;
}

export interface Value {
  n: bigint;
  /** Sum of the coefficients of section-relative terms (0: a plain number). */
  rel: number;
  /** The section of the relative terms, -1 none, -2 mixed. */
  sec: number;
  /** Depends on a symbol not (yet) defined. */
  unknown: boolean;
  regs?: RegTerm[];
}

export interface EvalContext {
  /** A symbol's value, or undefined when it is not defined (yet). `tok` for errors. */
  symbol(name: string, tok: Token): Value | undefined;
  here(): Value;
  base(): Value;
  /** Register names allowed as terms (memory operands). */
  isReg?(name: string): boolean;
  /** Called when an undefined symbol is used. */
  onUnknown?(name: string, tok: Token): void;
}

export const num = (n: bigint | number): Value => ({ n: BigInt.asIntN(64, BigInt(n)), rel: 0, sec: -1, unknown: false });
export const isSimple = (v: Value): boolean => v.rel === 0 && !v.regs?.length;

const mask = (n: bigint) => BigInt.asIntN(64, n);
const u64 = (n: bigint) => BigInt.asUintN(64, n);

export class ExprParser {
  pos: number;
  constructor(readonly toks: Token[], readonly ctx: EvalContext, start = 0, readonly end = toks.length) {
    this.pos = start;
  }

  peek(): Token | undefined {
    return this.pos < this.end ? this.toks[this.pos] : undefined;
  }

  private isOp(s: string): boolean {
    const t = this.peek();
    return !!t && t.kind === 'op' && t.text === s;
  }

  private errAt(msg: string): never {
    const t = this.peek();
    const col = t ? t.col : this.end > 0 ? this.toks[this.end - 1].col + this.toks[this.end - 1].text.length : 0;
    throw new LineError(msg, col);
  }

  /**
   * Parses a full expression; the caller checks that all tokens were used. Operator
   * precedence with explicit stacks, not recursion: nesting is bounded by memory, not by
   * JavaScript's call stack (NASM takes thousands of parentheses).
   */
  parse(): Value {
    const values: Value[] = [];
    const ops: Pending[] = [];
    let open = 0; // parentheses open in this expression
    const reduceTop = () => {
      const o = ops.pop()!;
      if (o.prec === UNARY) values.push(applyUnary(o.tok, values.pop()!));
      else {
        const b = values.pop()!;
        const a = values.pop()!;
        values.push(applyBinary(o.tok.text, a, b, o.tok));
      }
    };
    for (;;) {
      // an operand: prefix operators, then '(' or a primary
      let t = this.peek();
      while (t && t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~' || t.text === '!')) {
        ops.push({ tok: t, prec: UNARY });
        this.pos++;
        t = this.peek();
      }
      if (t && t.kind === 'op' && t.text === '(') {
        ops.push({ tok: t, prec: PAREN });
        open++;
        this.pos++;
        continue;
      }
      values.push(this.primary());
      // then binary operators and closing parentheses, until the expression ends
      for (;;) {
        t = this.peek();
        const prec = t && t.kind === 'op' ? BINARY_PREC.get(t.text) : undefined;
        if (prec !== undefined) {
          while (ops.length && ops[ops.length - 1].prec >= prec) reduceTop();
          ops.push({ tok: t!, prec });
          this.pos++;
          break;
        }
        if (open > 0) {
          if (!this.isOp(')')) this.errAt("expected ')'");
          while (ops[ops.length - 1].prec !== PAREN) reduceTop();
          ops.pop();
          open--;
          this.pos++;
          continue;
        }
        while (ops.length) reduceTop();
        return values[0];
      }
    }
  }

  private primary(): Value {
    const t = this.peek();
    if (!t) this.errAt('expression expected');
    this.pos++;
    switch (t.kind) {
      case 'num':
        return num(t.num!);
      case 'str':
        if (t.bytes!.length > 8) throw new LineError('character constant longer than 8 bytes', t.col);
        return num(charConst(t.bytes!));
      case 'here':
        return this.ctx.here();
      case 'base':
        return this.ctx.base();
      case 'id': {
        const lower = t.text.toLowerCase();
        if (this.ctx.isReg?.(lower)) return { n: 0n, rel: 0, sec: -1, unknown: false, regs: [{ reg: lower, coef: 1, scaled: false }] };
        const v = this.ctx.symbol(t.text, t);
        if (v === undefined) {
          this.ctx.onUnknown?.(t.text, t);
          return { n: 0n, rel: 0, sec: -1, unknown: true };
        }
        return v;
      }
    }
    this.pos--;
    this.errAt(`unexpected '${t.text}' in expression`);
  }
}

/** An operator waiting for its right operand, or an open parenthesis. */
interface Pending {
  tok: Token;
  prec: number;
}
const PAREN = -1;
const UNARY = 100;
/** NASM's binary operators, lowest precedence first; all associate to the left. */
const BINARY_PREC = new Map<string, number>(
  [['||'], ['^^'], ['&&'], ['=', '==', '!=', '<>', '<', '>', '<=', '>=', '<=>'], ['|'], ['^'], ['&'],
    ['<<', '>>', '<<<', '>>>'], ['+', '-'], ['*', '/', '//', '%', '%%']]
    .flatMap((level, prec) => level.map((op): [string, number] => [op, prec])),
);

function applyUnary(t: Token, v: Value): Value {
  if (t.text === '-') return negate(v);
  if (t.text === '+') return v;
  if (!isSimple(v)) throw new LineError(`operator '${t.text}' needs a plain number, not an address`, t.col);
  return { n: t.text === '~' ? mask(~v.n) : v.n === 0n ? 1n : 0n, rel: 0, sec: -1, unknown: v.unknown };
}

function applyBinary(op: string, a: Value, b: Value, t: Token): Value {
  switch (op) {
    case '||': return logical(a, b, t, (x, y) => x || y);
    case '^^': return logical(a, b, t, (x, y) => x !== y);
    case '&&': return logical(a, b, t, (x, y) => x && y);
    case '|': return scalar(op, a, b, t, (x, y) => x | y);
    case '^': return scalar(op, a, b, t, (x, y) => x ^ y);
    case '&': return scalar(op, a, b, t, (x, y) => x & y);
    case '<<': case '>>': case '<<<': case '>>>':
      return scalar(op, a, b, t, (x, y) => {
        const s = u64(y);
        if (s >= 64n) return op === '>>>' && x < 0n ? -1n : 0n;
        if (op === '<<' || op === '<<<') return mask(x << s);
        if (op === '>>') return mask(u64(x) >> s);
        return x >> s;
      });
    case '+': case '-': return addValues(a, b, op === '-' ? -1 : 1);
    case '*': return multiply(a, b, t);
    case '/': case '//': case '%': case '%%':
      return scalar(op, a, b, t, (x, y) => {
        if (y === 0n) {
          if (a.unknown || b.unknown) return 0n;
          throw new LineError('division by zero', t.col);
        }
        switch (op) {
          case '/': return mask(u64(x) / u64(y));
          case '%': return mask(u64(x) % u64(y));
          case '//': return mask(x / y);
          default: return mask(x % y);
        }
      });
  }
  return compare(op, a, b, t);
}

function compare(op: string, a: Value, b: Value, t: Token): Value {
  if (a.regs?.length || b.regs?.length) throw new LineError(`operator '${op}' needs plain numbers`, t.col);
  // Section-relative values compare by address: both are addresses in this flat image.
  const x = a.n;
  const y = b.n;
  let r: bigint;
  switch (op) {
    case '=': case '==': r = x === y ? 1n : 0n; break;
    case '!=': case '<>': r = x !== y ? 1n : 0n; break;
    case '<': r = x < y ? 1n : 0n; break;
    case '>': r = x > y ? 1n : 0n; break;
    case '<=': r = x <= y ? 1n : 0n; break;
    case '>=': r = x >= y ? 1n : 0n; break;
    default: r = x < y ? -1n : x > y ? 1n : 0n;
  }
  return { n: r, rel: 0, sec: -1, unknown: a.unknown || b.unknown };
}

function negate(v: Value): Value {
  return {
    n: mask(-v.n), rel: -v.rel, sec: v.rel ? v.sec : -1, unknown: v.unknown,
    regs: v.regs?.map((r) => ({ ...r, coef: -r.coef })),
  };
}

export function addValues(a: Value, b: Value, sign: 1 | -1): Value {
  const rel = a.rel + sign * b.rel;
  let sec = -1;
  if (rel !== 0) {
    if (a.rel && b.rel) sec = a.sec === b.sec ? a.sec : -2;
    else sec = a.rel ? a.sec : b.sec;
  }
  let regs: RegTerm[] | undefined;
  if (a.regs?.length || b.regs?.length) {
    regs = (a.regs ?? []).map((r) => ({ ...r }));
    for (const r of b.regs ?? []) {
      const old = regs.find((x) => x.reg === r.reg);
      if (old) {
        old.coef += sign * r.coef;
        old.scaled ||= r.scaled;
      } else regs.push({ ...r, coef: sign * r.coef });
    }
    regs = regs.filter((r) => r.coef !== 0);
  }
  return { n: mask(a.n + (sign === 1 ? b.n : -b.n)), rel, sec, unknown: a.unknown || b.unknown, regs };
}

function multiply(a: Value, b: Value, t: Token): Value {
  const unknown = a.unknown || b.unknown;
  const aPlain = isSimple(a);
  const bPlain = isSimple(b);
  if (aPlain && bPlain) return { n: mask(a.n * b.n), rel: 0, sec: -1, unknown };
  if (!aPlain && !bPlain) throw new LineError('cannot multiply two addresses or registers', t.col);
  const [v, k] = aPlain ? [b, a] : [a, b];
  const kk = Number(k.n);
  return {
    n: mask(v.n * k.n), rel: v.rel * kk, sec: v.rel * kk ? v.sec : -1, unknown,
    regs: v.regs?.map((r) => ({ reg: r.reg, coef: r.coef * kk, scaled: true })),
  };
}

function scalar(op: string, a: Value, b: Value, t: Token, f: (x: bigint, y: bigint) => bigint): Value {
  if (!isSimple(a) || !isSimple(b)) {
    if (a.regs?.length || b.regs?.length) throw new LineError(`operator '${op}' cannot be applied to a register`, t.col);
    throw new LineError(`operator '${op}' needs plain numbers, not addresses (subtract $$ or another label first)`, t.col);
  }
  return { n: f(a.n, b.n), rel: 0, sec: -1, unknown: a.unknown || b.unknown };
}

function logical(a: Value, b: Value, t: Token, f: (x: boolean, y: boolean) => boolean): Value {
  if (a.regs?.length || b.regs?.length) throw new LineError('logical operators need plain numbers', t.col);
  return { n: f(a.n !== 0n, b.n !== 0n) ? 1n : 0n, rel: 0, sec: -1, unknown: a.unknown || b.unknown };
}

/** Evaluates tokens[start, end) as one expression; throws if tokens are left over. */
export function evaluate(toks: Token[], ctx: EvalContext, start = 0, end = toks.length): Value {
  const p = new ExprParser(toks, ctx, start, end);
  const v = p.parse();
  const rest = p.peek();
  if (rest) throw new LineError(`unexpected '${rest.text}' in expression`, rest.col);
  return v;
}
