// The NASM preprocessor, as far as forklab needs it: %define (with parameters), %xdefine,
// %idefine, %undef, %assign, %include, %macro/%imacro with parameters (%1.., %0, %%local,
// greedy '+', defaults, %rotate), %rep/%endrep/%exitrep, %if/%elif/%else/%endif and the
// %ifdef/%ifndef/%ifmacro/%ifidn/%ifidni/%ifnum/%ifstr/%ifid/%ifempty families, %error,
// %warning, %fatal. It runs once, before the assembler's passes, and yields plain lines.

import * as path from 'node:path';
import { type AsmError, type SrcLoc } from './errors';
import { isMnemonic } from './encode';
import { evaluate } from './expr';
import { LineError, stripComment, tokenize } from './lexer';

export interface SrcLine extends SrcLoc {
  text: string;
}

export interface PreprocessOptions {
  fileName: string;
  includeDirs: string[];
  defines: Record<string, string>;
  /** Returns the file's text, or undefined when it does not exist. */
  readFile(file: string): string | undefined;
}

interface SLMacro {
  params: string[] | null;
  body: string;
  /** Case-insensitive (%idefine). */
  ci: boolean;
}

interface MLMacro {
  name: string;
  min: number;
  max: number; // Infinity for '-*'
  greedy: boolean;
  defaults: string[];
  body: SrcLine[];
  ci: boolean;
  loc: SrcLine;
}

interface MacroCtx {
  params: string[];
  id: number;
  name: string;
}

class Stop extends Error {}
class ExitRep extends Error {}

