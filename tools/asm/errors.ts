// Assembly errors: where (file, line, column), what, and the line itself.

export interface AsmError {
  file: string;
  /** 1-based line in `file`. */
  line: number;
  /** 1-based column. */
  col: number;
  message: string;
  /** The source text the column refers to (after macro expansion, if any). */
  text: string;
}

/** Where a line came from. */
export interface SrcLoc {
  file: string;
  line: number;
  /** For lines produced by a macro: the macro's name. */
  macro?: string;
}

/** `file:line:col: message`, the source line and a caret under the column. */
export function formatError(e: AsmError): string {
  const text = e.text.replace(/\t/g, ' ');
  const caret = `${' '.repeat(Math.max(0, Math.min(e.col - 1, text.length)))}^`;
  return `${e.file}:${e.line}:${e.col}: ${e.message}\n    ${text}\n    ${caret}`;
}
