/**
 * Preprocessing tokens (C++ [lex.pptoken]) as the preprocessor stage needs them: every character of
 * the input lands in exactly one token, so joining the texts gives the input back. Whitespace,
 * newlines and comments are tokens too, which is how the stage keeps comments (doc comments are
 * part of the IR) and line numbers.
 */
export type TokenKind = 'space' | 'newline' | 'comment' | 'identifier' | 'number' | 'string' | 'char' | 'punctuator';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** Macros this token came out of: a macro is not expanded again inside its own expansion. */
  readonly hide?: ReadonlySet<string>;
  /** Set on tokens read from a header (not produced by an expansion): where they start, 0-based line. */
  readonly line?: number;
}

/** Longest punctuators first, so `<<=` is not read as `<` `<=`. */
const PUNCTUATORS = [
  '%:%:', '...', '<<=', '>>=', '->*', '<=>',
  '##', '::', '->', '++', '--', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '.*', '<:', ':>', '<%', '%>', '%:',
];

const IDENT_START = /[A-Za-z_$\u0080-\uffff]/;
const IDENT_PART = /[0-9A-Za-z_$\u0080-\uffff]/;
const STRING_PREFIX = /^(?:u8|u|U|L)?R?$/;

/** Splits `text` into preprocessing tokens; `firstLine` numbers the lines of the result. */
export function tokenize(text: string, firstLine = 0): Token[] {
  const tokens: Token[] = [];
  let line = firstLine;
  let i = 0;
  const n = text.length;
  const push = (kind: TokenKind, end: number): void => {
    const t = text.slice(i, end);
    tokens.push({ kind, text: t, line });
    for (let k = t.indexOf('\n'); k >= 0; k = t.indexOf('\n', k + 1)) line++;
    i = end;
  };
  while (i < n) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '\n') {
      push('newline', i + 1);
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v' || (c === '\\' && (next === '\n' || (next === '\r' && text[i + 2] === '\n')))) {
      let j = i;
      while (j < n && (/[ \t\r\f\v]/.test(text[j]!) || (text[j] === '\\' && /^\r?\n/.test(text.slice(j + 1, j + 3))))) {
        // A line splice stays inside the space token; its newline still counts as a line.
        j += text[j] === '\\' ? (text[j + 1] === '\r' ? 3 : 2) : 1;
      }
      push('space', j);
      continue;
    }
    if (c === '/' && next === '/') {
      let j = i;
      while (j < n && text[j] !== '\n') j += text[j] === '\\' && text[j + 1] === '\n' ? 2 : 1;
      push('comment', j);
      continue;
    }
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      push('comment', end < 0 ? n : end + 2);
      continue;
    }
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(text[j]!)) j++;
      const word = text.slice(i, j);
      if ((text[j] === '"' || text[j] === "'") && STRING_PREFIX.test(word) && word !== '') {
        push(text[j] === '"' ? 'string' : 'char', word.endsWith('R') && text[j] === '"' ? rawStringEnd(text, j) : quotedEnd(text, j));
        continue;
      }
      push('identifier', j);
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(next ?? ''))) {
      // A pp-number: digits, letters, dots, digit separators and signed exponents.
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (/[eEpP]/.test(d) && (text[j + 1] === '+' || text[j + 1] === '-')) j += 2;
        else if (/[0-9A-Za-z_.]/.test(d) || (d === "'" && /[0-9A-Za-z]/.test(text[j + 1] ?? ''))) j++;
        else break;
      }
      push('number', j);
      continue;
    }
    if (c === '"') {
      push('string', quotedEnd(text, i));
      continue;
    }
    if (c === "'") {
      push('char', quotedEnd(text, i));
      continue;
    }
    const p = PUNCTUATORS.find((q) => text.startsWith(q, i));
    push('punctuator', i + (p?.length ?? 1));
  }
  return tokens;
}

/** End of a quoted literal starting at `quote`; an unterminated one ends at the line's end. */
function quotedEnd(text: string, quote: number): number {
  const q = text[quote];
  let i = quote + 1;
  while (i < text.length && text[i] !== q && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}

function rawStringEnd(text: string, quote: number): number {
  const open = text.indexOf('(', quote);
  if (open < 0) return quotedEnd(text, quote);
  const end = text.indexOf(`)${text.slice(quote + 1, open)}"`, open);
  return end < 0 ? text.length : end + open - quote + 1;
}

/** True for tokens that only separate others (space, comment; newlines when `newlines`). */
export function isBlank(t: Token, newlines = true): boolean {
  return t.kind === 'space' || t.kind === 'comment' || (newlines && t.kind === 'newline');
}

/** Number of line breaks inside the tokens (newline tokens, spliced lines, multi-line comments). */
export function lineBreaks(tokens: readonly Token[]): number {
  let count = 0;
  for (const t of tokens) for (let k = t.text.indexOf('\n'); k >= 0; k = t.text.indexOf('\n', k + 1)) count++;
  return count;
}