const ID_RE = /^[A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*/;
const MAX_DEPTH = 100;

export class Preprocessor {
  readonly out: SrcLine[] = [];
  readonly errors: AsmError[] = [];
  readonly warnings: AsmError[] = [];
  private readonly defines = new Map<string, SLMacro[]>();
  private readonly macros = new Map<string, MLMacro[]>();
  private macroId = 0;
  private depth = 0;

  constructor(private readonly opts: PreprocessOptions) {
    for (const [k, v] of Object.entries(opts.defines)) this.defines.set(k, [{ params: null, body: v, ci: false }]);
  }

  run(source: string): void {
    try {
      this.block(this.splitLines(source, this.opts.fileName), null);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
  }

  private error(loc: SrcLine, col: number, message: string): void {
    this.errors.push({ file: loc.file, line: loc.line, col: col + 1, message: loc.macro ? `${message} (in macro '${loc.macro}')` : message, text: loc.text });
  }

  private splitLines(source: string, file: string): SrcLine[] {
    const raw = source.split(/\r?\n/);
    const lines: SrcLine[] = [];
    for (let i = 0; i < raw.length; i++) {
      let text = raw[i];
      const first = i;
      // A backslash at the end continues the line.
      while (/\\\s*$/.test(stripComment(text)) && i + 1 < raw.length) {
        text = stripComment(text).replace(/\\\s*$/, '') + raw[++i];
      }
      lines.push({ text, file, line: first + 1 });
    }
    if (lines.length && lines[lines.length - 1].text === '') lines.pop();
    return lines;
  }

  /** Processes a sequence of lines (a file, a macro body or a %rep body). */
  private block(lines: SrcLine[], mctx: MacroCtx | null): void {
    // Conditional stack: active = lines are assembled; done = a branch was taken.
    const conds: { active: boolean; done: boolean; parentActive: boolean; loc: SrcLine; sawElse: boolean }[] = [];
    const active = () => conds.length === 0 || conds[conds.length - 1].active;
    for (let i = 0; i < lines.length; i++) {
      const src = lines[i];
      let text = src.text;
      const directive = /^\s*%([a-z]+)\b/i.exec(text);
      const name = directive?.[1].toLowerCase();
      // Conditionals are tracked even in skipped regions.
      if (name && /^(if|elif|else|endif)/.test(name)) {
        if (name.startsWith('if')) {
          const parentActive = active();
          const c = { active: false, done: false, parentActive, loc: src, sawElse: false };
          conds.push(c);
          if (parentActive) {
            const v = this.condition(name.slice(2), mctx ? this.substParams(src, mctx) : src, directive![0].length);
            c.active = v;
            c.done = v;
          }
          continue;
        }
        if (name.startsWith('elif')) {
          const c = conds[conds.length - 1];
          if (!c) {
            this.error(src, text.indexOf('%'), `%${name} without %if`);
            continue;
          }
          if (c.sawElse) this.error(src, text.indexOf('%'), `%${name} after %else`);
          if (c.parentActive && !c.done) {
            c.active = this.condition(name.slice(4), mctx ? this.substParams(src, mctx) : src, directive![0].length);
            c.done = c.active;
          } else c.active = false;
          continue;
        }
        if (name === 'else') {
          const c = conds[conds.length - 1];
          if (!c) {
            this.error(src, text.indexOf('%'), '%else without %if');
            continue;
          }
          if (c.sawElse) this.error(src, text.indexOf('%'), 'second %else for the same %if');
          c.sawElse = true;
          c.active = c.parentActive && !c.done;
          c.done = true;
          continue;
        }
        if (name === 'endif') {
          if (!conds.pop()) this.error(src, text.indexOf('%'), '%endif without %if');
          continue;
        }
      }
      if (!active()) continue;

      if (name === 'macro' || name === 'imacro') {
        // Collect the body up to the matching %endmacro.
        let depth = 1;
        let j = i + 1;
        for (; j < lines.length; j++) {
          const d = /^\s*%([a-z]+)\b/i.exec(lines[j].text)?.[1].toLowerCase();
          if (d === 'macro' || d === 'imacro') depth++;
          else if (d === 'endmacro' || d === 'endm') {
            if (--depth === 0) break;
          }
        }
        if (j >= lines.length) {
          const m = /%i?macro\s+(\S+)/i.exec(text);
          this.error(src, text.indexOf('%'), `unterminated macro${m ? ` '${m[1]}'` : ''} (missing %endmacro)`);
          return;
        }
        this.defineMacro(src, name === 'imacro', lines.slice(i + 1, j), directive![0].length);
        i = j;
        continue;
      }
      if (name === 'rep') {
        let depth = 1;
        let j = i + 1;
        for (; j < lines.length; j++) {
          const d = /^\s*%([a-z]+)\b/i.exec(lines[j].text)?.[1].toLowerCase();
          if (d === 'rep') depth++;
          else if (d === 'endrep') {
            if (--depth === 0) break;
          }
        }
        if (j >= lines.length) {
          this.error(src, text.indexOf('%'), 'unterminated %rep (missing %endrep)');
          return;
        }
        const s = mctx ? this.substParams(src, mctx) : src;
        const count = this.constExpr(s, directive![0].length, '%rep');
        const body = lines.slice(i + 1, j);
        i = j;
        if (count === undefined) continue;
        if (count > 1_000_000) {
          this.error(src, text.indexOf('%'), `%rep count ${count} is too large`);
          continue;
        }
        try {
          for (let k = 0; k < count; k++) this.block(body, mctx);
        } catch (e) {
          if (!(e instanceof ExitRep)) throw e;
        }
        continue;
      }
      if (mctx) {
        const s = this.substParams(src, mctx);
        text = s.text;
      }
      const cur: SrcLine = { ...src, text };
      if (name) {
        this.directive(name, cur, directive![0].length, mctx);
        continue;
      }
      this.plainLine(cur);
    }
    const open = conds[0];
    if (open) this.error(open.loc, open.loc.text.indexOf('%'), 'unterminated %if (missing %endif)');
  }

  private directive(name: string, src: SrcLine, after: number, mctx: MacroCtx | null): void {
    const text = src.text;
    const rest = stripComment(text.slice(after)).trim();
    const col = text.indexOf('%');
    switch (name) {
      case 'define': case 'xdefine': case 'idefine': case 'xidefine': {
        const m = /^([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)(\(([^)]*)\))?\s*(.*)$/.exec(rest);
        if (!m) return this.error(src, col, `%${name} needs a macro name`);
        const params = m[2] !== undefined ? m[3].split(',').map((s) => s.trim()).filter(Boolean) : null;
        let body = m[4];
        if (name.startsWith('x')) body = this.expandDefines(body, src);
        this.setDefine(m[1], { params, body, ci: name === 'idefine' || name === 'xidefine' });
        return;
      }
      case 'undef': {
        const m = ID_RE.exec(rest);
        if (!m) return this.error(src, col, '%undef needs a macro name');
        this.defines.delete(m[0]);
        return;
      }
      case 'assign': case 'iassign': {
        const m = /^([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)\s*(.*)$/.exec(rest);
        if (!m) return this.error(src, col, `%${name} needs a macro name`);
        const exprCol = text.indexOf(m[2], text.indexOf(m[1], after) + m[1].length);
        const v = this.constExpr({ ...src, text: text.slice(0, exprCol) + m[2] }, exprCol, '%assign');
        if (v !== undefined) this.setDefine(m[1], { params: null, body: String(v), ci: name === 'iassign' });
        return;
      }
      case 'include': {
        const expanded = this.expandDefines(rest, src);
        const m = /^(?:"([^"]*)"|'([^']*)'|<([^>]*)>|(\S+))$/.exec(expanded.trim());
        if (!m) return this.error(src, col, '%include needs a file name in quotes');
        const file = m[1] ?? m[2] ?? m[3] ?? m[4];
        const found = this.findInclude(file, src.file);
        if (!found) return this.error(src, text.indexOf(file), `cannot find include file '${file}'`);
        if (this.depth > MAX_DEPTH) return this.error(src, col, 'includes nested too deeply');
        this.depth++;
        try {
          this.block(this.splitLines(found.text, found.path), null);
        } finally {
          this.depth--;
        }
        return;
      }
      case 'error': case 'fatal': {
        const msg = this.expandDefines(rest, src).replace(/^(["'`])(.*)\1$/, '$2');
        this.error(src, col, msg || `%${name}`);
        if (name === 'fatal') throw new Stop();
        return;
      }
      case 'warning': {
        const msg = this.expandDefines(rest, src).replace(/^(["'`])(.*)\1$/, '$2');
        this.warnings.push({ file: src.file, line: src.line, col: col + 1, message: msg, text: src.text });
        return;
      }
      case 'rotate': {
        if (!mctx) return this.error(src, col, '%rotate outside a macro');
        const n = this.constExpr(src, after, '%rotate');
        if (n === undefined || mctx.params.length === 0) return;
        const k = ((n % mctx.params.length) + mctx.params.length) % mctx.params.length;
        mctx.params.push(...mctx.params.splice(0, k));
        return;
      }
      case 'exitrep':
        throw new ExitRep();
      case 'endmacro': case 'endm':
        return this.error(src, col, `%${name} without %macro`);
      case 'endrep':
        return this.error(src, col, '%endrep without %rep');
      case 'unmacro': case 'unimacro': {
        const m = ID_RE.exec(rest);
        if (m) this.macros.delete(name === 'unimacro' ? m[0].toLowerCase() : m[0]);
        return;
      }
      case 'line': case 'pragma':
        return;
      default:
        return this.error(src, col, `unknown preprocessor directive '%${name}'`);
    }
  }

  private setDefine(name: string, m: SLMacro): void {
    const key = m.ci ? name.toLowerCase() : name;
    const list = (this.defines.get(key) ?? []).filter((x) => (x.params?.length ?? -1) !== (m.params?.length ?? -1));
    list.push(m);
    this.defines.set(key, list);
  }

  private findInclude(file: string, from: string): { path: string; text: string } | undefined {
    const candidates = path.isAbsolute(file)
      ? [file]
      : // NASM's order (the current directory, then -I); the including file's directory last.
        [file, ...this.opts.includeDirs.map((d) => path.join(d, file)), path.join(path.dirname(from), file)];
    for (const c of candidates) {
      const text = this.opts.readFile(c);
      if (text !== undefined) return { path: c, text };
    }
    return undefined;
  }

  /** Evaluates a constant expression starting at column `from` of the line. */
  private constExpr(src: SrcLine, from: number, what: string): number | undefined {
    const text = this.expandDefines(stripComment(src.text.slice(from)), src);
    const line = src.text.slice(0, from) + text;
    try {
      const toks = tokenize(line).filter((t) => t.col >= from);
      if (!toks.length) throw new LineError(`${what} needs an expression`, from);
      let bad: string | undefined;
      let badCol = 0;
      const v = evaluate(toks, {
        symbol: () => undefined,
        here: () => ({ n: 0n, rel: 0, sec: -1, unknown: true }),
        base: () => ({ n: 0n, rel: 0, sec: -1, unknown: true }),
        onUnknown: (name, t) => {
          bad ??= name;
          badCol = t.col;
        },
      });
      if (v.unknown) {
        throw new LineError(bad ? `${what}: '${bad}' is not a constant the preprocessor knows` : `${what} needs a constant expression`, badCol);
      }
      return Number(v.n);
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      this.error({ ...src, text: line }, e.col, e.message);
      return undefined;
    }
  }

  private condition(kind: string, src: SrcLine, after: number): boolean {
    let neg = false;
    if (kind.startsWith('n') && kind !== 'num') {
      neg = true;
      kind = kind.slice(1);
    }
    const rest = stripComment(src.text.slice(after)).trim();
    let r: boolean;
    switch (kind) {
      case '': {
        const v = this.constExpr(src, after, '%if');
        r = v !== undefined && v !== 0;
        break;
      }
      case 'def':
        r = rest.split(/\s+/).some((n) => this.lookupDefine(n) !== undefined);
        break;
      case 'macro': {
        const n = rest.split(/\s+/)[0];
        r = this.macros.has(n) || this.macros.has(n.toLowerCase());
        break;
      }
      case 'idn': case 'idni': {
        const e = this.expandDefines(rest, src);
        const parts = splitArgs(e);
        if (parts.length !== 2) {
          this.error(src, after, `%if${kind} needs two comma-separated arguments`);
          r = false;
          break;
        }
        const [a, b] = parts.map((p) => p.replace(/\s+/g, ''));
        r = kind === 'idn' ? a === b : a.toLowerCase() === b.toLowerCase();
        break;
      }
      case 'num':
        r = /^\s*[0-9$][0-9A-Za-z_]*\s*$/.test(this.expandDefines(rest, src));
        break;
      case 'str':
        r = /^\s*(["'`]).*\1\s*$/.test(this.expandDefines(rest, src));
        break;
      case 'id':
        r = /^\s*[A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*\s*$/.test(this.expandDefines(rest, src));
        break;
      case 'empty':
        r = this.expandDefines(rest, src).trim() === '';
        break;
      default:
        this.error(src, src.text.indexOf('%'), `unknown preprocessor directive '%if${neg ? 'n' : ''}${kind}'`);
        return false;
    }
    return neg ? !r : r;
  }

  private defineMacro(src: SrcLine, ci: boolean, body: SrcLine[], after: number): void {
    const rest = stripComment(src.text.slice(after)).trim();
    const m = /^([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)\s*(?:(\d+)(?:\s*-\s*(\d+|\*))?(\+)?)?(?:\s*\.nolist)?\s*(.*)$/.exec(rest);
    if (!m) return this.error(src, src.text.indexOf('%'), '%macro needs a name and a parameter count');
    const min = m[2] ? Number(m[2]) : 0;
    const max = m[3] === '*' ? Infinity : m[3] ? Number(m[3]) : min;
    const defaults = m[5] ? splitArgs(m[5]) : [];
    const mac: MLMacro = { name: m[1], min, max, greedy: !!m[4], defaults, body, ci, loc: src };
    const key = ci ? m[1].toLowerCase() : m[1];
    const list = (this.macros.get(key) ?? []).filter((x) => x.min !== min || x.max !== max);
    list.push(mac);
    this.macros.set(key, list);
  }

  private findMacro(name: string): MLMacro[] | undefined {
    return this.macros.get(name) ?? this.macros.get(name.toLowerCase())?.filter((m) => m.ci);
  }

  /** A line that is not a directive: expand single-line macros, then a macro call. */
  private plainLine(src: SrcLine): void {
    const body = stripComment(src.text);
    if (body.trim() === '') return;
    const text = this.expandDefines(body, src);
    // `name args` or `label: name args`
    const m = /^(\s*)([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)(.*)$/.exec(text);
    if (m) {
      let macros = this.findMacro(m[2]);
      let argText = m[3];
      let argCol = m[1].length + m[2].length;
      if (!macros) {
        const lm = /^(\s*:\s*)([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)(.*)$/.exec(m[3]);
        if (lm && this.findMacro(lm[2])) {
          this.out.push({ ...src, text: `${m[1]}${m[2]}:` });
          macros = this.findMacro(lm[2]);
          argText = lm[3];
          argCol += lm[1].length + lm[2].length;
          this.callMacro(macros!, lm[2], argText, argCol, { ...src, text });
          return;
        }
      } else {
        this.callMacro(macros, m[2], argText, argCol, { ...src, text });
        return;
      }
    }
    this.out.push({ ...src, text });
  }

  private callMacro(candidates: MLMacro[], name: string, argText: string, argCol: number, src: SrcLine): void {
    const raw = argText.trim() === '' ? [] : splitArgs(argText);
    const mac = candidates.find((c) => raw.length >= c.min && (raw.length <= c.max || c.greedy))
      ?? candidates.find((c) => c.greedy && raw.length >= c.min);
    if (!mac) {
      // `push` may be both a macro (with other parameter counts) and an instruction.
      if (isMnemonic(name.toLowerCase())) {
        this.out.push(src);
        return;
      }
      const c = candidates[0];
      const want = c.min === c.max ? `${c.min}` : c.max === Infinity ? `at least ${c.min}` : `${c.min} to ${c.max}`;
      return this.error(src, argCol, `macro '${name}' takes ${want} parameter${c.max === 1 && c.min === 1 ? '' : 's'}, given ${raw.length}`);
    }
    let params = raw;
    if (mac.greedy && raw.length > mac.max) {
      // The last parameter takes the rest of the line, commas included.
      const n = mac.max === Infinity ? raw.length : mac.max;
      params = splitArgs(argText, n);
    }
    const full = [...params];
    for (let k = full.length; k < mac.max && k - mac.min < mac.defaults.length; k++) full.push(mac.defaults[k - mac.min]);
    if (this.depth > MAX_DEPTH) return this.error(src, argCol, `macro '${name}' nested too deeply (recursive?)`);
    const ctx: MacroCtx = { params: full, id: this.macroId++, name };
    const body = mac.body.map((l) => ({ text: l.text, file: src.file, line: src.line, macro: name }));
    this.depth++;
    try {
      this.block(body, ctx);
    } finally {
      this.depth--;
    }
  }

  /** Replaces %1.., %0, %{n}, %%name and %+ in a macro body line. */
  private substParams(src: SrcLine, ctx: MacroCtx): SrcLine {
    // Quoted strings are left alone, as in NASM.
    let text = src.text.replace(/(["'`])(?:\\.|(?!\1).)*\1|%(?:%([A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*)|\{(-?\d+)\}|(-?\d+))/g, (all, quote, local, braced, plain) => {
      if (quote) return all;
      if (local !== undefined) return `..@${ctx.id}.${local}`;
      const n = Number(braced ?? plain);
      if (n === 0) return String(ctx.params.length);
      if (n < 0) return all;
      return ctx.params[n - 1] ?? '';
    });
    text = text.replace(/\s*%\+\s*/g, '');
    return { ...src, text };
  }

  private lookupDefine(name: string, nargs = -1): SLMacro | undefined {
    const list = this.defines.get(name) ?? this.defines.get(name.toLowerCase())?.filter((d) => d.ci);
    if (!list) return undefined;
    if (nargs < 0) return list[0];
    return list.find((d) => (d.params?.length ?? -1) === nargs);
  }

  /** Expands single-line macros in `text` (outside strings). */
  expandDefines(text: string, src: SrcLine, disabled: ReadonlySet<string> = new Set(), level = 0): string {
    if (this.defines.size === 0) return text;
    if (level > 50) {
      this.error(src, 0, 'single-line macros nested too deeply (recursive %define?)');
      return text;
    }
    let out = '';
    let i = 0;
    const n = text.length;
    while (i < n) {
      const c = text[i];
      if (c === '"' || c === "'" || c === '`') {
        let j = i + 1;
        while (j < n && text[j] !== c) j += c === '`' && text[j] === '\\' ? 2 : 1;
        out += text.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      if (c === ';') {
        out += text.slice(i);
        break;
      }
      const m = /^[A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*/.exec(text.slice(i, i + 256));
      const prev = i > 0 ? text[i - 1] : '';
      if (!m || /[A-Za-z0-9_$#@~.?%]/.test(prev)) {
        out += c;
        i++;
        continue;
      }
      const id = m[0];
      i += id.length;
      if (disabled.has(id)) {
        out += id;
        continue;
      }
      // A call with arguments?
      let j = i;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      let args: string[] | null = null;
      let end = i;
      if (text[j] === '(') {
        const close = matchParen(text, j);
        if (close > 0) {
          const inner = text.slice(j + 1, close);
          args = inner.trim() === '' ? [] : splitArgs(inner, Infinity, true);
          end = close + 1;
        }
      }
      let d = args ? this.lookupDefine(id, args.length) : undefined;
      if (d && d.params) {
        let body = d.params.length ? substituteWords(d.body, d.params, args!) : d.body;
        body = this.expandDefines(body, src, new Set([...disabled, id]), level + 1);
        out += body;
        i = end;
        continue;
      }
      d = this.lookupDefine(id, -1);
      if (d && d.params === null) {
        out += this.expandDefines(d.body, src, new Set([...disabled, id]), level + 1);
        continue;
      }
      out += id;
    }
    return out;
  }
}

function matchParen(text: string, open: number): number {
  let depth = 0;
  for (let k = open; k < text.length; k++) {
    const c = text[k];
    if (c === '"' || c === "'" || c === '`') {
      const e = text.indexOf(c, k + 1);
      if (e < 0) return -1;
      k = e;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return k;
  }
  return -1;
}

function substituteWords(body: string, params: string[], args: string[]): string {
  return body.replace(/[A-Za-z_.?@$][A-Za-z0-9_$#@~.?]*/g, (w) => {
    const k = params.indexOf(w);
    return k >= 0 ? (args[k] ?? '') : w;
  });
}

/**
 * Splits macro arguments at top-level commas (quotes and {braces} group; with `parens`,
 * parentheses group too). With `limit`, the last argument takes the rest of the text.
 */
export function splitArgs(text: string, limit = Infinity, parens = false): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (c === '"' || c === "'" || c === '`') {
      let e = k + 1;
      while (e < text.length && text[e] !== c) e += c === '`' && text[e] === '\\' ? 2 : 1;
      cur += text.slice(k, e + 1);
      k = e;
      continue;
    }
    if (c === '{' || (parens && c === '(')) depth++;
    else if (c === '}' || (parens && c === ')')) depth--;
    if (c === ',' && depth === 0 && out.length < limit - 1) {
      out.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  out.push(cur);
  return out.map((s) => {
    const t = s.trim();
    return /^\{.*\}$/s.test(t) ? t.slice(1, -1) : t;
  });
}

export function preprocess(source: string, opts: PreprocessOptions): { lines: SrcLine[]; errors: AsmError[]; warnings: AsmError[] } {
  const p = new Preprocessor(opts);
  p.run(source);
  return { lines: p.out, errors: p.errors, warnings: p.warnings };
}
