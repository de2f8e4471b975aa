/**
 * Blanks out export/visibility macros (`class LLM_API LlmDataDist`), which tree-sitter cannot
 * expand and which otherwise turn the whole class into an ERROR node. Only code is touched:
 * comments, string and character literals and preprocessor lines stay byte-for-byte, and every
 * blanked character becomes a space, so lines and columns keep their positions. A macro followed
 * by `(` loses its balanced argument list too (`DEPRECATED("x")`).
 */
export function maskMacros(source: string, macros: readonly string[]): string {
  if (macros.length === 0) return source;
  const names = new Set(macros);
  const out = source.split('');
  const blank = (from: number, to: number): void => {
    for (let i = from; i < to; i++) if (out[i] !== '\n' && out[i] !== '\r') out[i] = ' ';
  };
  const n = source.length;
  let i = 0;
  let lineStart = true;
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '\n') {
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      i++;
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === '#' && lineStart) {
      // A directive runs to the first newline not escaped by a backslash.
      while (i < n && !(source[i] === '\n' && source[i - 1] !== '\\')) i++;
      continue;
    }
    lineStart = false;
    if (c === '"' || (c === "'" && !/[0-9A-Za-z_]/.test(source[i - 1] ?? ''))) {
      i = skipQuoted(source, i);
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_]/.test(source[j]!)) j++;
      const word = source.slice(i, j);
      if (source[j] === '"' && /^(?:u8|u|U|L)?R$/.test(word)) {
        i = skipRawString(source, j);
        continue;
      }
      if (names.has(word)) {
        let end = j;
        let k = j;
        while (k < n && /[ \t]/.test(source[k]!)) k++;
        if (source[k] === '(') end = skipBalanced(source, k);
        blank(i, end);
        i = end;
        continue;
      }
      i = j;
      continue;
    }
    i++;
  }
  return out.join('');
}

function skipQuoted(source: string, start: number): number {
  const quote = source[start];
  let i = start + 1;
  while (i < source.length && source[i] !== quote && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
  return i + 1;
}

function skipRawString(source: string, quote: number): number {
  const open = source.indexOf('(', quote);
  if (open < 0) return source.length;
  const delimiter = source.slice(quote + 1, open);
  const end = source.indexOf(`)${delimiter}"`, open);
  return end < 0 ? source.length : end + delimiter.length + 2;
}

function skipBalanced(source: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      i = skipQuoted(source, i);
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}
