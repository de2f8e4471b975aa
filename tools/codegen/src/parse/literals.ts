/** C++ literal spellings → values. Integers are bigint so 64-bit constants stay exact. */

/** `0x5010B001U`, `1'000`, `0b101`, `017`, `2ULL` → bigint; undefined for a floating literal. */
export function parseIntegerLiteral(text: string): bigint | undefined {
  // tree-sitter folds a leading sign into the literal (`-1`).
  const t = text.replace(/'/g, '').replace(/\s+/g, '');
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uUlLzZ]*)$/.exec(t);
  if (!m) return undefined;
  const digits = m[2]!;
  const value = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  return m[1] === '-' ? -value : value;
}

export function parseFloatLiteral(text: string): number | undefined {
  const t = text.replace(/'/g, '').replace(/[fFlL]$/, '');
  const value = Number(t);
  return Number.isFinite(value) ? value : undefined;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
  '\\': '\\',
  '"': '"',
  "'": "'",
  '?': '?',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

/** The body of a (possibly prefixed or raw) string literal with escapes decoded. */
export function parseStringLiteral(text: string): string {
  const raw = /^(?:u8|u|U|L)?R"([^(]*)\(([\s\S]*)\)\1"$/.exec(text);
  if (raw) return raw[2]!;
  const m = /^(?:u8|u|U|L)?"([\s\S]*)"$/.exec(text);
  if (!m) return text;
  return m[1]!.replace(/\\(x[0-9a-fA-F]+|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    return SIMPLE_ESCAPES[e] ?? e;
  });
}
